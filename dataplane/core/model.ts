// The input of the nftables renderer: what alp-node wants enforced on this node, in Felix's
// PolicySync shapes (felix.WorkloadEndpoint tiers, felix.Policy, felix.Profile, IP sets), so the
// kernel enforces exactly what the sidecars are sent. Immutable: the shell builds a new state
// for every change and keeps unchanged parts by reference (the renderer caches by identity).
//
// Entry points (dataplane/core/index.ts):
//   stateFromEndpointViews(config, views)  the agent's endpoint views → one node state
//   enforcementConfigProblem(config)       why a config cannot be rendered, or null
//   renderFull(state)                      one `nft -f` transaction replacing our table atomically
//   renderChanges(prev, next)              one transaction with only what changed ('' if nothing)
//   renderRemoveTable(name)                one transaction removing our table if it exists
//   renderProblems(state)                  what was skipped or failed closed, for the log
//   explainFlow(state, flow)               which chains, tier, policy and rule decide a 5-tuple
//   parseRuleCounters(json, state)         per-rule counters from `nft -j list table inet <name>`
import type { Rule } from '../../calico/rule.js';
import type { PolicyID } from '../../proto/gen/felix/PolicyID.js';
import type { Policy } from '../../proto/gen/felix/Policy.js';
import type { Profile } from '../../proto/gen/felix/Profile.js';

export type { Policy, PolicyID, Profile };

/** Felix's DefaultEndpointToHostAction: what happens to pod → host traffic its egress policy allowed. */
export type EndpointToHostAction = 'Drop' | 'Accept' | 'Return';

export interface WireguardFirewall {
  /** UDP port the WireGuard device listens on (accepted in input, as Felix does). */
  readonly listenPort: number;
  /** The WireGuard device name (e.g. `wireguard.cali`); '' when not known yet. */
  readonly interfaceName: string;
  /**
   * Strict mode (not in Calico): forwarded pod traffic to a keyed peer's pod CIDRs that would
   * leave through any interface but the WireGuard device is dropped.
   */
  readonly strict: boolean;
  /** Pod CIDRs of peers that have a WireGuard key, IPv4 and IPv6 mixed. */
  readonly peerPodCidrs: readonly string[];
  /**
   * Host encryption: packets arriving on any interface but lo, the WireGuard device and workload
   * interfaces get this mark in prerouting (Felix's cali-wireguard-incoming-mark), 0 = off.
   */
  readonly hostEncryptionMark: number;
  /**
   * Dual stack: IPv6's own device and port (the fields above are then IPv4's). Its port is
   * accepted for IPv6, strict mode checks IPv6 peer CIDRs against it, and host encryption leaves
   * packets arriving on it unmarked. Absent: the device above serves both families.
   */
  readonly v6?: WireguardDevice;
}

export interface WireguardDevice {
  readonly listenPort: number;
  /** '' when not known yet. */
  readonly interfaceName: string;
}

export interface MarkBits {
  /** A policy or profile accepted the packet (Felix's MarkAccept). */
  readonly accept: number;
  /** A policy passed the packet to the next tier (Felix's MarkPass). */
  readonly pass: number;
}

/** Felix's defaults within its 0xffff0000 mark mask; disjoint from WireGuard's 0x100000. */
export const DEFAULT_MARKS: MarkBits = { accept: 0x10000, pass: 0x20000 };

/**
 * Felix's AllowVXLANPacketsFromWorkloads / AllowIPIPPacketsFromWorkloads (both false by default):
 * unless allowed, a workload's VXLAN (UDP to vxlanPort) and IPIP packets are dropped before its
 * egress policy, since encapsulation could carry traffic past that policy.
 */
export interface WorkloadEncap {
  readonly allowVxlan: boolean;
  readonly allowIpip: boolean;
  /** Felix's VXLANPort, 4789 by default. */
  readonly vxlanPort: number;
}

export const DEFAULT_WORKLOAD_ENCAP: WorkloadEncap = { allowVxlan: false, allowIpip: false, vxlanPort: 4789 };

export interface EnforcementConfig {
  /** Workload interface prefix, FelixConfiguration interfacePrefix (`cali`). */
  readonly interfacePrefix: string;
  readonly defaultEndpointToHostAction: EndpointToHostAction;
  /** Our table, always in family inet. Letters, digits, `-`, `_`, `.` only. */
  readonly tableName: string;
  readonly marks: MarkBits;
  readonly wireguard: WireguardFirewall | null;
  /** Absent: DEFAULT_WORKLOAD_ENCAP (Felix's defaults). */
  readonly workloadEncap?: WorkloadEncap;
}

export const DEFAULT_TABLE_NAME = 'alp-mesh';

export const DEFAULT_ENFORCEMENT_CONFIG: EnforcementConfig = {
  interfacePrefix: 'cali',
  defaultEndpointToHostAction: 'Drop',
  tableName: DEFAULT_TABLE_NAME,
  marks: DEFAULT_MARKS,
  wireguard: null,
};

export interface TierInfo {
  readonly name: string;
  /** `Deny` (or anything but `Pass`): drop at the end of a tier that has a policy; `Pass`: next tier. */
  readonly defaultAction: string;
  /** In order; staged policies may appear and are skipped, as Felix does. */
  readonly ingressPolicies: readonly PolicyID[];
  readonly egressPolicies: readonly PolicyID[];
}

/** One local workload endpoint (felix.WorkloadEndpoint, with the workload id beside it). */
export interface DataplaneEndpoint {
  /** `<namespace>/<pod>`. */
  readonly workloadId: string;
  /** Host-side interface name (felix WorkloadEndpoint.name), e.g. `cali1234567890a`. */
  readonly iface: string;
  /** `10.0.0.1/32` etc. (not used for matching: dispatch is by interface). */
  readonly ipv4Nets: readonly string[];
  readonly ipv6Nets: readonly string[];
  readonly profileIds: readonly string[];
  readonly tiers: readonly TierInfo[];
}

export type IpSetType = 'NET' | 'IP' | 'IP_AND_PORT';

export interface IpSetContent {
  readonly type: IpSetType;
  /** NET: `10.0.0.0/8`, `10.0.0.1/32`, `fd00::/64`; IP: `10.0.0.1`; IP_AND_PORT: `10.0.0.1,tcp:8080`. */
  readonly members: ReadonlySet<string>;
}

export interface PolicyEntry {
  readonly id: PolicyID;
  readonly policy: Policy;
  /**
   * `policy`'s inbound and outbound rules already in the calico model, when the producer has them
   * (the agent encodes them into `policy`): the renderer then uses these instead of decoding the
   * wire rules. They must say exactly what `policy`'s rules say.
   */
  readonly rules?: PolicyRuleLists;
}

export interface PolicyRuleLists {
  readonly inbound: readonly Rule[];
  readonly outbound: readonly Rule[];
}

export interface DataplaneState {
  readonly config: EnforcementConfig;
  /** By workload id. */
  readonly endpoints: ReadonlyMap<string, DataplaneEndpoint>;
  /** By policyKey(id) (calico/policy-id.ts): kind NUL namespace NUL name. */
  readonly policies: ReadonlyMap<string, PolicyEntry>;
  /** By profile name (`kns.<ns>`, `ksa.<ns>.<sa>`). */
  readonly profiles: ReadonlyMap<string, Profile>;
  /** By IP set id (`s:…`, `n:…`). */
  readonly ipSets: ReadonlyMap<string, IpSetContent>;
}

/** A state with nothing to enforce: the table exists, dispatches nothing, drops unknown pods. */
export function emptyState(config: EnforcementConfig = DEFAULT_ENFORCEMENT_CONFIG): DataplaneState {
  return { config, endpoints: new Map(), policies: new Map(), profiles: new Map(), ipSets: new Map() };
}
