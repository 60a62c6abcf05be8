// The README's "Differences from Calico's Dikastes": where alp-mesh deliberately answers otherwise
// than Dikastes, and the behaviours next to each difference that stay Calico's. Comments name what
// Dikastes does instead.
import type { Rule } from '../../proto/gen/felix/Rule.js';
import type { ToDataplane } from '../../proto/gen/felix/ToDataplane.js';
import type { DecideCase } from './decide-case.js';
import {
  endpoint,
  gnp,
  gnpPolicy,
  http,
  ipSet,
  profile,
  request,
  spiffe,
  tier,
  wrapAllow,
  wrapRules,
} from '../wire-builders.js';

const ALLOW: Rule = { action: 'allow' };

// (a) Named ports: Felix's named-port sets hold `<ip>,<proto>:<port>`; Dikastes looks up "80".
// Dikastes looks up the bare port in the named-port set and never finds it (spec §8.1).
const dstNamed = ipSet('np:http', ['10.0.0.2,tcp:80'], 'IP_AND_PORT');
const srcNamed = ipSet('np:client', ['10.0.0.1,tcp:45000'], 'IP_AND_PORT');
const namedPortCases: DecideCase[] = [
  {
    name: '(a) a destination named port matches <dstIP>,tcp:<dstPort>',
    messages: wrapAllow({ dst_named_port_ip_set_ids: ['np:http'] }, [dstNamed]),
    request: request({ dst: { ip: '10.0.0.2', port: 80 } }),
    expect: { code: 0 },
  },
  {
    name: '(a) a destination named port does not match another port',
    messages: wrapAllow({ dst_named_port_ip_set_ids: ['np:http'] }, [dstNamed]),
    request: request({ dst: { ip: '10.0.0.2', port: 81 } }),
    expect: { code: 7 },
  },
  {
    name: '(a) a destination named port does not match over UDP',
    messages: wrapAllow({ dst_named_port_ip_set_ids: ['np:http'] }, [dstNamed]),
    request: request({ dst: { ip: '10.0.0.2', port: 80 }, protocol: 'UDP' }),
    expect: { code: 7 },
  },
  {
    name: '(a) a source named port matches <srcIP>,tcp:<srcPort>',
    messages: wrapAllow({ src_named_port_ip_set_ids: ['np:client'] }, [srcNamed]),
    request: request({ src: { ip: '10.0.0.1', port: 45000 } }),
    expect: { code: 0 },
  },
  {
    name: '(a) a port range or a named port: the named port suffices',
    messages: wrapAllow({ dst_ports: [{ first: 443, last: 443 }], dst_named_port_ip_set_ids: ['np:http'] }, [
      dstNamed,
    ]),
    request: request({ dst: { ip: '10.0.0.2', port: 80 } }),
    expect: { code: 0 },
  },
  {
    name: '(a) a negated destination named port excludes its member',
    messages: wrapAllow({ not_dst_named_port_ip_set_ids: ['np:http'] }, [dstNamed]),
    request: request({ dst: { ip: '10.0.0.2', port: 80 } }),
    expect: { code: 7 },
  },
  {
    name: '(a) a negated destination named port lets other ports through',
    messages: wrapAllow({ not_dst_named_port_ip_set_ids: ['np:http'] }, [dstNamed]),
    request: request({ dst: { ip: '10.0.0.2', port: 8080 } }),
    expect: { code: 0 },
  },
  {
    name: '(a) a negated source named port excludes its member',
    messages: wrapAllow({ not_src_named_port_ip_set_ids: ['np:client'] }, [srcNamed]),
    request: request({ src: { ip: '10.0.0.1', port: 45000 } }),
    expect: { code: 7 },
  },
];

// (b) NET sets match at every prefix length.
// Dikastes' NET trie never matches /25–/31 and /121–/127 (spec §3): the first four fail there.
const netCase = (cidr: string, ip: string): DecideCase => ({
  name: `(b) NET set member ${cidr} contains ${ip}`,
  messages: wrapAllow({ src_ip_set_ids: ['s:net'] }, [ipSet('s:net', [cidr], 'NET')]),
  request: request({ src: { ip } }),
  expect: { code: 0 },
});
const netSetCases: DecideCase[] = [
  netCase('10.1.2.8/30', '10.1.2.9'),
  netCase('10.1.2.0/25', '10.1.2.5'),
  netCase('10.1.2.6/31', '10.1.2.7'),
  netCase('fd00::/121', 'fd00::5'),
  netCase('10.1.2.0/24', '10.1.2.200'),
  netCase('10.1.2.9/32', '10.1.2.9'),
  {
    name: '(b) NET set member 10.1.2.8/30 does not contain 10.1.2.12',
    messages: wrapAllow({ src_ip_set_ids: ['s:net'] }, [ipSet('s:net', ['10.1.2.8/30'], 'NET')]),
    request: request({ src: { ip: '10.1.2.12' } }),
    expect: { code: 7 },
  },
];

// (c) A rule that is reached and references a missing IP set fails the Check.
// Dikastes ignores a missing IP set (fail-open, spec §8.3).
const missing = (ruleIndex: number, owner: string): string =>
  `rule ${ruleIndex} of ${owner} references IP set "s:missing" that is missing from the policy store`;
const missingCase = (name: string, messages: ToDataplane[], message: string): DecideCase => ({
  name: `(c) ${name}`,
  messages,
  request: request(),
  expect: { code: 13, message },
});
const missingSetCases: DecideCase[] = [
  missingCase(
    'a missing source set',
    wrapAllow({ src_ip_set_ids: ['s:missing'] }),
    missing(0, 'policy gnp/policy1'),
  ),
  missingCase(
    'a missing negated set',
    wrapAllow({ not_dst_ip_set_ids: ['s:missing'] }),
    missing(0, 'policy gnp/policy1'),
  ),
  missingCase(
    'a missing IP-port set',
    wrapAllow({ dst_ip_port_set_ids: ['s:missing'] }),
    missing(0, 'policy gnp/policy1'),
  ),
  missingCase(
    'a missing set in a rule whose ports do not match',
    wrapRules([
      { action: 'allow', dst_ports: [{ first: 9999, last: 9999 }] },
      { action: 'allow', src_ip_set_ids: ['s:missing'], dst_ports: [{ first: 9999, last: 9999 }] },
    ]),
    missing(1, 'policy gnp/policy1'),
  ),
  missingCase(
    'a set removed after the policy arrived',
    [
      ipSet('s:missing', ['10.0.0.1']),
      ...wrapAllow({ src_ip_set_ids: ['s:missing'] }),
      { ipset_remove: { id: 's:missing' } },
    ],
    missing(0, 'policy gnp/policy1'),
  ),
  missingCase(
    'a missing set in a profile rule',
    [profile('profile1', [{ action: 'allow', src_ip_set_ids: ['s:missing'] }]), endpoint([], ['profile1'])],
    missing(0, 'profile profile1'),
  ),
  {
    name: '(c) a missing set behind a matching rule is never reached',
    messages: wrapRules([ALLOW, { action: 'deny', src_ip_set_ids: ['s:missing'] }]),
    request: request(),
    expect: { code: 0 },
  },
];

// (d) A present principal must be a SPIFFE id; the empty principal stays anonymous.
// Dikastes treats an unparsable principal as no identity and lets identity clauses pass (spec §8.4).
const principalCase = (
  name: string,
  src: string,
  dst: string,
  code: number,
  message?: string,
): DecideCase => ({
  name: `(d) ${name}`,
  messages: wrapAllow({ src_service_account_match: { names: ['sam'] } }),
  request: request({ src: { principal: src }, dst: { principal: dst } }),
  expect: message === undefined ? { code } : { code, message },
});
const principalCases: DecideCase[] = [
  principalCase(
    'a malformed source principal is refused with the reason',
    'spiffe://malformed',
    '',
    7,
    'source principal "spiffe://malformed" is not a SPIFFE id: expected spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>',
  ),
  principalCase('a non-SPIFFE destination principal is refused', '', 'http://cluster.local/ns/a/sa/b', 7),
  principalCase(
    'a SPIFFE id with a trailing slash is refused',
    'spiffe://cluster.local/ns/default/sa/sam/',
    '',
    7,
  ),
  principalCase('an empty part is refused', 'spiffe://cluster.local/ns//sa/sam', '', 7),
  principalCase('empty principals are anonymous and pass SA clauses', '', '', 0),
  principalCase(
    'a SPIFFE principal with the named SA matches',
    spiffe('default', 'sam'),
    spiffe('default', 'ian'),
    0,
  ),
  principalCase('a SPIFFE principal with another SA does not match', spiffe('default', 'bob'), '', 7),
];

// (e) Tier default actions, case-insensitively: pass continues, anything else denies.
const tierDefaultCase = (defaultAction: string, code: number): DecideCase => ({
  name: `(e) tier default action ${JSON.stringify(defaultAction)} after no match`,
  messages: [
    gnpPolicy('policy1', []),
    profile('profile1', [ALLOW]),
    endpoint([tier('tier1', [gnp('policy1')], defaultAction)], ['profile1']),
  ],
  request: request(),
  expect: { code },
});
// Dikastes continues only on the exact string "Pass", and rejects an unparsable tier default with
// INVALID_ARGUMENT (spec §4.2).
const tierDefaultCases: DecideCase[] = [
  tierDefaultCase('Pass', 0),
  tierDefaultCase('pass', 0),
  tierDefaultCase('PASS', 0),
  tierDefaultCase('Deny', 7),
  tierDefaultCase('Allow', 7),
  tierDefaultCase('', 7),
  tierDefaultCase('bogus', 7),
  {
    name: '(e) an empty tier default does not stop a later policy of the tier from allowing',
    messages: [
      gnpPolicy('no-match', []),
      gnpPolicy('allow', [ALLOW]),
      endpoint([tier('tier1', [gnp('no-match'), gnp('allow')], '')]),
    ],
    request: request(),
    expect: { code: 0 },
    // Dikastes answers 3: Dikastes parses the tier default at the first policy that does not match (spec §8.6).
  },
];

// (f) Unknown rule actions: INVALID_ARGUMENT when the rule matches, nothing otherwise.
const badActionCases: DecideCase[] = [
  {
    name: '(f) a matching rule with action "frobnicate"',
    messages: wrapRules([{ action: 'frobnicate' }]),
    request: request(),
    expect: { code: 3, message: 'got bad action' },
  },
  {
    name: '(f) a matching rule with an empty action',
    messages: wrapRules([{ action: '' }]),
    request: request(),
    expect: { code: 3, message: 'got bad action' },
  },
  {
    name: '(f) a bad action on a rule that does not match is harmless',
    messages: wrapRules([{ action: 'frobnicate', dst_ports: [{ first: 1, last: 1 }] }, ALLOW]),
    request: request(),
    expect: { code: 0 },
  },
  {
    name: '(f) a bad action in a profile rule',
    messages: [profile('profile1', [{ action: 'frobnicate' }]), endpoint([], ['profile1'])],
    request: request(),
    expect: { code: 3, message: 'got bad action' },
  },
];

// Clause order that stays Calico's: the path check raises only after src, dst and methods matched,
// and before the L4 protocol.
const orderCases: DecideCase[] = [
  {
    name: 'order: methods that do not match come before an invalid path',
    messages: wrapAllow({ http_match: { methods: ['POST'], paths: [{ exact: '/foo' }] } }),
    request: http('GET', 'foo'),
    expect: { code: 7 },
  },
  {
    name: 'order: a non-matching destination port comes before an invalid path',
    messages: wrapAllow({ dst_ports: [{ first: 1, last: 1 }], http_match: { paths: [{ exact: '/foo' }] } }),
    request: http('GET', 'foo'),
    expect: { code: 7 },
  },
  {
    name: 'order: an invalid path comes before a protocol that does not match',
    messages: wrapAllow({ protocol: { name: 'UDP' }, http_match: { paths: [{ exact: '/foo' }] } }),
    request: http('GET', 'foo'),
    expect: { code: 3, message: 'Invalid HTTP Path "foo"' },
  },
  {
    name: 'order: an invalid path is harmless to a rule without paths',
    messages: wrapAllow({ http_match: { methods: ['GET'] } }),
    request: http('GET', 'foo'),
    expect: { code: 0 },
  },
];

export const differenceCases: DecideCase[] = [
  ...namedPortCases,
  ...netSetCases,
  ...missingSetCases,
  ...principalCases,
  ...tierDefaultCases,
  ...badActionCases,
  ...orderCases,
];
