// The cluster as the calculation sees it, and the events every datastore (file, kubernetes)
// feeds it: plain, validated data, so the calculation never touches the API's wire shapes.
import type { Labels } from '../../calico/labels.js';
import type { NetworkSetSpec, PolicySpec, TierSpec } from '../../calico/resources.js';
import { policyKey } from '../../calico/policy-id.js';

export type PortProtocol = 'tcp' | 'udp' | 'sctp';

export interface NamedPort {
  readonly name: string;
  readonly protocol: PortProtocol;
  readonly port: number;
}

export interface PodInfo {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  readonly nodeName: string;
  readonly labels: Labels;
  /** '' when the pod names none. */
  readonly serviceAccount: string;
  /** Canonical addresses (status.podIPs, else status.podIP, else Calico's annotations). */
  readonly ips: readonly string[];
  readonly namedPorts: readonly NamedPort[];
  readonly hostNetwork: boolean;
  /** Succeeded, failed, or deleted and its IP released: it no longer owns its IPs. */
  readonly finished: boolean;
  /** Runs the Dikastes sidecar, so driverless mode gives it a PolicySync socket. */
  readonly hasSidecar: boolean;
}

export interface NamespaceInfo {
  readonly name: string;
  readonly labels: Labels;
}

export interface ServiceAccountInfo {
  readonly namespace: string;
  readonly name: string;
  readonly labels: Labels;
}

export type ClusterResource =
  | { readonly kind: 'Pod'; readonly pod: PodInfo }
  | { readonly kind: 'Namespace'; readonly namespace: NamespaceInfo }
  | { readonly kind: 'ServiceAccount'; readonly serviceAccount: ServiceAccountInfo }
  | { readonly kind: 'Policy'; readonly policy: PolicySpec }
  | { readonly kind: 'Tier'; readonly tier: TierSpec }
  | { readonly kind: 'NetworkSet'; readonly networkSet: NetworkSetSpec };

export type ClusterResourceKind = ClusterResource['kind'];

export type ResourceEvent =
  | { readonly type: 'upsert'; readonly resource: ClusterResource }
  | { readonly type: 'delete'; readonly kind: ClusterResourceKind; readonly key: string }
  /** The datastore has delivered its initial snapshot. */
  | { readonly type: 'in-sync' };

/** Felix's workload id: `<namespace>/<pod>`; also the key of a local endpoint. */
export function workloadId(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

/** A key unique within the resource's kind. */
export function resourceKey(r: ClusterResource): string {
  switch (r.kind) {
    case 'Pod':
      return workloadId(r.pod.namespace, r.pod.name);
    case 'Namespace':
      return r.namespace.name;
    case 'ServiceAccount':
      return `${r.serviceAccount.namespace}/${r.serviceAccount.name}`;
    case 'Policy':
      return policyKey(r.policy.id);
    case 'Tier':
      return r.tier.name;
    case 'NetworkSet':
      return `${r.networkSet.kind}/${r.networkSet.namespace}/${r.networkSet.name}`;
    default: {
      const never: never = r;
      return never;
    }
  }
}

/** What a person reads in logs and Events: `Pod prod/web-1`, `GlobalNetworkPolicy allow-web`. */
export function describeResource(r: ClusterResource): string {
  switch (r.kind) {
    case 'Policy': {
      const { kind, namespace, name } = r.policy.id;
      return namespace === '' ? `${kind} ${name}` : `${kind} ${namespace}/${name}`;
    }
    case 'NetworkSet': {
      const s = r.networkSet;
      return s.namespace === '' ? `${s.kind} ${s.name}` : `${s.kind} ${s.namespace}/${s.name}`;
    }
    default:
      return `${r.kind} ${resourceKey(r)}`;
  }
}
