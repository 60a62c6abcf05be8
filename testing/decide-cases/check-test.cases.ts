// Spec §7.1: Calico's check_test.go as black-box decide cases.
import type { PolicyID } from '../../proto/gen/felix/PolicyID.js';
import type { Rule } from '../../proto/gen/felix/Rule.js';
import type { DecideCase } from './decide-case.js';
import {
  endpoint,
  gnp,
  gnpPolicy,
  http,
  np,
  policy,
  profile,
  request,
  sgnp,
  spiffe,
  tier,
} from '../wire-builders.js';

const ALLOW: Rule = { action: 'allow' };
const methods = (action: string, ...m: string[]): Rule => ({ action, http_match: { methods: m } });
const exact = (action: string, path: string, ...m: string[]): Rule => ({
  action,
  http_match: { methods: m, paths: [{ exact: path }] },
});

// #7, as ingress: r0 allows 10.0.0.0/24 to port 80, r1 denies 192.168.1.0/24 to ports 441–444.
const netPolicy = policy(
  np('ns1', 'policy1'),
  [
    { action: 'allow', src_net: ['10.0.0.0/24'], dst_ports: [{ first: 80, last: 80 }] },
    { action: 'deny', src_net: ['192.168.1.0/24'], dst_ports: [{ first: 441, last: 444 }] },
  ],
  'ns1',
);
const netEndpoint = endpoint([tier('tier1', [np('ns1', 'policy1')])]);

// #24: the common store of TestCheckTiersPolicyScope.
const scopeStore = [
  gnpPolicy('no-match', []),
  policy(sgnp('staged-no-match'), []),
  policy(sgnp('staged-deny'), [{ action: 'deny' }]),
  gnpPolicy('allow', [ALLOW]),
  profile('profile1', [ALLOW]),
];
const scopeCase = (name: string, tiers: PolicyID[][], code: number): DecideCase => ({
  name: `7.1#24 ${name}`,
  messages: [
    ...scopeStore,
    endpoint(
      tiers.map((ids, i) => tier(`tier${i + 1}`, ids)),
      ['profile1'],
    ),
  ],
  request: request({ dst: { port: 80 } }),
  expect: { code },
});

// #20 and #21: three tiers with paths.
const multiTier = [
  gnpPolicy('policy1', [methods('next-tier', 'GET', 'HEAD')]),
  gnpPolicy('policy2', [exact('deny', '/bad')]),
  gnpPolicy('policy3', [exact('allow', '/foo')]),
  gnpPolicy('policy4', [exact('allow', '/bar')]),
  endpoint([
    tier('tier1', [gnp('policy1')]),
    tier('tier2', [gnp('policy2'), gnp('policy3')], 'Pass'),
    tier('tier3', [gnp('policy4')]),
  ]),
];
const diffTier = [
  gnpPolicy('policy1', [methods('deny', 'HEAD')]),
  gnpPolicy('policy2', [methods('next-tier', 'GET')]),
  gnpPolicy('policy3', [exact('allow', '/foo', 'GET')]),
  endpoint([tier('tier1', [gnp('policy1'), gnp('policy2')]), tier('tier2', [gnp('policy3')], 'Pass')]),
];

// #8: the action of a single always-matching rule, with an allow-all profile behind the tier so
// that pass (continue) and deny are told apart.
const actionCase = (action: string, code: number, message?: string): DecideCase => ({
  name: `7.1#8 action "${action}"`,
  messages: [
    gnpPolicy('policy1', [{ action }]),
    profile('profile1', [ALLOW]),
    endpoint([tier('tier1', [gnp('policy1')])], ['profile1']),
  ],
  request: request(),
  expect: message === undefined ? { code } : { code, message },
});

const steveToSue = { src: { principal: 'steve' }, dst: { principal: 'sue' } };
// Principals like "steve" are not SPIFFE ids: alp-mesh denies, Dikastes treats them as no identity.

export const checkTestCases: DecideCase[] = [
  {
    name: '7.1#1 no endpoint gives INTERNAL',
    messages: [gnpPolicy('policy1', [ALLOW])],
    request: request(),
    expect: { code: 13 },
  },
  {
    name: '7.1#2 endpoint with no tiers and no profiles denies',
    messages: [endpoint([])],
    request: request(),
    expect: { code: 7 },
  },
  {
    name: '7.1#3 a matching allow rule in tier1 allows',
    messages: [gnpPolicy('policy1', [ALLOW]), endpoint([tier('tier1', [gnp('policy1')])])],
    request: request({ dst: { port: 80 } }),
    expect: { code: 0 },
  },
  {
    name: '7.1#4 tier1 Deny with no match denies before tier2 Pass',
    messages: [
      gnpPolicy('policy1', []),
      gnpPolicy('policy2', []),
      endpoint([tier('tier1', [gnp('policy1')]), tier('tier2', [gnp('policy2')], 'Pass')]),
    ],
    request: request({ dst: { port: 443 } }),
    expect: { code: 7 },
  },
  {
    name: '7.1#5 tier1 Pass then tier2 Deny denies',
    messages: [
      gnpPolicy('policy1', []),
      gnpPolicy('policy2', []),
      endpoint([tier('tier1', [gnp('policy1')], 'Pass'), tier('tier2', [gnp('policy2')])]),
    ],
    request: request({ dst: { port: 443 } }),
    expect: { code: 7 },
  },
  {
    name: '7.1#6 a matching profile allows',
    messages: [profile('profile1', [ALLOW]), endpoint([], ['profile1'])],
    request: request(),
    expect: { code: 0 },
  },
  {
    name: '7.1#7a no rule matches 10.0.0.1:80→192.168.1.1:443: end-of-tier deny',
    messages: [netPolicy, netEndpoint],
    request: request({ src: { ip: '10.0.0.1', port: 80 }, dst: { ip: '192.168.1.1', port: 443 } }),
    expect: { code: 7 },
  },
  {
    name: '7.1#7b rule 0 allows 10.0.0.1:443→192.168.1.1:80',
    messages: [netPolicy, netEndpoint],
    request: request({ src: { ip: '10.0.0.1', port: 443 }, dst: { ip: '192.168.1.1', port: 80 } }),
    expect: { code: 0 },
  },
  {
    name: '7.1#7c rule 1 denies 192.168.1.2:80→10.0.0.2:443',
    messages: [netPolicy, netEndpoint],
    request: request({ src: { ip: '192.168.1.2', port: 80 }, dst: { ip: '10.0.0.2', port: 443 } }),
    expect: { code: 7 },
  },
  {
    name: '7.1#7 egress policies are never evaluated (the allow-all egress policy does not allow)',
    messages: [gnpPolicy('policy1', [ALLOW]), endpoint([tier('tier1', [], 'Deny', [gnp('policy1')])])],
    request: request(),
    expect: { code: 7 },
  },
  actionCase('allow', 0),
  actionCase('Allow', 0),
  actionCase('deny', 7),
  actionCase('Deny', 7),
  actionCase('pass', 0),
  actionCase('Pass', 0),
  actionCase('next-tier', 0),
  actionCase('log', 7),
  actionCase('Log', 7),
  actionCase('no_match', 3, 'got bad action'),
  {
    name: '7.1#9 a policy with no rules never matches (end-of-tier deny)',
    messages: [
      gnpPolicy('policy1', []),
      profile('profile1', [ALLOW]),
      endpoint([tier('tier1', [gnp('policy1')])], ['profile1']),
    ],
    request: request(),
    expect: { code: 7 },
  },
  {
    name: '7.1#9 principals steve→sue are refused',
    messages: [gnpPolicy('policy1', []), endpoint([tier('tier1', [gnp('policy1')])])],
    request: request(steveToSue),
    expect: { code: 7 },
  },
  ...(
    [
      ['HEAD', 7, 'no rule matches HEAD: end-of-tier deny'],
      ['POST', 0, 'the log rule is skipped and rule 1 allows POST'],
      ['GET', 7, 'rule 2 denies GET'],
    ] as const
  ).map(([method, code, why]): DecideCase => ({
    name: `7.1#10 ${why}`,
    messages: [
      gnpPolicy('policy1', [methods('log', 'GET', 'POST'), methods('allow', 'POST'), methods('deny', 'GET')]),
      endpoint([tier('tier1', [gnp('policy1')])]),
    ],
    request: http(method),
    expect: { code },
  })),
  {
    name: '7.1#11 a tier with only egress policies is skipped; the profile allows GET (principals steve→sue)',
    messages: [
      gnpPolicy('policy1', [ALLOW]),
      gnpPolicy('policy2', [ALLOW]),
      profile('profile1', [methods('allow', 'GET')]),
      endpoint([tier('tier1', [], 'Deny', [gnp('policy1'), gnp('policy2')])], ['profile1']),
    ],
    request: http('GET', '/', steveToSue),
    expect: { code: 7 },
  },
  {
    name: '7.1#11 a tier with only egress policies is skipped; the profile allows GET (SPIFFE principals)',
    messages: [
      gnpPolicy('policy1', [ALLOW]),
      gnpPolicy('policy2', [ALLOW]),
      profile('profile1', [methods('allow', 'GET')]),
      endpoint([tier('tier1', [], 'Deny', [gnp('policy1'), gnp('policy2')])], ['profile1']),
    ],
    request: http('GET', '/', {
      src: { principal: spiffe('default', 'steve') },
      dst: { principal: spiffe('default', 'sue') },
    }),
    expect: { code: 0 },
  },
  {
    name: '7.1#12 no endpoint (HEAD) gives INTERNAL',
    messages: [],
    request: http('HEAD'),
    expect: { code: 13 },
  },
  {
    name: '7.1#13 empty tiers and no profiles deny HEAD',
    messages: [endpoint([])],
    request: http('HEAD'),
    expect: { code: 7 },
  },
  ...(['GET', 'HEAD'] as const).map((method): DecideCase => ({
    name: `7.1#14 policy1 denies HEAD, policy2 allows GET: ${method}`,
    messages: [
      gnpPolicy('policy1', [methods('deny', 'HEAD')]),
      gnpPolicy('policy2', [methods('allow', 'GET')]),
      endpoint([tier('tier1', [gnp('policy1'), gnp('policy2')])]),
    ],
    request: http(method),
    expect: { code: method === 'GET' ? 0 : 7 },
  })),
  ...(['GET', 'HEAD'] as const).map((method): DecideCase => ({
    name: `7.1#15 profiles only, profile1 "Deny" HEAD, profile2 allows GET: ${method}`,
    messages: [
      profile('profile1', [methods('Deny', 'HEAD')]),
      profile('profile2', [methods('allow', 'GET')]),
      endpoint([], ['profile1', 'profile2']),
    ],
    request: http(method),
    expect: { code: method === 'GET' ? 0 : 7 },
  })),
  {
    name: '7.1#16 end-of-tier deny comes before the profile that would allow GET',
    messages: [
      gnpPolicy('policy1', [methods('deny', 'HEAD')]),
      profile('profile1', [methods('allow', 'GET')]),
      endpoint([tier('tier1', [gnp('policy1')])], ['profile1']),
    ],
    request: http('GET'),
    expect: { code: 7 },
  },
  {
    name: '7.1#17 next-tier skips policy2 and the profile allows GET',
    messages: [
      gnpPolicy('policy1', [methods('next-tier', 'GET')]),
      gnpPolicy('policy2', [methods('deny', 'GET')]),
      profile('profile1', [methods('allow', 'HEAD', 'GET')]),
      endpoint([tier('tier1', [gnp('policy1'), gnp('policy2')])], ['profile1']),
    ],
    request: http('GET'),
    expect: { code: 0 },
  },
  {
    name: '7.1#18 policies and profile missing, source principal spiffe://malformed',
    messages: [endpoint([tier('tier1', [gnp('policy1'), gnp('policy2')])], ['profile1'])],
    request: http('GET', '/', { src: { principal: 'spiffe://malformed' } }),
    expect: { code: 7 },
    // Dikastes answers 13: alp-mesh refuses the malformed principal before evaluating; Dikastes finds policy1 missing.
  },
  {
    name: '7.1#18 policies and profile missing, no principal: INTERNAL naming policy1',
    messages: [endpoint([tier('tier1', [gnp('policy1'), gnp('policy2')])], ['profile1'])],
    request: http('GET'),
    expect: { code: 13, message: 'policy gnp/policy1 of tier tier1 is missing from the policy store' },
  },
  {
    name: '7.1#19 a path without a leading / reaching a rule with paths is INVALID_ARGUMENT',
    messages: [
      gnpPolicy('policy1', [exact('allow', '/foo', 'GET', 'POST')]),
      endpoint([tier('tier1', [gnp('policy1'), gnp('policy2')])]),
    ],
    request: http('GET', 'foo'),
    expect: { code: 3, message: 'Invalid HTTP Path "foo"' },
  },
  ...(
    [
      ['/foo', 0],
      ['/bad', 7],
      ['/bar', 0],
    ] as const
  ).map(([path, code]): DecideCase => ({
    name: `7.1#20 three tiers, GET ${path}`,
    messages: multiTier,
    request: http('GET', path),
    expect: { code },
  })),
  ...(
    [
      ['HEAD', 7],
      ['GET', 0],
    ] as const
  ).map(([method, code]): DecideCase => ({
    name: `7.1#21 pass in tier1 then tier2 allows GET /foo: ${method}`,
    messages: diffTier,
    request: http(method, '/foo'),
    expect: { code },
  })),
  scopeCase('a tier of only staged policies is skipped when enforcing', [[sgnp('staged-deny')]], 0),
  scopeCase(
    'the end-of-tier action of a staged-only tier does not apply when enforcing',
    [[sgnp('staged-no-match')]],
    0,
  ),
  scopeCase(
    'end-of-tier survives a staged policy last in a mixed tier',
    [[gnp('no-match'), sgnp('staged-no-match')]],
    7,
  ),
  scopeCase(
    'end-of-tier survives a staged policy first in a mixed tier',
    [[sgnp('staged-no-match'), gnp('no-match')]],
    7,
  ),
  scopeCase(
    'a staged deny ahead of an enforced allow does not decide',
    [[sgnp('staged-deny'), gnp('allow')]],
    0,
  ),
  scopeCase('a staged deny does not shadow a later tier', [[sgnp('staged-deny')], [gnp('allow')]], 0),
  scopeCase('a policy missing from the store fails the Check', [[gnp('not-in-store'), gnp('allow')]], 13),
  scopeCase('a missing policy behind a match is never reached', [[gnp('allow'), gnp('not-in-store')]], 0),
  {
    name: '7.1#25 the missing-policy message names np/ns1/policy1 and tier1',
    messages: [endpoint([tier('tier1', [np('ns1', 'policy1')])])],
    request: request({ dst: { port: 80 } }),
    expect: { code: 13, message: 'policy np/ns1/policy1 of tier tier1 is missing from the policy store' },
  },
  {
    name: '7.1#26 a pass then a missing policy in tier2 fails the Check',
    messages: [
      gnpPolicy('passes', [{ action: 'pass' }]),
      endpoint([tier('tier1', [gnp('passes')]), tier('tier2', [gnp('not-in-store')])]),
    ],
    request: request(),
    expect: { code: 13, message: 'policy gnp/not-in-store of tier tier2 is missing from the policy store' },
  },
  {
    name: '7.1#27 a staged deny in tier1 does not stop tier2 allowing',
    messages: [
      policy(sgnp('staged-deny'), [{ action: 'deny' }]),
      gnpPolicy('allow', [ALLOW]),
      endpoint([tier('tier1', [sgnp('staged-deny')]), tier('tier2', [gnp('allow')])]),
    ],
    request: request({ dst: { port: 80 } }),
    expect: { code: 0 },
  },
];
