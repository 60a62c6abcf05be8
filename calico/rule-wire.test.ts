import { describe, expect, it } from 'vitest';
import { loadFelix } from '../proto/load.js';
import type { Rule__Output } from '../proto/gen/felix/Rule.js';
import type { Rule, PathMatch, ProtocolMatch } from './rule.js';
import { emptyRule } from './rule.js';
import { ruleFromWire, ruleToWire } from './rule-wire.js';
import { seededRandom } from '../testing/seeded-random.js';

/** Encodes a rule inside an ActivePolicyUpdate and decodes it, as PolicySync does. */
function throughWire(rule: Rule): Rule__Output {
  const sync = loadFelix().felix.PolicySync.service.Sync;
  const msg = { active_policy_update: { id: { name: 'p' }, policy: { inbound_rules: [ruleToWire(rule)] } } };
  const decoded = sync.responseDeserialize(sync.responseSerialize(msg));
  const out = decoded.active_policy_update?.policy?.inbound_rules[0];
  if (out === undefined) throw new Error('rule lost on the wire');
  return out;
}

function randomRule(rand: () => number): Rule {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const some = <T>(xs: readonly T[]): T[] => xs.filter(() => rand() < 0.3);
  const protocols: (ProtocolMatch | null)[] = [
    null,
    { kind: 'number', number: 6 },
    { kind: 'name', name: 'UDP' },
    { kind: 'empty' },
    { kind: 'name', name: '' },
  ];
  const ports = () =>
    some([
      { first: 80, last: 80 },
      { first: 1, last: 1024 },
      { first: -5, last: 70000 },
    ]);
  const ids = ['s:a', 's:b', 'n:c'];
  const paths: PathMatch[] = [
    { kind: 'exact', value: '/x' },
    { kind: 'prefix', value: '/y/' },
    { kind: 'none' },
  ];
  return {
    ...emptyRule(pick(['allow', 'Deny', 'next-tier', 'log', '', 'bogus'])),
    ipVersion: pick([0, 4, 6] as const),
    protocol: pick(protocols),
    notProtocol: pick(protocols),
    srcNet: some(['10.0.0.0/8', 'bad', '::/0']),
    srcPorts: ports(),
    srcNamedPortIpSetIds: some(ids),
    srcIpSetIds: some(ids),
    notSrcNet: some(['192.0.2.0/24']),
    notSrcPorts: ports(),
    notSrcIpSetIds: some(ids),
    notSrcNamedPortIpSetIds: some(ids),
    dstNet: some(['198.51.100.0/24']),
    dstPorts: ports(),
    dstNamedPortIpSetIds: some(ids),
    dstIpSetIds: some(ids),
    dstIpPortSetIds: some(ids),
    notDstNet: some(['203.0.113.7/32']),
    notDstPorts: ports(),
    notDstIpSetIds: some(ids),
    notDstNamedPortIpSetIds: some(ids),
    icmp: pick([null, { type: 8, code: null }, { type: 3, code: 4 }, { type: 0, code: 0 }]),
    notIcmp: pick([null, { type: 11, code: null }, { type: 5, code: 1 }]),
    originalSrcSelector: pick(['', 'has(app)']),
    originalDstSelector: pick(['', "role == 'db'"]),
    originalSrcNamespaceSelector: pick(['', 'all()']),
    originalDstNamespaceSelector: pick(['', "x in {'a'}"]),
    originalNotSrcSelector: pick(['', '!has(a)']),
    originalNotDstSelector: pick(['', 'has(b)']),
    originalSrcService: pick(['', 'svc']),
    originalSrcServiceNamespace: pick(['', 'ns']),
    originalDstService: pick(['', 'svc2']),
    originalDstServiceNamespace: pick(['', 'ns2']),
    srcServiceAccountMatch: pick([
      null,
      { selector: '', names: [] },
      { selector: 'has(x)', names: ['sam', 'ian'] },
    ]),
    dstServiceAccountMatch: pick([null, { selector: "a == 'b'", names: [] }]),
    httpMatch: pick([null, { methods: [], paths: [] }, { methods: ['GET', '*'], paths: some(paths) }]),
    annotations: pick([
      new Map(),
      new Map([
        ['k', 'v'],
        ['rule', 'x'],
      ]),
    ]),
    ruleId: pick(['', 'abc123']),
  };
}

describe('ruleToWire → wire → ruleFromWire', () => {
  it('round-trips 300 random rules exactly', () => {
    const rand = seededRandom(7).next;
    for (let i = 0; i < 300; i++) {
      const rule = randomRule(rand);
      expect(ruleFromWire(throughWire(rule))).toEqual(rule);
    }
  });

  it('keeps an empty protocol oneof distinct from no protocol', () => {
    const wire = throughWire({ ...emptyRule('allow'), protocol: { kind: 'empty' } });
    expect(wire.protocol).not.toBeNull();
    expect(ruleFromWire(wire).protocol).toEqual({ kind: 'empty' });
  });
});

describe('ruleFromWire narrowing', () => {
  it('an unknown ip_version number reads as any', () => {
    const wire = {
      ...throughWire(emptyRule('allow')),
      ip_version: 5 as unknown as Rule__Output['ip_version'],
    };
    expect(ruleFromWire(wire).ipVersion).toBe(0);
  });

  it('a numeric ip_version (numeric enums) is understood', () => {
    const wire = {
      ...throughWire(emptyRule('allow')),
      ip_version: 6 as unknown as Rule__Output['ip_version'],
    };
    expect(ruleFromWire(wire).ipVersion).toBe(6);
  });

  it('missing lists and messages read as empty, without throwing', () => {
    const sparse = { action: 'allow' } as unknown as Rule__Output;
    expect(ruleFromWire(sparse)).toEqual(emptyRule('allow'));
  });

  it('non-string list entries are dropped', () => {
    const wire = {
      ...throughWire(emptyRule('allow')),
      src_net: ['10.0.0.0/8', 5, null] as unknown as string[],
    };
    expect(ruleFromWire(wire).srcNet).toEqual(['10.0.0.0/8']);
  });
});
