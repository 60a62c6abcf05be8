// Spec §7.2 #99–#128 (TestMatchRule, namespace scoping, L4 protocol, nets, IP-port sets) as
// black-box cases: the criterion in one allow rule, tier default Deny, no profiles.
import type { Rule } from '../../proto/gen/felix/Rule.js';
import type { DecideCase } from './decide-case.js';
import {
  endpoint,
  http,
  ipSet,
  namespace,
  np,
  policy,
  request,
  spiffe,
  tier,
  wrapAllow,
} from '../wire-builders.js';

const yes = (matches: boolean): { code: number } => ({ code: matches ? 0 : 7 });

// #99 TestMatchRule: S and D, their IP sets, and a rule every clause of which matches.
const S = '192.168.4.22';
const D = '10.54.44.23';
const matchRuleSets = [
  ipSet('src0', [S]),
  ipSet('src1', [S, D]),
  ipSet('notSrc0', ['5.6.7.8', D]),
  ipSet('notSrc1', ['5.6.7.8']),
  ipSet('dst0', [D]),
  ipSet('dst1', [S, D]),
  ipSet('notDst0', ['5.6.7.8']),
  ipSet('notDst1', ['5.6.7.8', S]),
];
const baseRule: Rule = {
  action: 'allow',
  src_service_account_match: { names: ['john', 'stevie', 'sam'] },
  dst_service_account_match: { names: ['ian'] },
  src_ip_set_ids: ['src0', 'src1'],
  not_src_ip_set_ids: ['notSrc0', 'notSrc1'],
  dst_ip_set_ids: ['dst0', 'dst1'],
  not_dst_ip_set_ids: ['notDst0', 'notDst1'],
  http_match: { methods: ['GET', 'POST'], paths: [{ prefix: '/path' }, { exact: '/pathlong' }] },
  protocol: { name: 'TCP' },
  src_ports: [
    { first: 8458, last: 8460 },
    { first: 12, last: 12 },
  ],
  dst_ports: [
    { first: 76, last: 80 },
    { first: 70, last: 79 },
  ],
  src_net: ['192.168.4.0/24'],
  dst_net: ['10.54.0.0/16'],
};
const matchRuleRequest = http('GET', '/path', {
  src: { ip: S, port: 8458, principal: spiffe('default', 'sam') },
  dst: { ip: D, port: 80, principal: spiffe('default', 'ian') },
});
const oneChange: ReadonlyArray<readonly [string, Partial<Rule>]> = [
  ['src SA names [wendy]', { src_service_account_match: { names: ['wendy'] } }],
  ['dst SA names [wendy]', { dst_service_account_match: { names: ['wendy'] } }],
  ['src sets [notSrc0]', { src_ip_set_ids: ['notSrc0'] }],
  ['dst sets [notDst0]', { dst_ip_set_ids: ['notDst0'] }],
  ['not_src sets [src0]', { not_src_ip_set_ids: ['src0'] }],
  ['not_dst sets [dst0]', { not_dst_ip_set_ids: ['dst0'] }],
  ['methods [HEAD]', { http_match: { methods: ['HEAD'], paths: [{ prefix: '/path' }] } }],
  ['paths [exact /nopath]', { http_match: { methods: ['GET'], paths: [{ exact: '/nopath' }] } }],
  ['protocol UDP', { protocol: { name: 'UDP' } }],
  ['src_ports [25]', { src_ports: [{ first: 25, last: 25 }] }],
  ['dst_ports [25]', { dst_ports: [{ first: 25, last: 25 }] }],
  ['src_net 30.0.0.0/8', { src_net: ['30.0.0.0/8'] }],
  ['dst_net 30.0.0.0/8', { dst_net: ['30.0.0.0/8'] }],
];
const matchRuleCases: DecideCase[] = [
  {
    name: '7.2#99 the base rule matches',
    messages: wrapAllow(baseRule, matchRuleSets),
    request: matchRuleRequest,
    expect: { code: 0 },
  },
  ...oneChange.map(([why, change]) => ({
    name: `7.2#99 changing ${why} stops the match`,
    messages: wrapAllow({ ...baseRule, ...change }, matchRuleSets),
    request: matchRuleRequest,
    expect: { code: 7 },
  })),
];

// #100, #101: namespace selectors and the policy's own namespace.
const nsSelectorCase: DecideCase = {
  name: '7.2#100 source and destination namespace selectors match the namespaces labels',
  messages: wrapAllow(
    { original_src_namespace_selector: "place == 'src'", original_dst_namespace_selector: "place == 'dst'" },
    [namespace('src', { place: 'src' }), namespace('dst', { place: 'dst' })],
  ),
  request: http('GET', '/', {
    src: { principal: spiffe('src', 'sam') },
    dst: { principal: spiffe('dst', 'ian') },
  }),
  expect: { code: 0 },
};
const policyNsCase = (why: string, rule: Rule, policyNs: string, matches: boolean): DecideCase => ({
  name: `7.2#101 ${why}, policy namespace ${policyNs}`,
  messages: [
    policy(np(policyNs, 'policy1'), [{ ...rule, action: 'allow' }], policyNs),
    endpoint([tier('tier1', [np(policyNs, 'policy1')])]),
  ],
  request: http('GET', '/', {
    src: { principal: spiffe('testns', 'sam') },
    dst: { principal: spiffe('testns', 'ian') },
  }),
  expect: yes(matches),
});
const policyNsCases = [
  policyNsCase(
    'a pod selector confines the rule to the policy namespace',
    { original_src_selector: 'has(app)' },
    'different',
    false,
  ),
  policyNsCase(
    'a pod selector confines the rule to the policy namespace',
    { original_src_selector: 'has(app)' },
    'testns',
    true,
  ),
  policyNsCase('without selectors any namespace matches', {}, 'different', true),
  policyNsCase(
    'SA names confine the rule to the policy namespace',
    { src_service_account_match: { names: ['sam'] } },
    'different',
    false,
  ),
  policyNsCase(
    'SA names confine the rule to the policy namespace',
    { src_service_account_match: { names: ['sam'] } },
    'testns',
    true,
  ),
];

// #102: L4 protocol. A CheckRequest carries TCP or UDP only, so the arbitrary numbers of
// #102j–cc become "another protocol never matches TCP; its negation always does".
const protoCase = (
  why: string,
  rule: Rule,
  req: ReturnType<typeof request>,
  matches: boolean,
): DecideCase => ({
  name: `7.2#102 ${why}`,
  messages: wrapAllow(rule),
  request: req,
  expect: yes(matches),
});
const tcpNoAddress = request({ dst: null });
const udp = request({ protocol: 'UDP' });
const tcp = request({ protocol: 'TCP' });
const otherProtocols: ReadonlyArray<{ number: number } | { name: string }> = [
  { number: 1 },
  { name: 'ICMP' },
  { number: 132 },
  { name: 'SCTP' },
  { number: 58 },
  { name: 'ICMPv6' },
  { number: 136 },
  { name: 'UDPLite' },
  { number: 99 },
  { name: 'protoX' },
];
const protocolCases: DecideCase[] = [
  protoCase('a rule without protocol matches TCP (no destination address)', {}, tcpNoAddress, true),
  protoCase('a rule without protocol matches UDP', {}, udp, true),
  protoCase('protocol name TCP matches TCP', { protocol: { name: 'TCP' } }, tcpNoAddress, true),
  protoCase('protocol 6 matches TCP', { protocol: { number: 6 } }, tcpNoAddress, true),
  protoCase('protocol 17 does not match TCP', { protocol: { number: 17 } }, tcpNoAddress, false),
  protoCase('not_protocol UDP matches TCP', { not_protocol: { name: 'UDP' } }, tcpNoAddress, true),
  protoCase('not_protocol 6 excludes TCP', { not_protocol: { number: 6 } }, tcp, false),
  protoCase(
    'protocol TCP and not_protocol TCP never match TCP',
    { protocol: { name: 'TCP' }, not_protocol: { name: 'TCP' } },
    tcp,
    false,
  ),
  protoCase(
    'protocol TCP and not_protocol TCP never match UDP',
    { protocol: { name: 'TCP' }, not_protocol: { name: 'TCP' } },
    udp,
    false,
  ),
  protoCase('protocol udp (lower case) matches UDP', { protocol: { name: 'udp' } }, udp, true),
  protoCase('an empty protocol oneof never matches', { protocol: {} }, tcp, false),
  protoCase('an empty not_protocol oneof excludes nothing', { not_protocol: {} }, tcp, true),
  ...otherProtocols.flatMap((p) => {
    const label = 'number' in p ? String(p.number) : JSON.stringify(p.name);
    return [
      protoCase(`protocol ${label} does not match TCP`, { protocol: p }, tcp, false),
      protoCase(`not_protocol ${label} matches TCP`, { not_protocol: p }, tcp, true),
    ];
  }),
];

// #103–#120: nets. Source side unless the row says otherwise.
const netRows: ReadonlyArray<readonly [string, string[], string, boolean]> = [
  ['#103 empty nets match', [], '45ab:23::abcd', true],
  ['#104 single v4 net match', ['192.168.3.0/24'], '192.168.3.145', true],
  ['#105 single v6 net match', ['45ab:0023::/32'], '45ab:23::abcd', true],
  ['#106 v4 IP, v6 net: no match', ['55ae:4481::/0'], '192.168.3.145', false],
  ['#107 v6 IP, v4 net: no match', ['10.0.0.0/0'], '45ab:23::abcd', false],
  ['#108 mixed nets, v6 match', ['45ab:0023::/32', '192.168.0.0/16'], '45ab:23::abcd', true],
  ['#109 mixed nets, v4 match', ['45ab:0023::/32', '192.168.0.0/16'], '192.168.21.21', true],
  ['#110 single v4 net no match', ['192.168.0.0/16'], '55.39.128.9', false],
  ['#111 single v6 net no match', ['45ab:0023::/32'], '85ab:23::abcd', false],
  ['#112 multiple nets no match', ['45.81.99.128/25', '10.0.0.0/8', '13.12.0.0/16'], '45.81.99.1', false],
  ['#113 multiple nets match', ['45.81.99.0/24', '10.0.0.0/8', '13.12.0.0/16'], '45.81.99.1', true],
  ['#114 a malformed CIDR never matches', ['192.168.0.0.0/16'], '192.168.5.6', false],
];
const netsBothSides: ReadonlyArray<readonly [string, string[], boolean]> = [
  ['#115 empty nets', [], true],
  ['#116 single net match', ['192.168.1.0/24'], true],
  ['#117 single net no match', ['192.168.2.0/24'], false],
  ['#118 multiple nets match', ['192.168.2.0/24', '192.168.1.0/24'], true],
  ['#119 multiple nets no match', ['192.168.2.0/24', '192.168.3.0/24'], false],
  ['#120 invalid net', ['invalid'], false],
];
const netCases: DecideCase[] = [
  ...netRows.map(([why, nets, ip, matches]) => ({
    name: `7.2${why}`,
    messages: wrapAllow({ src_net: nets }),
    request: request({ src: { ip } }),
    expect: yes(matches),
  })),
  ...netsBothSides.flatMap(([why, nets, matches]) =>
    (['src', 'dst'] as const).map((side) => ({
      name: `7.2${why} (${side}_net)`,
      messages: wrapAllow(side === 'src' ? { src_net: nets } : { dst_net: nets }),
      request: request({ src: { ip: '192.168.1.1' }, dst: { ip: '192.168.1.1' } }),
      expect: yes(matches),
    })),
  ),
];

// #121–#128: dst_ip_port_set_ids.
const ipPortSets = [
  ipSet('set80', ['192.168.1.1,tcp:80'], 'IP_AND_PORT'),
  ipSet('set443', ['192.168.1.2,udp:443'], 'IP_AND_PORT'),
  ipSet('setMulti', ['192.168.1.5,tcp:8080', '192.168.1.5,tcp:9090'], 'IP_AND_PORT'),
  ipSet('setProto', ['192.168.1.7,udp:53'], 'IP_AND_PORT'),
];
const ipPortRows: ReadonlyArray<readonly [string, string, string, number, 'TCP' | 'UDP', boolean]> = [
  ['#121 address in set80', 'set80', '192.168.1.1', 80, 'TCP', true],
  ['#122 address not in set80', 'set80', '192.168.1.3', 80, 'TCP', false],
  ['#123 address in set443', 'set443', '192.168.1.2', 443, 'UDP', true],
  ['#124 address not in set443', 'set443', '192.168.1.4', 443, 'UDP', false],
  ['#125 address in a set with several entries', 'setMulti', '192.168.1.5', 8080, 'TCP', true],
  ['#126 address not in a set with several entries', 'setMulti', '192.168.1.6', 8080, 'TCP', false],
  ['#127 address in a set with another protocol', 'setProto', '192.168.1.7', 53, 'UDP', true],
  ['#128 the protocol is part of the key', 'setProto', '192.168.1.7', 53, 'TCP', false],
];
const ipPortCases: DecideCase[] = ipPortRows.map(([why, set, ip, port, protocol, matches]) => ({
  name: `7.2${why}`,
  messages: wrapAllow({ dst_ip_port_set_ids: [set] }, ipPortSets),
  request: request({ dst: { ip, port }, protocol }),
  expect: yes(matches),
}));

export const matchL4NetCases: DecideCase[] = [
  ...matchRuleCases,
  nsSelectorCase,
  ...policyNsCases,
  ...protocolCases,
  ...netCases,
  ...ipPortCases,
];
