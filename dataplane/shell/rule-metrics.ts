// Per-rule packet and byte counters as Prometheus metrics, read from the kernel at scrape time
// (`nft -j list table`, at most once a second) and labelled by what each counted rule is: tier,
// policy, direction, rule index and action (dataplane/core/counters.ts). Rules of our own (end of
// tier, no profile matched, unknown interface, invalid conntrack state) carry kind and action.
// One Calico rule rendered for several endpoints is summed into one series.
import { Counter, type Registry } from 'prom-client';
import type { RuleCounter } from '../core/index.js';

const CACHE_MS = 1_000;
const LABELS = ['kind', 'tier', 'policy', 'direction', 'rule_index', 'action'] as const;

export interface RuleMetricsSource {
  /** `nft -j list table inet <ours>` output. */
  readTable(): Promise<string>;
  /** Parses it against the state last applied; [] before anything was applied. */
  counters(json: unknown): readonly RuleCounter[];
}

export function registerRuleMetrics(registry: Registry, source: RuleMetricsSource): void {
  let cache: { at: number; rows: Promise<readonly RuleCounter[]> } | null = null;
  const rows = (): Promise<readonly RuleCounter[]> => {
    if (cache === null || Date.now() - cache.at > CACHE_MS) {
      const reading = source
        .readTable()
        .then((text) => source.counters(JSON.parse(text) as unknown))
        .catch(() => [] as readonly RuleCounter[]);
      cache = { at: Date.now(), rows: reading };
    }
    return cache.rows;
  };
  const summed = async (pick: (r: RuleCounter) => number) => {
    const out = new Map<string, { labels: Record<(typeof LABELS)[number], string>; value: number }>();
    for (const r of await rows()) {
      const labels = {
        kind: r.kind,
        tier: r.tier,
        policy: r.policy,
        direction: r.direction,
        rule_index: String(r.ruleIndex),
        action: r.action,
      };
      const key = JSON.stringify(labels);
      const entry = out.get(key) ?? { labels, value: 0 };
      entry.value += pick(r);
      out.set(key, entry);
    }
    return out.values();
  };
  new Counter({
    name: 'alp_dataplane_rule_packets_total',
    help: 'Packets that hit a counted rule of our nftables table (a policy or profile rule, or one of our own drops)',
    labelNames: LABELS,
    registers: [registry],
    async collect() {
      this.reset();
      for (const { labels, value } of await summed((r) => r.packets)) if (value > 0) this.inc(labels, value);
    },
  });
  new Counter({
    name: 'alp_dataplane_rule_bytes_total',
    help: 'Bytes that hit a counted rule of our nftables table',
    labelNames: LABELS,
    registers: [registry],
    async collect() {
      this.reset();
      for (const { labels, value } of await summed((r) => r.bytes)) if (value > 0) this.inc(labels, value);
    },
  });
}
