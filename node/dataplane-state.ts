// The agent's per-endpoint views (the same ones each pod's PolicySync stream is built from) as the
// nftables renderer's input: one source of truth for the sidecar and the kernel. Pure. The agent
// names each workload's interface as Calico's CNI does with the default prefix (`cali…`); with
// another FelixConfiguration interfacePrefix the name carries that prefix instead, as Calico's
// own naming does (prefix + 11 hex of sha1("<ns>.<pod>")).
import type { EndpointView } from '../agent/calc/endpoint-view.js';
import type { WorkloadEndpointWire } from '../agent/calc/to-dataplane.js';
import {
  stateFromEndpointViews,
  type DataplaneState,
  type EnforcementConfig,
} from '../dataplane/core/index.js';

const AGENT_PREFIX = 'cali';
/** Renamed endpoints by original, per prefix, so unchanged endpoints keep one identity. */
const renamed = new Map<string, WeakMap<WorkloadEndpointWire, WorkloadEndpointWire>>();

function withPrefix(endpoint: WorkloadEndpointWire, prefix: string): WorkloadEndpointWire {
  let cache = renamed.get(prefix);
  if (cache === undefined) renamed.set(prefix, (cache = new WeakMap()));
  let out = cache.get(endpoint);
  if (out === undefined) {
    const name = endpoint.name ?? '';
    out = {
      ...endpoint,
      name: name.startsWith(AGENT_PREFIX) ? prefix + name.slice(AGENT_PREFIX.length) : name,
    };
    cache.set(endpoint, out);
  }
  return out;
}

export function dataplaneState(views: Iterable<EndpointView>, config: EnforcementConfig): DataplaneState {
  const prefix = config.interfacePrefix;
  if (prefix === AGENT_PREFIX) return stateFromEndpointViews(config, views);
  return stateFromEndpointViews(
    config,
    [...views].map((v) => ({ ...v, endpoint: withPrefix(v.endpoint, prefix) })),
  );
}
