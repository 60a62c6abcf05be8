// Per-rule packet and byte counters from `nft -j list table inet <ours>`, labelled with what the
// program says each counted rule is. Rule comments are short (`#3 allow`, `end of tier default`:
// nft caps them at 128 bytes), so the labels come from the program built from the same state,
// keyed by chain name and comment; one Calico rule rendered as several nft rules (families, port
// alternatives) is summed into one entry. Flushing a chain (a policy edit) restarts its counters,
// which Prometheus treats as a counter reset.
import type { DataplaneState } from './model.js';
import { programOf } from './program-of.js';
import type { Direction, Program } from './program.js';

export type CounterKind =
  | 'rule'
  | 'end-of-tier'
  | 'no-profile-matched'
  | 'missing-policy'
  | 'unknown-interface'
  | 'ct-invalid'
  | 'endpoint-to-host'
  | 'wireguard-port'
  | 'wireguard-strict'
  | 'workload-encap';

export interface RuleCounter {
  readonly kind: CounterKind;
  /** Tier of the policy, `__PROFILE__` for profile rules (Calico's name), '' when none. */
  readonly tier: string;
  /** Rendered policy id (`knp/ns/name`), profile name, or ''. */
  readonly policy: string;
  readonly direction: Direction | '';
  /** Index in the policy's or profile's rule list; -1 for rules of our own. */
  readonly ruleIndex: number;
  /** allow, deny, pass, log (policy rules); deny/accept for ours. */
  readonly action: string;
  /** The workload for endpoint-level counters (end of tier, no profile), else ''. */
  readonly workloadId: string;
  readonly packets: number;
  readonly bytes: number;
}

type Labels = Omit<RuleCounter, 'packets' | 'bytes'>;

export const PROFILE_TIER = '__PROFILE__';

function labelIndex(program: Program): Map<string, Labels> {
  const out = new Map<string, Labels>();
  for (const chain of program.chains.values()) {
    const owner = chain.owner;
    for (const rule of chain.rules) {
      if (rule.comment === null || !rule.statements.some((s) => s.kind === 'counter')) continue;
      const o = rule.origin;
      let labels: Labels | null = null;
      const none = { tier: '', policy: '', direction: '', ruleIndex: -1, workloadId: '' } as const;
      if (o.kind === 'rule' && (owner.kind === 'policy' || owner.kind === 'profile')) {
        labels = {
          kind: 'rule',
          tier: owner.kind === 'policy' ? owner.tier : PROFILE_TIER,
          policy: owner.kind === 'policy' ? owner.policy : owner.profile,
          direction: owner.direction,
          ruleIndex: o.ruleIndex,
          action: o.action,
          workloadId: '',
        };
      } else if (owner.kind === 'endpoint' && (o.kind === 'end-of-tier' || o.kind === 'missing-policy')) {
        labels = {
          ...none,
          kind: o.kind,
          tier: o.tier,
          policy: o.kind === 'missing-policy' ? o.policy : '',
          direction: owner.direction,
          action: 'deny',
          workloadId: owner.workloadId,
        };
      } else if (owner.kind === 'endpoint' && o.kind === 'no-profile-matched') {
        labels = {
          ...none,
          kind: o.kind,
          direction: owner.direction,
          action: 'deny',
          workloadId: owner.workloadId,
        };
      } else if (o.kind === 'endpoint-to-host') {
        labels = {
          ...none,
          kind: o.kind,
          direction: 'egress',
          action: o.action === 'Drop' ? 'deny' : 'allow',
        };
      } else if (o.kind === 'wireguard-port') {
        labels = { ...none, kind: o.kind, action: 'allow' };
      } else if (o.kind === 'unknown-interface' || o.kind === 'ct-invalid' || o.kind === 'wireguard-strict') {
        labels = { ...none, kind: o.kind, action: 'deny' };
      } else if (owner.kind === 'endpoint' && o.kind === 'workload-encap') {
        labels = {
          ...none,
          kind: o.kind,
          direction: owner.direction,
          action: 'deny',
          workloadId: owner.workloadId,
        };
      }
      if (labels !== null) out.set(`${chain.name}\u0000${rule.comment}`, labels);
    }
  }
  return out;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function counterOf(expr: unknown): { packets: number; bytes: number } | null {
  if (!Array.isArray(expr)) return null;
  for (const e of expr) {
    if (isRecord(e) && isRecord(e.counter)) {
      const { packets, bytes } = e.counter;
      if (typeof packets === 'number' && typeof bytes === 'number') return { packets, bytes };
    }
  }
  return null;
}

/**
 * Counters of the rules in `json` (the parsed output of `nft -j list table inet <table>`) that
 * the state's program knows; anything else (rules of other tables, chains edited out of band,
 * malformed input) is skipped. Never throws.
 */
export function parseRuleCounters(json: unknown, state: DataplaneState): RuleCounter[] {
  const program = programOf(state);
  const labels = labelIndex(program);
  const sums = new Map<string, { labels: Labels; packets: number; bytes: number }>();
  const items = isRecord(json) && Array.isArray(json.nftables) ? json.nftables : [];
  for (const item of items) {
    if (!isRecord(item) || !isRecord(item.rule)) continue;
    const r = item.rule;
    if (r.table !== program.table || r.family !== 'inet') continue;
    if (typeof r.chain !== 'string' || typeof r.comment !== 'string') continue;
    const l = labels.get(`${r.chain}\u0000${r.comment}`);
    const c = counterOf(r.expr);
    if (l === undefined || c === null) continue;
    const key = JSON.stringify(l);
    const sum = sums.get(key);
    if (sum === undefined) sums.set(key, { labels: l, packets: c.packets, bytes: c.bytes });
    else {
      sum.packets += c.packets;
      sum.bytes += c.bytes;
    }
  }
  return [...sums.values()].map((s) => ({ ...s.labels, packets: s.packets, bytes: s.bytes }));
}
