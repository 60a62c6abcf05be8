// Builders and sample states for the renderer's tests (test-only: *.cases.ts is not built).
import type { Rule as RuleWire } from '../../proto/gen/felix/Rule.js';
import { policyKey } from '../../calico/policy-id.js';
import type { SeededRandom } from '../../testing/seeded-random.js';
import type {
  DataplaneEndpoint,
  DataplaneState,
  EnforcementConfig,
  IpSetContent,
  IpSetType,
  Policy,
  PolicyEntry,
  PolicyID,
  Profile,
  TierInfo,
} from './model.js';
import { DEFAULT_ENFORCEMENT_CONFIG } from './model.js';

export const ALLOW_ALL: Profile = {
  inbound_rules: [{ action: 'allow' }],
  outbound_rules: [{ action: 'allow' }],
};
export const NO_RULES: Profile = { inbound_rules: [], outbound_rules: [] };

export function knp(namespace: string, name: string): PolicyID {
  return { kind: 'KubernetesNetworkPolicy', namespace, name };
}

export function gnp(name: string): PolicyID {
  return { kind: 'GlobalNetworkPolicy', namespace: '', name };
}

export function policy(
  id: PolicyID,
  inbound: RuleWire[],
  outbound: RuleWire[] = [],
  tier = 'default',
): [string, PolicyEntry] {
  const p: Policy = { inbound_rules: inbound, outbound_rules: outbound, tier, namespace: id.namespace ?? '' };
  return [
    policyKey({ kind: id.kind ?? '', namespace: id.namespace ?? '', name: id.name ?? '' }),
    { id, policy: p },
  ];
}

export function tier(
  name: string,
  ingress: PolicyID[],
  egress: PolicyID[] = [],
  defaultAction = 'Deny',
): TierInfo {
  return { name, ingressPolicies: ingress, egressPolicies: egress, defaultAction };
}

export function endpoint(
  namespace: string,
  pod: string,
  iface: string,
  ip: string,
  tiers: TierInfo[],
): DataplaneEndpoint {
  return {
    workloadId: `${namespace}/${pod}`,
    iface,
    ipv4Nets: ip.includes(':') ? [] : [`${ip}/32`],
    ipv6Nets: ip.includes(':') ? [`${ip}/128`] : [],
    profileIds: [`kns.${namespace}`, `ksa.${namespace}.default`],
    tiers,
  };
}

export function ipSet(type: IpSetType, members: string[]): IpSetContent {
  return { type, members: new Set(members) };
}

export interface StateParts {
  readonly config?: EnforcementConfig;
  readonly endpoints?: DataplaneEndpoint[];
  readonly policies?: [string, PolicyEntry][];
  readonly profiles?: [string, Profile][];
  readonly ipSets?: [string, IpSetContent][];
}

export function state(parts: StateParts): DataplaneState {
  return {
    config: parts.config ?? DEFAULT_ENFORCEMENT_CONFIG,
    endpoints: new Map((parts.endpoints ?? []).map((e) => [e.workloadId, e])),
    policies: new Map(parts.policies ?? []),
    profiles: new Map(parts.profiles ?? []),
    ipSets: new Map(parts.ipSets ?? []),
  };
}

/** The overview's two policies (deny-all-ingress, allow-frontend → backend TCP 80) on two pods. */
export function overviewState(): DataplaneState {
  const deny = knp('default', 'knp.default.deny-all-ingress');
  const allow = knp('default', 'knp.default.allow-frontend');
  return state({
    endpoints: [
      endpoint('default', 'frontend', 'cali0123456789a', '198.51.100.2', [tier('default', [deny])]),
      endpoint('default', 'backend', 'calib0b0b0b0b0b', '198.51.100.3', [tier('default', [allow, deny])]),
    ],
    policies: [
      policy(deny, []),
      policy(allow, [
        {
          action: 'allow',
          protocol: { name: 'tcp' },
          src_ip_set_ids: ['s:frontend'],
          dst_ports: [{ first: 80, last: 80 }],
        },
      ]),
    ],
    profiles: [
      ['kns.default', ALLOW_ALL],
      ['ksa.default.default', NO_RULES],
    ],
    ipSets: [['s:frontend', ipSet('NET', ['198.51.100.2/32', '10.66.1.7/32'])]],
  });
}

/** Every rule feature at once, dual stack, two tiers, WireGuard strict and host encryption. */
export function richState(): DataplaneState {
  const t1 = gnp('security.first');
  const t1b = gnp('security.second');
  const np = knp('ns1', 'knp.ns1.web');
  const staged = { kind: 'StagedNetworkPolicy', namespace: 'ns1', name: 'staged-x' };
  const rules: RuleWire[] = [
    { action: 'log', protocol: { name: 'tcp' } },
    {
      action: 'deny',
      protocol: { number: 17 },
      dst_ports: [{ first: 53, last: 53 }],
      not_src_net: ['10.0.0.0/8'],
    },
    { action: 'allow', ip_version: 'IPV4', protocol: { name: 'icmp' }, icmp_type_code: { type: 8, code: 0 } },
    { action: 'allow', protocol: { name: 'icmpv6' }, not_icmp_type: 128 },
    { action: 'allow', protocol: { name: 'icmp' }, not_icmp_type_code: { type: 3, code: 4 } },
    {
      action: 'allow',
      protocol: { name: 'tcp' },
      src_net: ['10.1.0.0/16', '10.1.2.0/24', 'fd00:1::/64'],
      dst_ports: [
        { first: 80, last: 80 },
        { first: 8000, last: 8100 },
      ],
      dst_named_port_ip_set_ids: ['n:http'],
    },
    {
      action: 'pass',
      not_protocol: { name: 'udp' },
      dst_net: ['192.0.2.0/24'],
      not_dst_ports: [{ first: 1, last: 1023 }],
    },
    {
      action: 'allow',
      protocol: { name: 'sctp' },
      src_ip_set_ids: ['s:a'],
      not_dst_ip_set_ids: ['s:b'],
      src_ports: [{ first: 1024, last: 65535 }],
    },
    {
      action: 'allow',
      protocol: { name: 'udp' },
      dst_ip_port_set_ids: ['n:svc'],
      not_src_named_port_ip_set_ids: ['n:http'],
    },
    {
      action: 'allow',
      protocol: { name: 'tcp' },
      dst_ports: [{ first: 443, last: 443 }],
      http_match: { methods: ['GET'] },
    },
    { action: 'next-tier', src_ip_set_ids: ['s:missing'] },
    { action: 'allow', not_protocol: { name: 'udplite' }, ip_version: 'IPV6' },
  ];
  const config: EnforcementConfig = {
    ...DEFAULT_ENFORCEMENT_CONFIG,
    defaultEndpointToHostAction: 'Drop',
    wireguard: {
      listenPort: 51820,
      interfaceName: 'wireguard.cali',
      strict: true,
      peerPodCidrs: ['10.70.0.0/24', '10.70.1.0/24', 'fd00:70::/64'],
      hostEncryptionMark: 0x100000,
    },
  };
  return state({
    config,
    endpoints: [
      endpoint('ns1', 'web', 'cali1111111111a', '10.65.1.2', [
        tier('security', [t1, t1b], [t1], 'Pass'),
        tier('default', [staged, np], [staged]),
      ]),
      endpoint('ns1', 'db', 'cali2222222222b', 'fd00:65::3', [
        tier('default', [np, knp('ns1', 'not-there')], []),
      ]),
      endpoint('ns2', 'plain', 'cali3333333333c', '10.65.1.4', []),
    ],
    policies: [
      policy(t1, rules, [{ action: 'deny', dst_net: ['0.0.0.0/0'] }], 'security'),
      policy(t1b, [{ action: 'pass' }], [], 'security'),
      policy(np, [{ action: 'allow', src_ip_set_ids: ['s:a'] }]),
      policy(staged, [{ action: 'deny' }]),
    ],
    profiles: [
      ['kns.ns1', ALLOW_ALL],
      ['kns.ns2', ALLOW_ALL],
      ['ksa.ns1.default', NO_RULES],
    ],
    ipSets: [
      [
        's:a',
        ipSet('NET', ['10.65.1.2/32', '10.0.0.0/8', '10.3.0.0/16', 'fd00:65::3/128', '::ffff:1.2.3.4/128']),
      ],
      ['s:b', ipSet('NET', [])],
      ['n:http', ipSet('IP_AND_PORT', ['10.65.1.2,tcp:8080', 'fd00:65::3,tcp:8080', 'bad'])],
      ['n:svc', ipSet('IP_AND_PORT', ['10.96.0.10,udp:53'])],
    ],
  });
}

/** Rules drawn by randomState: every feature, some failing closed (missing sets, bad action). */
const RULE_POOL: RuleWire[] = [
  { action: 'allow' },
  { action: 'deny', protocol: { name: 'tcp' }, dst_ports: [{ first: 80, last: 81 }] },
  {
    action: 'allow',
    protocol: { name: 'tcp' },
    src_ip_set_ids: ['s:1'],
    dst_ports: [{ first: 80, last: 80 }],
  },
  {
    action: 'allow',
    protocol: { name: 'udp' },
    dst_named_port_ip_set_ids: ['n:1'],
    dst_ports: [{ first: 53, last: 53 }],
  },
  { action: 'pass', not_dst_ip_set_ids: ['s:2'] },
  { action: 'log', src_net: ['10.0.0.0/8', 'fd00::/48'] },
  { action: 'allow', ip_version: 'IPV6', protocol: { name: 'icmpv6' }, icmp_type: 128 },
  { action: 'deny', not_src_net: ['192.0.2.0/24'], protocol: { number: 132 } },
  { action: 'allow', src_ip_set_ids: ['s:3'], not_protocol: { name: 'udp' } },
  { action: 'next-tier', dst_net: ['203.0.113.0/24'] },
  { action: 'allow', protocol: { name: 'icmp' }, not_icmp_type_code: { type: 3, code: 1 } },
  { action: 'bogus' },
];

const MEMBER_POOL = [
  '198.51.100.2/32',
  '198.51.100.3/32',
  '10.0.0.0/8',
  '198.51.100.0/16',
  'fd00::2/128',
  'fd00::/64',
  '10.66.1.7/32',
];
const PORT_MEMBER_POOL = ['198.51.100.2,udp:53', '198.51.100.3,tcp:8080', 'fd00::2,udp:53'];

function some<T>(r: SeededRandom, pool: readonly T[], max: number): T[] {
  const out: T[] = [];
  const n = r.int(max + 1);
  for (let i = 0; i < n; i++) {
    const x = r.pick(pool);
    if (!out.includes(x)) out.push(x);
  }
  return out;
}

/** A random state over a small universe, so that consecutive draws share and differ in parts. */
export function randomState(r: SeededRandom): DataplaneState {
  const ids = [
    gnp('t1.a'),
    gnp('t1.b'),
    knp('ns', 'knp.ns.c'),
    knp('ns', 'knp.ns.d'),
    { kind: 'StagedNetworkPolicy', namespace: 'ns', name: 'e' },
  ];
  const policies = ids
    .filter(() => r.next() < 0.8)
    .map((id) =>
      policy(
        id,
        some(r, RULE_POOL, 4),
        some(r, RULE_POOL, 2),
        id.kind === 'GlobalNetworkPolicy' ? 't1' : 'default',
      ),
    );
  const tiers = (): TierInfo[] => {
    const t1 = tier('t1', some(r, ids.slice(0, 2), 2), some(r, ids.slice(0, 2), 1), r.pick(['Deny', 'Pass']));
    const dflt = tier('default', some(r, ids.slice(2), 3), some(r, ids.slice(2), 2), r.pick(['Deny', '']));
    return [t1, dflt].filter(() => r.next() < 0.7);
  };
  const pods: [string, string, string][] = [
    ['a', 'cali0000000000a', '198.51.100.2'],
    ['b', 'cali0000000000b', '198.51.100.3'],
    ['c', 'cali0000000000c', 'fd00::2'],
    ['d', 'cali0000000000d', '198.51.100.5'],
  ];
  const endpoints = pods
    .filter(() => r.next() < 0.75)
    .map(([pod, iface, ip]) => endpoint('ns', pod, iface, ip, tiers()));
  const ipSets: [string, IpSetContent][] = [];
  for (const id of ['s:1', 's:2', 's:3'])
    if (r.next() < 0.85) ipSets.push([id, ipSet('NET', some(r, MEMBER_POOL, 4))]);
  if (r.next() < 0.85) ipSets.push(['n:1', ipSet('IP_AND_PORT', some(r, PORT_MEMBER_POOL, 3))]);
  const profiles: [string, Profile][] = [['kns.ns', ALLOW_ALL]];
  if (r.next() < 0.5) profiles.push(['ksa.ns.default', NO_RULES]);
  const config: EnforcementConfig = {
    ...DEFAULT_ENFORCEMENT_CONFIG,
    defaultEndpointToHostAction: r.pick(['Drop', 'Accept', 'Return'] as const),
    wireguard:
      r.next() < 0.5
        ? null
        : {
            listenPort: 51820,
            interfaceName: r.pick(['', 'wireguard.cali']),
            strict: r.next() < 0.5,
            peerPodCidrs: some(r, ['10.70.0.0/24', '10.70.1.0/24', 'fd00:70::/64'], 3),
            hostEncryptionMark: r.pick([0, 0x100000]),
          },
  };
  return state({ config, endpoints, policies, ipSets, profiles });
}
