// The sidecar's Prometheus metrics: Check results and latency, PolicySync state, store sizes.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { StoreStats } from '../policy/policy-store.js';

export type CheckResult = 'allowed' | 'denied' | 'internal' | 'invalid_argument';

export interface SidecarMetrics {
  readonly registry: Registry;
  readonly checks: Counter<'result'>;
  readonly checkSeconds: Histogram<'result'>;
  readonly stagedDifferences: Counter;
  readonly inSync: Gauge;
  readonly reconnects: Counter;
  readonly rejectedUpdates: Counter;
}

export function createSidecarMetrics(storeStats: () => StoreStats | null): SidecarMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const checks = new Counter({
    name: 'dikastes_checks_total',
    help: 'ext_authz Checks answered, by result.',
    labelNames: ['result'] as const,
    registers: [registry],
  });
  const checkSeconds = new Histogram({
    name: 'dikastes_check_duration_seconds',
    help: 'Time to decide one Check, from request decoded to response ready.',
    labelNames: ['result'] as const,
    buckets: [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2],
    registers: [registry],
  });
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
  return { registry, checks, checkSeconds, stagedDifferences, inSync, reconnects, rejectedUpdates };
}
