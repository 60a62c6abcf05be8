// The intermediate form of our nftables table: chains of rules made of typed matches, sets and
// dispatch maps. Built once from a DataplaneState (build-program.ts); the text renderer, the diff
// and the flow evaluator all read this one structure, so what `explain` says is what the kernel
// was given.

export type Family = 4 | 6;
export type AddrDir = 'saddr' | 'daddr';
export type PortDir = 'sport' | 'dport';
export type CtState = 'established' | 'related' | 'invalid' | 'new';
export type Direction = 'ingress' | 'egress';

export interface PortRange {
  readonly first: number;
  readonly last: number;
}

export type Match =
  /** `iifname "cali*"`: a trailing `*` matches by prefix. */
  | { readonly kind: 'iifname' | 'oifname'; readonly name: string; readonly negate: boolean }
  | { readonly kind: 'ct-state'; readonly states: readonly CtState[] }
  /** `meta mark & bits != 0` (isSet) or `== 0`. */
  | { readonly kind: 'mark'; readonly bits: number; readonly isSet: boolean }
  | { readonly kind: 'nfproto'; readonly family: Family }
  | { readonly kind: 'l4proto'; readonly protocols: readonly number[]; readonly negate: boolean }
  /** Canonical, non-overlapping CIDRs of one family; any of them (or none, negated). */
  | {
      readonly kind: 'addr';
      readonly family: Family;
      readonly dir: AddrDir;
      readonly cidrs: readonly string[];
      readonly negate: boolean;
    }
  | {
      readonly kind: 'addr-set';
      readonly family: Family;
      readonly dir: AddrDir;
      readonly set: string;
      readonly negate: boolean;
    }
  /** Transport port (th) in any of the ranges (or none, negated); needs an l4proto match beside it. */
  | {
      readonly kind: 'ports';
      readonly dir: PortDir;
      readonly ranges: readonly PortRange[];
      readonly negate: boolean;
    }
  /** `ip saddr . meta l4proto . th sport @set` (named ports, IP_AND_PORT sets). */
  | {
      readonly kind: 'addr-port-set';
      readonly family: Family;
      readonly dir: AddrDir;
      readonly set: string;
      readonly negate: boolean;
    }
  /** `icmp type 8`, `icmpv6 code != 0`: field of the family's ICMP header. */
  | {
      readonly kind: 'icmp';
      readonly family: Family;
      readonly field: 'type' | 'code';
      readonly value: number;
      readonly negate: boolean;
    }
  /** `icmpv6 type { … }`. */
  | { readonly kind: 'icmpv6-types'; readonly types: readonly number[] }
  | { readonly kind: 'fib-daddr-local' }
  /** `limit rate N/second`: true until the rate is exceeded (the evaluator treats it as true). */
  | { readonly kind: 'limit'; readonly perSecond: number };

export type Statement =
  | { readonly kind: 'counter' }
  | { readonly kind: 'set-mark'; readonly bits: number }
  | { readonly kind: 'clear-mark'; readonly bits: number }
  | { readonly kind: 'log'; readonly prefix: string };

export type Verdict =
  | { readonly kind: 'accept' | 'drop' | 'return' }
  | { readonly kind: 'jump' | 'goto'; readonly chain: string }
  | { readonly kind: 'vmap'; readonly key: 'iifname' | 'oifname'; readonly map: string };

/** Why a rule is there, for counters and explanations. */
export type RuleOrigin =
  | { readonly kind: 'rule'; readonly ruleIndex: number; readonly action: string }
  | { readonly kind: 'end-of-tier'; readonly tier: string }
  | { readonly kind: 'no-profile-matched' }
  | { readonly kind: 'missing-policy'; readonly tier: string; readonly policy: string }
  | { readonly kind: 'unknown-interface' }
  | { readonly kind: 'ct-established' | 'ct-invalid' }
  | { readonly kind: 'endpoint-to-host'; readonly action: string }
  | { readonly kind: 'wireguard-port' | 'wireguard-strict' | 'ipv6-router-icmp' | 'workload-encap' }
  | { readonly kind: 'plumbing' };

export interface Rule {
  readonly matches: readonly Match[];
  readonly statements: readonly Statement[];
  readonly verdict: Verdict | null;
  readonly comment: string | null;
  readonly origin: RuleOrigin;
}

export type ChainOwner =
  | { readonly kind: 'base' | 'dispatch' }
  /** A shared tail that only sets or clears marks (hook-chains.ts markChains). */
  | { readonly kind: 'mark' }
  | {
      readonly kind: 'endpoint';
      readonly workloadId: string;
      readonly iface: string;
      readonly direction: Direction;
    }
  | {
      readonly kind: 'policy';
      readonly tier: string;
      /** Calico's rendering of the policy id, e.g. `knp/default/allow-frontend`. */
      readonly policy: string;
      readonly direction: Direction;
    }
  | { readonly kind: 'profile'; readonly profile: string; readonly direction: Direction };

export interface BaseHook {
  readonly type: 'filter';
  readonly hook: 'prerouting' | 'input' | 'forward';
  /** nft priority expression: `filter`, `raw`. */
  readonly priority: string;
}

export interface Chain {
  readonly name: string;
  readonly base: BaseHook | null;
  readonly owner: ChainOwner;
  readonly rules: readonly Rule[];
  /**
   * What the rules were built from: `source` is the input's text (the policy's rules, the
   * endpoint), `key` the rest (dependencies, marks). A rebuild with both equal reuses the
   * previous program's chain object, so diffs skip it by identity. '' = always built.
   */
  readonly source: string;
  readonly key: string;
  /** Input this chain skipped or failed closed on. */
  readonly problems: readonly string[];
}

export type SetKind = 'addr' | 'addr-port';

export interface SetDef {
  readonly name: string;
  readonly family: Family;
  readonly kind: SetKind;
  /** Intervals (CIDRs): NET sets and the WireGuard peer CIDR sets. */
  readonly interval: boolean;
  /** nft element text, sorted and unique: `10.0.0.0/8`, `10.0.0.1`, `10.0.0.1 . 6 . 8080`. */
  readonly elements: readonly string[];
  /** The IP set id it renders, or '' for our own sets. */
  readonly ipSetId: string;
}

export interface VmapDef {
  readonly name: string;
  /** Interface name → chain to goto. */
  readonly elements: ReadonlyMap<string, string>;
}

export interface Program {
  readonly table: string;
  /** In render order: sets and maps first, then chains leaves-first, base chains last. */
  readonly sets: ReadonlyMap<string, SetDef>;
  readonly maps: ReadonlyMap<string, VmapDef>;
  readonly chains: ReadonlyMap<string, Chain>;
  /** Input the renderer skipped or failed closed on (bad IP set members, missing sets, …). */
  readonly problems: readonly string[];
}
