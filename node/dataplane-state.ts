// The agent's per-endpoint views (the same ones each pod's PolicySync stream is built from) as the
// nftables renderer's input: one source of truth for the sidecar and the kernel. Pure. Policies,
// profiles and IP sets are shared between endpoints and keep their object identity, so the
// renderer's caches and diffs see only what really changed.
import type { EndpointView } from '../agent/calc/endpoint-view.js';
import type {
  DataplaneEndpoint,
  DataplaneState,
  EnforcementConfig,
  IpSetContent,
  PolicyEntry,
  PolicyID,
  Profile,
  TierInfo,
} from '../dataplane/core/index.js';

const endpointCache = new WeakMap<EndpointView, DataplaneEndpoint>();
const policyCache = new WeakMap<object, PolicyEntry>();

function policyIds(ids: readonly PolicyID[] | undefined): PolicyID[] {
  return (ids ?? []).map((id) => ({
    name: id.name ?? '',
    namespace: id.namespace ?? '',
    kind: id.kind ?? '',
  }));
}

export function dataplaneEndpoint(view: EndpointView): DataplaneEndpoint {
  let ep = endpointCache.get(view);
  if (ep !== undefined) return ep;
  const wire = view.endpoint;
  const tiers: TierInfo[] = (wire.tiers ?? []).map((t) => ({
    name: t.name ?? '',
    defaultAction: t.default_action ?? 'Deny',
    ingressPolicies: policyIds(t.ingress_policies),
    egressPolicies: policyIds(t.egress_policies),
  }));
  ep = {
    workloadId: view.workloadId,
    iface: wire.name ?? '',
    ipv4Nets: [...(wire.ipv4_nets ?? [])],
    ipv6Nets: [...(wire.ipv6_nets ?? [])],
    profileIds: [...(wire.profile_ids ?? [])],
    tiers,
  };
  endpointCache.set(view, ep);
  return ep;
}

/** Everything the views reference, merged: endpoints by workload id, the rest by key. */
export function dataplaneState(views: Iterable<EndpointView>, config: EnforcementConfig): DataplaneState {
  const endpoints = new Map<string, DataplaneEndpoint>();
  const policies = new Map<string, PolicyEntry>();
  const profiles = new Map<string, Profile>();
  const ipSets = new Map<string, IpSetContent>();
  for (const view of views) {
    endpoints.set(view.workloadId, dataplaneEndpoint(view));
    for (const p of view.policies) {
      if (policies.has(p.key)) continue;
      let entry = policyCache.get(p.wire);
      if (entry === undefined) {
        entry = { id: { name: p.id.name, namespace: p.id.namespace, kind: p.id.kind }, policy: p.wire };
        policyCache.set(p.wire, entry);
      }
      policies.set(p.key, entry);
    }
    for (const [name, profile] of view.profiles) profiles.set(name, profile);
    for (const [id, set] of view.ipSets) if (!ipSets.has(id)) ipSets.set(id, set);
  }
  return { config, endpoints, policies, profiles, ipSets };
}
