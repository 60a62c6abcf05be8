// The policy-sync agent's Prometheus metrics, registered on the registry the caller passes in.
import type { Registry } from 'prom-client';
import { Counter, Gauge, Histogram } from 'prom-client';

export interface AgentMetrics {
  readonly sockets: Gauge;
  readonly streams: Gauge;
  readonly stalledStreams: Gauge;
  readonly messages: Counter<'payload'>;
  readonly events: Counter<'type'>;
  readonly eventSeconds: Histogram;
  readonly refused: Counter<'kind'>;
}

export interface AgentGauges {
  /** Read when metrics are scraped. */
  readonly stalledStreams: () => number;
}

export function createAgentMetrics(registry: Registry, gauges?: AgentGauges): AgentMetrics {
  const registers = [registry];
  return {
    sockets: new Gauge({
      name: 'alp_node_policy_sync_sockets',
      help: 'Per-pod PolicySync sockets being served.',
      registers,
    }),
    streams: new Gauge({
      name: 'alp_node_policy_sync_streams',
      help: 'Open PolicySync streams.',
      registers,
    }),
    stalledStreams: new Gauge({
      name: 'alp_node_policy_sync_stalled_streams',
      help: 'Streams whose client is not reading fast enough (their updates are being coalesced).',
      registers,
      collect() {
        if (gauges !== undefined) this.set(gauges.stalledStreams());
      },
    }),
    messages: new Counter({
      name: 'alp_node_policy_sync_messages_total',
      help: 'ToDataplane messages written, by payload.',
      labelNames: ['payload'] as const,
      registers,
    }),
    events: new Counter({
      name: 'alp_node_datastore_events_total',
      help: 'Resource events applied to the calculation, by type (upsert, delete, in-sync).',
      labelNames: ['type'] as const,
      registers,
    }),
    eventSeconds: new Histogram({
      name: 'alp_node_calculation_seconds',
      help: 'Time to apply one resource event to the calculation.',
      buckets: [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5],
      registers,
    }),
    refused: new Counter({
      name: 'alp_node_refused_resources_total',
      help: 'Resource updates refused as invalid (the last valid revision stays in force).',
      labelNames: ['kind'] as const,
      registers,
    }),
  };
}
