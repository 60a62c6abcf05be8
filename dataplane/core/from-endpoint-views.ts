// The agent's per-endpoint views (agent/calc/endpoint-view.ts: what each local pod's PolicySync
// stream holds) → one DataplaneState for the node. Typed structurally on the PolicySync shapes,
// so this room does not import the agent (node/ passes the views in). Objects that did not change
// keep their identity, which is what lets the renderer skip them.
import type { WorkloadEndpoint } from '../../proto/gen/felix/WorkloadEndpoint.js';
import type {
  DataplaneEndpoint,
  DataplaneState,
  EnforcementConfig,
  IpSetContent,
  Policy,
  PolicyEntry,
  PolicyID,
  PolicyRuleLists,
  Profile,
} from './model.js';

/** The parts of an agent EndpointView the dataplane needs. */
export interface EndpointViewLike {
  readonly workloadId: string;
  readonly endpoint: WorkloadEndpoint;
  /** `key` is policyKey(id), as the agent computes it; `rules` are `wire`'s rules before encoding. */
  readonly policies: readonly {
    readonly key: string;
    readonly id: PolicyID;
    readonly wire: Policy;
    readonly rules?: PolicyRuleLists;
  }[];
  readonly profiles: ReadonlyMap<string, Profile>;
  readonly ipSets: ReadonlyMap<string, IpSetContent>;
}

const endpoints = new WeakMap<WorkloadEndpoint, Map<string, DataplaneEndpoint>>();
const entries = new WeakMap<Policy, PolicyEntry>();

function endpointOf(workloadId: string, e: WorkloadEndpoint): DataplaneEndpoint {
  let byId = endpoints.get(e);
  const cached = byId?.get(workloadId);
  if (cached !== undefined) return cached;
  const ep: DataplaneEndpoint = {
    workloadId,
    iface: e.name ?? '',
    ipv4Nets: e.ipv4_nets ?? [],
    ipv6Nets: e.ipv6_nets ?? [],
    profileIds: e.profile_ids ?? [],
    tiers: (e.tiers ?? []).map((t) => ({
      name: t.name ?? '',
      defaultAction: t.default_action ?? '',
      ingressPolicies: t.ingress_policies ?? [],
      egressPolicies: t.egress_policies ?? [],
    })),
  };
  if (byId === undefined) endpoints.set(e, (byId = new Map()));
  byId.set(workloadId, ep);
  return ep;
}

function entryOf(id: PolicyID, wire: Policy, rules: PolicyRuleLists | undefined): PolicyEntry {
  let entry = entries.get(wire);
  if (
    entry === undefined ||
    entry.id.name !== id.name ||
    entry.id.namespace !== id.namespace ||
    entry.id.kind !== id.kind ||
    entry.rules !== rules
  ) {
    entry = rules === undefined ? { id, policy: wire } : { id, policy: wire, rules };
    entries.set(wire, entry);
  }
  return entry;
}

/**
 * The node's state from its local endpoints' views: every endpoint, and the union of the
 * policies, profiles and IP sets they reference. The interface name is the endpoint's
 * (`WorkloadEndpoint.name`); with a non-default interfacePrefix the caller must name it so.
 */
export function stateFromEndpointViews(
  config: EnforcementConfig,
  views: Iterable<EndpointViewLike>,
): DataplaneState {
  const eps = new Map<string, DataplaneEndpoint>();
  const policies = new Map<string, PolicyEntry>();
  const profiles = new Map<string, Profile>();
  const ipSets = new Map<string, IpSetContent>();
  for (const v of views) {
    eps.set(v.workloadId, endpointOf(v.workloadId, v.endpoint));
    for (const p of v.policies) if (!policies.has(p.key)) policies.set(p.key, entryOf(p.id, p.wire, p.rules));
    for (const [name, profile] of v.profiles) if (!profiles.has(name)) profiles.set(name, profile);
    for (const [id, set] of v.ipSets) if (!ipSets.has(id)) ipSets.set(id, set);
  }
  return { config, endpoints: eps, policies, profiles, ipSets };
}
