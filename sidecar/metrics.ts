// The sidecar's Prometheus metrics: Check results and latency, PolicySync state, store sizes.
// A Check only adds to plain numbers (CheckTally); prom-client reads them when scraped, since
// its per-observation label hashing was a measurable part of a Check's CPU.
import { Counter, Gauge, Registry, collectDefaultMetrics, type Histogram } from 'prom-client';
import type { StoreStats } from '../policy/policy-store.js';

export type CheckResult = 'allowed' | 'denied' | 'internal' | 'invalid_argument';

const CHECK_RESULTS: readonly CheckResult[] = ['allowed', 'denied', 'internal', 'invalid_argument'];
const CHECK_SECONDS_BUCKETS = [
  0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2,
];

/** Checks answered and their durations, per result, as plain counts. */
export class CheckTally {
  /** Per result: [count, sum of seconds, bucket 0 .. bucket n-1] (non-cumulative buckets). */
  readonly #cells = new Map<CheckResult, Float64Array>(
    CHECK_RESULTS.map((r) => [r, new Float64Array(2 + CHECK_SECONDS_BUCKETS.length)]),
  );

  record(result: CheckResult, seconds: number): void {
    const c = this.#cells.get(result)!;
    c[0]! += 1;
    c[1]! += seconds;
    for (let i = 0; i < CHECK_SECONDS_BUCKETS.length; i++) {
      if (seconds <= CHECK_SECONDS_BUCKETS[i]!) {
        c[2 + i]! += 1;
        break;
      }
    }
  }

  count(result: CheckResult): number {
    return this.#cells.get(result)![0]!;
  }

  /** Results seen so far, with count, sum and cumulative bucket counts. */
  seen(): { result: CheckResult; count: number; sum: number; cumulative: number[] }[] {
    const out = [];
    for (const [result, c] of this.#cells) {
      if (c[0] === 0) continue;
      let acc = 0;
      const cumulative = CHECK_SECONDS_BUCKETS.map((_, i) => (acc += c[2 + i]!));
      out.push({ result, count: c[0]!, sum: c[1]!, cumulative });
    }
    return out;
  }
}

/** dikastes_check_duration_seconds, read from a CheckTally when scraped. */
class TallyHistogram {
  readonly name = 'dikastes_check_duration_seconds';
  readonly help = 'Time to decide one Check, from request decoded to response ready.';
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  constructor(private readonly tally: CheckTally) {}

  get() {
    const bucket = `${this.name}_bucket`;
    const values: { labels: Record<string, string | number>; value: number; metricName: string }[] = [];
    for (const { result, count, sum, cumulative } of this.tally.seen()) {
      cumulative.forEach((value, i) =>
        values.push({ labels: { le: CHECK_SECONDS_BUCKETS[i]!, result }, value, metricName: bucket }),
      );
      values.push({ labels: { le: '+Inf', result }, value: count, metricName: bucket });
      values.push({ labels: { result }, value: sum, metricName: `${this.name}_sum` });
      values.push({ labels: { result }, value: count, metricName: `${this.name}_count` });
    }
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, values, aggregator: 'sum' });
  }
}

export interface SidecarMetrics {
  readonly registry: Registry;
  /** What each Check adds to; dikastes_checks_total and dikastes_check_duration_seconds read it. */
  readonly checks: CheckTally;
  readonly stagedDifferences: Counter;
  readonly inSync: Gauge;
  readonly reconnects: Counter;
  readonly rejectedUpdates: Counter;
}

export function createSidecarMetrics(storeStats: () => StoreStats | null): SidecarMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const checks = new CheckTally();
  new Counter({
    name: 'dikastes_checks_total',
    help: 'ext_authz Checks answered, by result.',
    labelNames: ['result'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const { result, count } of checks.seen()) this.inc({ result }, count);
    },
  });
  registry.registerMetric(new TallyHistogram(checks) as unknown as Histogram);
  const stagedDifferences = new Counter({
    name: 'dikastes_staged_policy_verdict_differences_total',
    help: 'Checks whose verdict would differ if staged policies were enforced.',
    registers: [registry],
  });
  const inSync = new Gauge({
    name: 'dikastes_policy_sync_in_sync',
    help: '1 while the PolicySync stream is connected and has sent InSync.',
    registers: [registry],
  });
  const reconnects = new Counter({
    name: 'dikastes_policy_sync_reconnects_total',
    help: 'PolicySync streams that ended and were retried.',
    registers: [registry],
  });
  const rejectedUpdates = new Counter({
    name: 'dikastes_policy_sync_rejected_updates_total',
    help: 'PolicySync messages or members skipped as malformed.',
    registers: [registry],
  });
  new Gauge({
    name: 'dikastes_store_objects',
    help: 'Objects in the live policy store, by kind.',
    labelNames: ['kind'] as const,
    registers: [registry],
    collect() {
      const s = storeStats();
      this.reset();
      if (s === null) return;
      this.set({ kind: 'policies' }, s.policies);
      this.set({ kind: 'profiles' }, s.profiles);
      this.set({ kind: 'ip_sets' }, s.ipSets);
      this.set({ kind: 'ip_set_members' }, s.ipSetMembers);
      this.set({ kind: 'service_accounts' }, s.serviceAccounts);
      this.set({ kind: 'namespaces' }, s.namespaces);
      this.set({ kind: 'endpoints' }, s.hasEndpoint ? 1 : 0);
    },
  });
  return { registry, checks, stagedDifferences, inSync, reconnects, rejectedUpdates };
}
