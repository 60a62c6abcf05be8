// The node agent's calculation: cluster events in, per-endpoint views out. Incremental, like
// Felix's calculation graph: a pod change re-evaluates only the active IP sets and (if local)
// the policies; a policy change re-evaluates only the local endpoints and its own IP sets.
// No I/O, no clock: `apply(event)` mutates this object and returns what changed; the views it
// hands out are immutable, so streams may keep them while later events arrive.
import type { Labels } from '../../calico/labels.js';
import type { NetworkSetSpec, PolicySpec, TierSpec } from '../../calico/resources.js';
import { policyKey } from '../../calico/policy-id.js';
import { labelsWithName, networkSetLabels, workloadLabels } from '../../calico/workload-labels.js';
import type {
  ClusterResource,
  NamespaceInfo,
  PodInfo,
  ResourceEvent,
  ServiceAccountInfo,
} from './cluster-model.js';
import { describeResource, resourceKey, workloadId } from './cluster-model.js';
import type { CompiledPolicy } from './compiled-policy.js';
import { compilePolicy } from './compiled-policy.js';
import type { ClusterView, EndpointView, ServiceAccountEntry } from './endpoint-view.js';
import { buildEndpointView } from './endpoint-view.js';
import { ActivePolicies } from './active-policies.js';
import { EndpointSelectorIndex } from './endpoint-selector-index.js';

export interface CalcChanges {
  /** Local endpoints whose view may have changed, including ones created or removed. */
  readonly endpoints: ReadonlySet<string>;
  readonly clusterView: boolean;
  /** The local pods that run the sidecar changed (driverless sockets follow them). */
  readonly localSidecarPods: boolean;
  /** Resources the calculation could not use, with the reason (logged by the caller). */
  readonly rejected: readonly { readonly resource: string; readonly reason: string }[];
}

interface EndpointState {
  pod: PodInfo;
  labels: Labels;
  readonly policies: Set<string>;
  view: EndpointView | null;
}

interface Collector {
  readonly endpoints: Set<string>;
  clusterView: boolean;
  localSidecarPods: boolean;
  readonly rejected: { resource: string; reason: string }[];
}

export class PolicyCalculator {
  private readonly namespaces = new Map<string, NamespaceInfo>();
  private readonly namespaceLabels = new Map<string, Labels>();
  private readonly serviceAccounts = new Map<string, ServiceAccountEntry>();
  private readonly saLabels = new Map<string, Labels>();
  private readonly pods = new Map<string, PodInfo>();
  private readonly podLabels = new Map<string, Labels>();
  private readonly podsByNamespace = new Map<string, Set<string>>();
  private readonly networkSets = new Map<string, NetworkSetSpec>();
  private readonly tiers = new Map<string, TierSpec>();
  private readonly policies = new Map<string, CompiledPolicy>();
  private readonly policySelectors = new EndpointSelectorIndex();
  private readonly endpoints = new Map<string, EndpointState>();
  private readonly active = new ActivePolicies();
  private isInSync = false;
  private clusterViewCache: ClusterView | null = null;

  constructor(readonly nodeName: string) {}

  apply(event: ResourceEvent): CalcChanges {
    const c: Collector = { endpoints: new Set(), clusterView: false, localSidecarPods: false, rejected: [] };
    if (event.type === 'in-sync') {
      if (!this.isInSync) this.touchCluster(c);
      this.isInSync = true;
    } else if (event.type === 'upsert') {
      this.upsert(event.resource, c);
    } else {
      this.remove(event.kind, event.key, c);
    }
    return c;
  }

  get inSync(): boolean {
    return this.isInSync;
  }

  /** The view of a local endpoint, or null if this node has no such workload (yet). */
  endpointView(id: string): EndpointView | null {
    const ep = this.endpoints.get(id);
    if (ep === undefined) return null;
    ep.view ??= buildEndpointView({
      pod: ep.pod,
      policies: [...ep.policies].flatMap((k) => this.policies.get(k) ?? []),
      tiers: this.tiers,
      ipSets: this.active.ipSets,
      namespaceKnown: this.namespaces.has(ep.pod.namespace),
      serviceAccountKnown: this.serviceAccounts.has(`${ep.pod.namespace}/${ep.pod.serviceAccount}`),
    });
    return ep.view;
  }

  clusterView(): ClusterView {
    this.clusterViewCache ??= {
      namespaces: new Map(this.namespaceLabels),
      serviceAccounts: new Map(this.serviceAccounts),
      inSync: this.isInSync,
    };
    return this.clusterViewCache;
  }

  /** Local pods that run the sidecar and are not finished: they get a driverless socket. */
  localSidecarPods(): PodInfo[] {
    return [...this.pods.values()].filter((p) => this.isLocalSidecarPod(p));
  }

  localEndpointIds(): string[] {
    return [...this.endpoints.keys()];
  }

  pod(id: string): PodInfo | null {
    return this.pods.get(id) ?? null;
  }

  allPods(): Iterable<PodInfo> {
    return this.pods.values();
  }

  policy(key: string): CompiledPolicy | null {
    return this.policies.get(key) ?? null;
  }

  private upsert(r: ClusterResource, c: Collector): void {
    switch (r.kind) {
      case 'Pod':
        return this.upsertPod(r.pod, c);
      case 'Namespace':
        return this.upsertNamespace(r.namespace, c);
      case 'ServiceAccount':
        return this.upsertServiceAccount(r.serviceAccount, c);
      case 'Policy':
        return this.upsertPolicy(r.policy, c, describeResource(r));
      case 'Tier':
        this.tiers.set(r.tier.name, r.tier);
        return this.touchTier(r.tier.name, c);
      case 'NetworkSet':
        this.networkSets.set(resourceKey(r), r.networkSet);
        return this.updateNetworkSetEntity(resourceKey(r), c);
      default: {
        const never: never = r;
        return never;
      }
    }
  }

  private remove(kind: ClusterResource['kind'], key: string, c: Collector): void {
    switch (kind) {
      case 'Pod':
        return this.removePod(key, c);
      case 'Namespace':
        this.namespaces.delete(key);
        this.namespaceLabels.delete(key);
        return this.namespaceChanged(key, c);
      case 'ServiceAccount': {
        const sa = this.serviceAccounts.get(key);
        this.serviceAccounts.delete(key);
        this.saLabels.delete(key);
        if (sa !== undefined) this.serviceAccountChanged(sa.namespace, sa.name, c);
        return;
      }
      case 'Policy':
        return this.removePolicy(key, c);
      case 'Tier':
        this.tiers.delete(key);
        return this.touchTier(key, c);
      case 'NetworkSet':
        this.networkSets.delete(key);
        return this.updateNetworkSetEntity(key, c);
      default: {
        const never: never = kind;
        return never;
      }
    }
  }

  // ---- pods and endpoints ----

  private upsertPod(pod: PodInfo, c: Collector): void {
    const id = workloadId(pod.namespace, pod.name);
    const old = this.pods.get(id);
    const socketBefore = old !== undefined && this.isLocalSidecarPod(old) ? old.uid : null;
    if (socketBefore !== (this.isLocalSidecarPod(pod) ? pod.uid : null)) c.localSidecarPods = true;
    this.pods.set(id, pod);
    let inNamespace = this.podsByNamespace.get(pod.namespace);
    if (inNamespace === undefined) this.podsByNamespace.set(pod.namespace, (inNamespace = new Set()));
    inNamespace.add(id);
    this.refreshPod(id, c);
  }

  /** Recomputes a pod's labels, IP set memberships and (if local) its policies. */
  private refreshPod(id: string, c: Collector): void {
    const pod = this.pods.get(id);
    if (pod === undefined) return;
    const labels = workloadLabels({
      namespace: pod.namespace,
      podLabels: pod.labels,
      serviceAccount: pod.serviceAccount,
      namespaceLabels: this.namespaces.get(pod.namespace)?.labels ?? null,
      serviceAccountLabels: this.saLabels.get(`${pod.namespace}/${pod.serviceAccount}`) ?? null,
    });
    const oldLabels = this.podLabels.get(id);
    const labelsChanged = oldLabels === undefined || !sameLabels(oldLabels, labels);
    if (labelsChanged) this.podLabels.set(id, labels);
    const current = labelsChanged ? labels : (oldLabels as Labels);
    const ownsIps = !pod.hostNetwork && !pod.finished && pod.ips.length > 0;
    const touched = ownsIps
      ? this.active.upsertEntity(`pod:${id}`, {
          labels: current,
          netMembers: pod.ips.map((ip) => (ip.includes(':') ? `${ip}/128` : `${ip}/32`)),
          ips: pod.ips,
          namedPorts: pod.namedPorts,
        })
      : this.active.deleteEntity(`pod:${id}`);
    this.touchEndpoints(touched, c);
    if (pod.nodeName === this.nodeName && ownsIps) this.upsertEndpoint(id, pod, current, labelsChanged, c);
    else this.removeEndpoint(id, c);
  }

  private removePod(id: string, c: Collector): void {
    const pod = this.pods.get(id);
    if (pod === undefined) return;
    if (this.isLocalSidecarPod(pod)) c.localSidecarPods = true;
    this.pods.delete(id);
    this.podLabels.delete(id);
    this.podsByNamespace.get(pod.namespace)?.delete(id);
    this.touchEndpoints(this.active.deleteEntity(`pod:${id}`), c);
    this.removeEndpoint(id, c);
  }

  private isLocalSidecarPod(p: PodInfo): boolean {
    return p.nodeName === this.nodeName && p.hasSidecar && !p.hostNetwork && !p.finished;
  }

  private upsertEndpoint(
    id: string,
    pod: PodInfo,
    labels: Labels,
    labelsChanged: boolean,
    c: Collector,
  ): void {
    let ep = this.endpoints.get(id);
    const isNew = ep === undefined;
    if (ep === undefined) {
      ep = { pod, labels, policies: new Set(), view: null };
      this.endpoints.set(id, ep);
    }
    ep.pod = pod;
    ep.labels = labels;
    ep.view = null;
    c.endpoints.add(id);
    if (!isNew && !labelsChanged) return;
    for (const p of this.policySelectors.candidates(labels, ep.policies)) {
      const selects = p.endpointSelector.matches(labels);
      if (selects && !ep.policies.has(p.key)) this.linkPolicy(p, id, ep);
      else if (!selects && ep.policies.has(p.key)) this.unlinkPolicy(p, id, ep);
    }
  }

  private removeEndpoint(id: string, c: Collector): void {
    const ep = this.endpoints.get(id);
    if (ep === undefined) return;
    for (const key of [...ep.policies]) {
      const p = this.policies.get(key);
      if (p !== undefined) this.unlinkPolicy(p, id, ep);
    }
    this.endpoints.delete(id);
    c.endpoints.add(id);
  }

  // ---- policies ----

  private upsertPolicy(spec: PolicySpec, c: Collector, name: string): void {
    const key = policyKey(spec.id);
    if (spec.stagedAction === 'Delete') return this.removePolicy(key, c);
    const compiled = compilePolicy(spec);
    if (!compiled.ok) {
      c.rejected.push({ resource: name, reason: compiled.reason });
      return this.removePolicy(key, c);
    }
    const next = compiled.policy;
    const old = this.policies.get(key);
    const before = [...this.active.endpointsOf(key)];
    if (old !== undefined) this.active.replace(old, next);
    this.policies.set(key, next);
    this.policySelectors.set(next);
    for (const [id, ep] of this.endpoints) {
      const selects = next.endpointSelector.matches(ep.labels);
      if (selects && !ep.policies.has(key)) this.linkPolicy(next, id, ep);
      else if (!selects && ep.policies.has(key)) this.unlinkPolicy(next, id, ep);
    }
    for (const id of [...before, ...this.active.endpointsOf(key)]) this.touchEndpoint(id, c);
  }

  private removePolicy(key: string, c: Collector): void {
    const old = this.policies.get(key);
    if (old === undefined) return;
    for (const id of [...this.active.endpointsOf(key)]) {
      const ep = this.endpoints.get(id);
      if (ep !== undefined) this.unlinkPolicy(old, id, ep);
      this.touchEndpoint(id, c);
    }
    this.policies.delete(key);
    this.policySelectors.delete(key);
  }

  private linkPolicy(p: CompiledPolicy, id: string, ep: EndpointState): void {
    ep.policies.add(p.key);
    this.active.link(p, id);
  }

  private unlinkPolicy(p: CompiledPolicy, id: string, ep: EndpointState): void {
    ep.policies.delete(p.key);
    this.active.unlink(p, id);
  }

  // ---- namespaces, service accounts, network sets, tiers ----

  private upsertNamespace(ns: NamespaceInfo, c: Collector): void {
    const old = this.namespaces.get(ns.name);
    this.namespaces.set(ns.name, ns);
    if (old !== undefined && sameLabels(old.labels, ns.labels)) return;
    this.namespaceLabels.set(ns.name, labelsWithName(ns.name, ns.labels));
    this.namespaceChanged(ns.name, c);
  }

  private namespaceChanged(name: string, c: Collector): void {
    this.touchCluster(c);
    for (const id of [...(this.podsByNamespace.get(name) ?? [])]) {
      this.refreshPod(id, c);
      this.touchEndpoint(id, c);
    }
    for (const [key, set] of this.networkSets)
      if (set.namespace === name) this.updateNetworkSetEntity(key, c);
  }

  private upsertServiceAccount(sa: ServiceAccountInfo, c: Collector): void {
    const key = `${sa.namespace}/${sa.name}`;
    const old = this.saLabels.get(key);
    if (old !== undefined && sameLabels(old, sa.labels)) return;
    this.saLabels.set(key, sa.labels);
    this.serviceAccounts.set(key, {
      namespace: sa.namespace,
      name: sa.name,
      labels: labelsWithName(sa.name, sa.labels),
    });
    this.serviceAccountChanged(sa.namespace, sa.name, c);
  }

  private serviceAccountChanged(namespace: string, name: string, c: Collector): void {
    this.touchCluster(c);
    for (const id of [...(this.podsByNamespace.get(namespace) ?? [])]) {
      if (this.pods.get(id)?.serviceAccount !== name) continue;
      this.refreshPod(id, c);
      this.touchEndpoint(id, c);
    }
  }

  private updateNetworkSetEntity(key: string, c: Collector): void {
    const set = this.networkSets.get(key);
    const entityKey = `netset:${key}`;
    if (set === undefined) return this.touchEndpoints(this.active.deleteEntity(entityKey), c);
    const nsLabels = set.namespace === '' ? null : (this.namespaces.get(set.namespace)?.labels ?? null);
    const labels = networkSetLabels(set.namespace, new Map(Object.entries(set.labels)), nsLabels);
    const entity = { labels, netMembers: set.nets, ips: [], namedPorts: [] };
    this.touchEndpoints(this.active.upsertEntity(entityKey, entity), c);
  }

  private touchTier(name: string, c: Collector): void {
    for (const [id, ep] of this.endpoints) {
      if ([...ep.policies].some((k) => this.policies.get(k)?.tier === name)) this.touchEndpoint(id, c);
    }
  }

  // ---- change marking ----

  private touchEndpoints(ids: Iterable<string>, c: Collector): void {
    for (const id of ids) this.touchEndpoint(id, c);
  }

  private touchEndpoint(id: string, c: Collector): void {
    const ep = this.endpoints.get(id);
    if (ep !== undefined) ep.view = null;
    c.endpoints.add(id);
  }

  private touchCluster(c: Collector): void {
    this.clusterViewCache = null;
    c.clusterView = true;
  }
}

function sameLabels(a: Labels, b: Labels): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) if (b.get(k) !== v) return false;
  return true;
}
