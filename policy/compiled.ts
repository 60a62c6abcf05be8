// Shapes of compiled policies, profiles and the endpoint: built when the store changes, read by
// every Check. Plain data with fixed fields, so rule evaluation stays monomorphic and allocation-free.
import type { Cidr } from '../calico/ip.js';
import type { Labels } from '../calico/labels.js';
import type { RuleAction } from '../calico/rule-action.js';
import type { IpSetSlot } from './ip-set-slots.js';

/** Rule actions after case-folding; `invalid` is any other string (spec §4.4). */
export type { RuleAction } from '../calico/rule-action.js';

/** A parsed label selector, as the shared selector module returns it. */
export interface LabelMatcher {
  matches(labels: Labels): boolean;
}

/** CIDRs up to the first malformed one; Calico stops at a malformed CIDR (spec §5.7). */
export interface NetList {
  readonly cidrs: readonly Cidr[];
  readonly endsInvalid: boolean;
}

/** Port ranges as [first, last] pairs, plus named-port IP sets (IP_AND_PORT). */
export interface PortClause {
  readonly ranges: Int32Array;
  readonly named: readonly IpSetSlot[];
}

/**
 * A service-account or namespace constraint on a known (SPIFFE) peer: name in `names` (null: any)
 * and `selector` on the labels (null: all). An unparsable selector never matches.
 */
export interface IdentityClause {
  readonly names: readonly string[] | null;
  readonly selector: LabelMatcher | null;
  readonly selectorInvalid: boolean;
}

export interface MethodClause {
  /** The rule lists `*`. */
  readonly any: boolean;
  readonly methods: readonly string[];
}

/** A path criterion with its value already normalised (spec §5.8); unnormalisable ones are dropped. */
export interface PathEntry {
  readonly prefix: boolean;
  readonly path: string;
}

export interface CompiledRule {
  readonly index: number;
  readonly action: RuleAction;
  /** Every IP-set reference, in a fixed order: checked for presence when the rule is reached. */
  readonly slots: readonly IpSetSlot[] | null;
  /**
   * Bounds of the positive port clauses when they have no named ports (±Infinity otherwise): a
   * port outside them cannot match, which rejects most rules before any clause runs.
   */
  readonly dstPortMin: number;
  readonly dstPortMax: number;
  readonly srcPortMin: number;
  readonly srcPortMax: number;
  /**
   * Which clauses the rule has (the CLAUSE_* bits below), read first so that a Check touches only
   * the fields of the clauses a rule has. A positive port clause that is one range without named
   * ports has no bit: the port bounds above already decide it.
   */
  readonly clauses: number;
  /** Protocol number to equal (−1: an unknown name, never equal); null: no constraint. */
  readonly protocol: number | null;
  readonly notProtocol: number | null;
  readonly srcPort: PortClause | null;
  readonly notSrcPort: PortClause | null;
  readonly dstPort: PortClause | null;
  readonly notDstPort: PortClause | null;
  readonly dstIpPortSets: readonly IpSetSlot[] | null;
  readonly srcNet: NetList | null;
  readonly notSrcNet: NetList | null;
  readonly dstNet: NetList | null;
  readonly notDstNet: NetList | null;
  readonly srcSets: readonly IpSetSlot[] | null;
  readonly notSrcSets: readonly IpSetSlot[] | null;
  readonly dstSets: readonly IpSetSlot[] | null;
  readonly notDstSets: readonly IpSetSlot[] | null;
  readonly srcServiceAccount: IdentityClause | null;
  readonly srcNamespace: IdentityClause | null;
  readonly dstServiceAccount: IdentityClause | null;
  readonly dstNamespace: IdentityClause | null;
  readonly methods: MethodClause | null;
  /** null: no path criteria. Non-null (even empty) means the rule has paths (spec §5.8). */
  readonly paths: readonly PathEntry[] | null;
}

/** A policy's or profile's inbound rules, compiled. */
export interface CompiledRuleList {
  /** `policy gnp/name` or `profile name`, for messages. */
  readonly owner: string;
  readonly rules: readonly CompiledRule[];
  /**
   * Every rule's port bounds side by side (dstMin, dstMax, srcMin, srcMax per rule), so the port
   * prefilter of a long walk reads one contiguous array instead of one object per rule.
   */
  readonly portBounds: Float64Array;
  /**
   * Per rule, the slot index of its first source and first destination IP set (−1: none), so
   * that the walk can test an IPv4 address against that set's bounds (IpSetSlots.v4Bounds)
   * without reading the rule, and skip the rule when the set cannot hold the address.
   */
  readonly firstSets: Int32Array;
  /** Memo of evaluate.ts: destination port → indices of the rules whose port bounds admit it. */
  readonly dstPortCandidates: Map<number, Int32Array>;
  /** Every slot the rules hold, released when the list leaves the store. */
  readonly slots: readonly IpSetSlot[];
}

export interface CompiledTierPolicy {
  /** Store key (policyKey) of the PolicyID. */
  readonly key: string;
  /** Calico's rendering, e.g. `np/ns1/policy1`. */
  readonly rendered: string;
  readonly staged: boolean;
}

export interface CompiledTier {
  readonly name: string;
  /** Unlike Dikastes, read case-insensitively: `pass` continues, anything else denies. */
  readonly defaultPass: boolean;
  readonly ingress: readonly CompiledTierPolicy[];
}

export interface CompiledEndpoint {
  readonly tiers: readonly CompiledTier[];
  readonly profileIds: readonly string[];
  /** Some tier lists a staged policy for ingress: worth a shadow evaluation. */
  readonly hasStaged: boolean;
}

export const CLAUSE_PATHS = 1;
export const CLAUSE_PROTOCOL = 2;
export const CLAUSE_DST_PORT = 4;
export const CLAUSE_SRC_PORT = 8;
export const CLAUSE_NOT_DST_PORT = 16;
export const CLAUSE_NOT_SRC_PORT = 32;
export const CLAUSE_DST_IP_PORT_SETS = 64;
export const CLAUSE_SRC_NET = 128;
export const CLAUSE_DST_NET = 256;
export const CLAUSE_NOT_SRC_NET = 512;
export const CLAUSE_NOT_DST_NET = 1024;
export const CLAUSE_SRC_SETS = 2048;
export const CLAUSE_DST_SETS = 4096;
export const CLAUSE_SRC_SERVICE_ACCOUNT = 8192;
export const CLAUSE_SRC_NAMESPACE = 16384;
export const CLAUSE_DST_SERVICE_ACCOUNT = 32768;
export const CLAUSE_DST_NAMESPACE = 65536;
export const CLAUSE_METHODS = 131072;
