// What one local workload's PolicySync stream should hold: its endpoint, the policies, profiles
// and IP sets that endpoint references, plus the cluster-wide namespaces and service accounts.
// Views are immutable; unchanged parts keep their object identity, so a stream can tell what
// changed by comparing references.
import type { Labels } from '../../calico/labels.js';
import type { PolicyId } from '../../calico/policy-id.js';
import { policyKey } from '../../calico/policy-id.js';
import type { TierSpec } from '../../calico/resources.js';
import { namespaceProfileName, serviceAccountProfileName } from '../../calico/workload-labels.js';
import type { PodInfo } from './cluster-model.js';
import { workloadId } from './cluster-model.js';
import type { CompiledPolicy, PolicyRules } from './compiled-policy.js';
import { orderTiers } from './endpoint-policies.js';
import type { IpSetIndex } from './ip-set-index.js';
import type { IpSetType, PolicyWire, ProfileWire, WorkloadEndpointWire } from './to-dataplane.js';
import { ALLOW_ALL_PROFILE, NO_RULES_PROFILE, workloadEndpointWire } from './to-dataplane.js';

export interface IpSetContent {
  readonly type: IpSetType;
  readonly members: ReadonlySet<string>;
}

export interface PolicyEntry {
  readonly key: string;
  readonly id: PolicyId;
  readonly wire: PolicyWire;
  /** `wire`'s rules before encoding (the kernel renderer's input; PolicySync sends `wire`). */
  readonly rules: PolicyRules;
}

export interface EndpointView {
  readonly workloadId: string;
  readonly endpoint: WorkloadEndpointWire;
  /** JSON of `endpoint`: equal text means nothing to resend. */
  readonly endpointText: string;
  /** In tier order, each policy once, staged policies included (Felix sends them). */
  readonly policies: readonly PolicyEntry[];
  readonly profiles: ReadonlyMap<string, ProfileWire>;
  readonly ipSets: ReadonlyMap<string, IpSetContent>;
}

export interface ServiceAccountEntry {
  readonly namespace: string;
  readonly name: string;
  /** Labels as Felix sends them (with projectcalico.org/name). */
  readonly labels: Labels;
}

export interface ClusterView {
  /** Name → labels as Felix sends them (with projectcalico.org/name). */
  readonly namespaces: ReadonlyMap<string, Labels>;
  /** `<namespace>/<name>` → entry. */
  readonly serviceAccounts: ReadonlyMap<string, ServiceAccountEntry>;
  readonly inSync: boolean;
}

export interface EndpointViewInput {
  readonly pod: PodInfo;
  readonly policies: Iterable<CompiledPolicy>;
  readonly tiers: ReadonlyMap<string, TierSpec>;
  readonly ipSets: IpSetIndex;
  readonly namespaceKnown: boolean;
  readonly serviceAccountKnown: boolean;
}

export function buildEndpointView(input: EndpointViewInput): EndpointView {
  const { pod } = input;
  const byKey = new Map<string, CompiledPolicy>();
  for (const p of input.policies) byKey.set(p.key, p);
  const tiers = orderTiers(byKey.values(), input.tiers);

  const policies: PolicyEntry[] = [];
  const seen = new Set<string>();
  for (const tier of tiers) {
    for (const id of [...tier.ingress, ...tier.egress]) {
      const p = byKey.get(policyKey(id));
      if (p === undefined || seen.has(p.key)) continue;
      seen.add(p.key);
      policies.push({ key: p.key, id: p.id, wire: p.wire, rules: p.rules });
    }
  }

  const profileIds = [namespaceProfileName(pod.namespace)];
  if (pod.serviceAccount !== '')
    profileIds.push(serviceAccountProfileName(pod.namespace, pod.serviceAccount));
  // Felix only sends profiles that exist; the endpoint still names both (Dikastes skips a missing one).
  const profiles = new Map<string, ProfileWire>();
  if (input.namespaceKnown) profiles.set(profileIds[0] as string, ALLOW_ALL_PROFILE);
  if (pod.serviceAccount !== '' && input.serviceAccountKnown)
    profiles.set(profileIds[1] as string, NO_RULES_PROFILE);

  const ipSets = new Map<string, IpSetContent>();
  for (const entry of policies) {
    const p = byKey.get(entry.key);
    if (p === undefined) continue;
    for (const { id, type } of p.ipSets) {
      if (ipSets.has(id)) continue;
      const members = input.ipSets.members(id);
      if (members !== null) ipSets.set(id, { type, members });
    }
  }

  const endpoint = workloadEndpointWire({
    namespace: pod.namespace,
    name: pod.name,
    ips: pod.ips,
    profileIds,
    tiers,
  });
  return {
    workloadId: workloadId(pod.namespace, pod.name),
    endpoint,
    endpointText: JSON.stringify(endpoint),
    policies,
    profiles,
    ipSets,
  };
}
