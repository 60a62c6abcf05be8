// decide(): which rule decided, the staged shadow verdict, and what the wire cannot express
// (arbitrary protocol numbers). The wire-level cases are in decide.cases.ts.
import { describe, expect, it } from 'vitest';
import { NO_LABELS } from '../calico/labels.js';
import { parseIp } from '../calico/ip.js';
import type { Rule } from '../proto/gen/felix/Rule.js';
import type { ToDataplane } from '../proto/gen/felix/ToDataplane.js';
import { PolicyStore } from './policy-store.js';
import { decide } from './decide.js';
import type { Flow } from './flow.js';
import { flowFromCheckRequest } from './flow.js';
import {
  endpoint,
  gnp,
  gnpPolicy,
  policy,
  profile,
  request,
  sgnp,
  tier,
  wrapAllow,
} from '../testing/wire-builders.js';
import { decodeCheckRequest, decodeToDataplane } from '../testing/wire-round-trip.js';

const ALLOW: Rule = { action: 'allow' };

function storeOf(messages: ToDataplane[]): PolicyStore {
  const store = new PolicyStore();
  for (const m of messages) store.apply(decodeToDataplane(m));
  return store;
}

const tcp80 = flowFromCheckRequest(decodeCheckRequest(request({ dst: { port: 80 } })));

function flowWithProtocol(protocol: number): Flow {
  const peer = { principal: '', ip: parseIp('10.0.0.1'), port: 80, labels: NO_LABELS };
  return { source: peer, destination: peer, protocol, httpMethod: null, httpPath: null };
}

describe('decidedBy', () => {
  it.each([
    [
      'a policy rule names the tier, the rendered policy id and the rule index',
      [
        gnpPolicy('p', [{ action: 'deny', dst_ports: [{ first: 1, last: 1 }] }, ALLOW]),
        endpoint([tier('t1', [gnp('p')])]),
      ],
      { kind: 'policy-rule', tier: 't1', policy: 'gnp/p', ruleIndex: 1 },
    ],
    [
      'an end-of-tier deny names the first in-scope policy that did not match, as Calico traces it',
      [gnpPolicy('a', []), gnpPolicy('b', []), endpoint([tier('t1', [sgnp('s'), gnp('a'), gnp('b')])])],
      { kind: 'end-of-tier', tier: 't1', policy: 'gnp/a', ruleIndex: -1 },
    ],
    [
      'a profile rule names the profile',
      [
        profile('kns.default', [{ action: 'deny', dst_ports: [{ first: 1, last: 1 }] }, ALLOW]),
        endpoint([], ['kns.default']),
      ],
      { kind: 'profile-rule', tier: '__PROFILE__', policy: 'kns.default', ruleIndex: 1 },
    ],
    [
      'no profiles at all',
      [endpoint([])],
      { kind: 'no-profiles', tier: '__PROFILE__', policy: '__PROFILE__', ruleIndex: -1 },
    ],
    [
      'profiles present, none matching',
      [profile('p1', []), endpoint([], ['p1', 'missing'])],
      { kind: 'no-profile-matched', tier: '__PROFILE__', policy: '', ruleIndex: -1 },
    ],
    [
      'a pass in a profile denies and names the profile rule',
      [profile('p1', [{ action: 'pass' }]), endpoint([], ['p1'])],
      { kind: 'profile-rule', tier: '__PROFILE__', policy: 'p1', ruleIndex: 0 },
    ],
  ] as const)('%s', (_why, messages, decision) => {
    expect(decide(storeOf([...messages]), tcp80).decidedBy).toEqual(decision);
  });

  it('errors carry no decision but a message', () => {
    const v = decide(storeOf([endpoint([tier('t', [gnp('gone')])])]), tcp80);
    expect(v).toMatchObject({ code: 13, reason: 'missing-policy', decidedBy: null });
  });
});

describe('a long policy, Checks to many destination ports', () => {
  // Rule i < 38 names port 1000 + i (rule 0 also a source port the request never uses); rule 38
  // covers them all, rule 39 every port. Each port is asked twice, more ports than a list
  // remembers (evaluate.ts), so the remembered and the rule-by-rule walks both answer.
  const rules: Rule[] = Array.from({ length: 38 }, (_, i) => ({
    action: i % 2 === 0 ? 'deny' : 'allow',
    dst_ports: [{ first: 1000 + i, last: 1000 + i }],
    ...(i === 0 ? { src_ports: [{ first: 1, last: 1 }] } : {}),
  }));
  rules.push({ action: 'deny', dst_ports: [{ first: 1000, last: 1037 }] }, ALLOW);
  const store = storeOf([gnpPolicy('long', rules), endpoint([tier('t', [gnp('long')])])]);
  const ruleFor = (port: number) =>
    decide(store, flowFromCheckRequest(decodeCheckRequest(request({ dst: { port } })))).decidedBy?.ruleIndex;

  it('the first rule naming the port decides, wherever in the list it is', () => {
    for (let round = 0; round < 2; round++) {
      expect(ruleFor(1000)).toBe(38);
      for (let i = 1; i < 38; i++) expect(ruleFor(1000 + i)).toBe(i);
      expect(ruleFor(80)).toBe(39);
      expect(ruleFor(65535)).toBe(39);
    }
  });
});

// Spec §7.1 #24 and #27: the pending (StagedAsEnforced) verdict, reported only when it differs.
describe('staged policies in shadow', () => {
  const base = [
    gnpPolicy('no-match', []),
    policy(sgnp('staged-no-match'), []),
    policy(sgnp('staged-deny'), [{ action: 'deny' }]),
    gnpPolicy('allow', [ALLOW]),
    profile('profile1', [ALLOW]),
  ];
  const run = (tiers: ReturnType<typeof gnp>[][]) =>
    decide(
      storeOf([
        ...base,
        endpoint(
          tiers.map((ids, i) => tier(`tier${i + 1}`, ids)),
          ['profile1'],
        ),
      ]),
      tcp80,
    );

  it.each([
    [
      '24a a staged-only tier would deny',
      [[sgnp('staged-deny')]],
      0,
      {
        code: 7,
        decidedBy: { kind: 'policy-rule', tier: 'tier1', policy: 'sgnp/staged-deny', ruleIndex: 0 },
      },
    ],
    [
      '24b a staged-only tier would end in its default',
      [[sgnp('staged-no-match')]],
      0,
      {
        code: 7,
        decidedBy: { kind: 'end-of-tier', tier: 'tier1', policy: 'sgnp/staged-no-match', ruleIndex: -1 },
      },
    ],
    ['24c same verdict either way: nothing reported', [[gnp('no-match'), sgnp('staged-no-match')]], 7, null],
    ['24d same verdict either way: nothing reported', [[sgnp('staged-no-match'), gnp('no-match')]], 7, null],
    [
      '24e a staged deny ahead of an allow',
      [[sgnp('staged-deny'), gnp('allow')]],
      0,
      {
        code: 7,
        decidedBy: { kind: 'policy-rule', tier: 'tier1', policy: 'sgnp/staged-deny', ruleIndex: 0 },
      },
    ],
    [
      '24f / 27 a staged deny in an earlier tier',
      [[sgnp('staged-deny')], [gnp('allow')]],
      0,
      {
        code: 7,
        decidedBy: { kind: 'policy-rule', tier: 'tier1', policy: 'sgnp/staged-deny', ruleIndex: 0 },
      },
    ],
    ['24g both fail on the missing policy', [[gnp('not-in-store'), gnp('allow')]], 13, null],
    ['24h both allow before the missing policy', [[gnp('allow'), gnp('not-in-store')]], 0, null],
  ] as const)('%s', (_why, tiers, code, staged) => {
    const v = run(tiers.map((t) => [...t]));
    expect(v.code).toBe(code);
    expect(v.staged).toEqual(staged);
  });

  it('a staged policy missing from the store fails only the shadow evaluation', () => {
    const v = run([[sgnp('not-in-store')], [gnp('allow')]]);
    expect(v.code).toBe(0);
    expect(v.staged).toEqual({ code: 13, decidedBy: null });
  });
});

// Spec §7.2 #102j–cc: protocols a CheckRequest cannot carry, through a hand-built flow.
describe('L4 protocol numbers', () => {
  const allowIf = (rule: Rule) => storeOf(wrapAllow(rule));
  it.each([
    [{ protocol: { number: 1 } }, 1, true],
    [{ protocol: { number: 1 } }, 100, false],
    [{ not_protocol: { number: 1 } }, 1, false],
    [{ not_protocol: { number: 1 } }, 100, true],
    [{ protocol: { name: 'ICMP' } }, 1, true],
    [{ protocol: { name: 'ICMP' } }, 99, false],
    [{ not_protocol: { name: 'ICMP' } }, 1, false],
    [{ protocol: { number: 132 } }, 132, true],
    [{ protocol: { name: 'SCTP' } }, 132, true],
    [{ not_protocol: { name: 'SCTP' } }, 120, true],
    [{ protocol: { number: 58 } }, 58, true],
    [{ protocol: { name: 'ICMPv6' } }, 58, true],
    [{ not_protocol: { name: 'ICMPv6' } }, 58, false],
    [{ protocol: { number: 136 } }, 136, true],
    [{ protocol: { name: 'UDPLite' } }, 136, true],
    [{ not_protocol: { name: 'UDPLite' } }, 80, true],
    [{ protocol: { number: 99 } }, 99, true],
    [{ not_protocol: { number: 99 } }, 99, false],
    [{ protocol: { name: 'protoX' } }, 99, false],
    [{ not_protocol: { name: 'protoX' } }, 99, true],
    [{ not_protocol: { name: 'protoX' } }, 0, false],
    [{ not_protocol: { name: 'protoX' } }, 300, false],
    [{ not_protocol: { name: 'protoX' } }, -30, false],
    [{}, 0, false],
    [{}, 256, false],
    [{}, 255, true],
  ] as const)('rule %j with protocol %d matches: %s', (rule, protocol, matches) => {
    expect(decide(allowIf(rule), flowWithProtocol(protocol)).code).toBe(matches ? 0 : 7);
  });
});

describe('refusals and errors', () => {
  it('no endpoint: INTERNAL with a message saying so', () => {
    const v = decide(new PolicyStore(), tcp80);
    expect(v.code).toBe(13);
    expect(v.reason).toBe('no-endpoint');
    expect(v.message).toMatch(/endpoint/);
  });

  it('a malformed destination principal is refused, naming the side', () => {
    const flow = flowFromCheckRequest(decodeCheckRequest(request({ dst: { principal: 'not-spiffe' } })));
    const v = decide(storeOf(wrapAllow({})), flow);
    expect(v).toMatchObject({ code: 7, reason: 'invalid-principal', decidedBy: null });
    expect(v.message).toContain('destination principal "not-spiffe"');
  });

  it('names the first missing set in Calico reference order (source before destination)', () => {
    const v = decide(storeOf(wrapAllow({ dst_ip_set_ids: ['s:d'], src_ip_set_ids: ['s:s'] })), tcp80);
    expect(v.message).toBe(
      'rule 0 of policy gnp/policy1 references IP set "s:s" that is missing from the policy store',
    );
  });

  it('never throws, even on a flow no CheckRequest can produce', () => {
    const odd: Flow = { ...flowWithProtocol(Number.NaN), httpMethod: '', httpPath: '\u0000' };
    const store = storeOf(wrapAllow({ http_match: { paths: [{ prefix: '/' }] } }));
    expect(() => decide(store, odd)).not.toThrow();
  });
});
