// One object from a datastore (an API watch event or a YAML document) → a cluster resource, a
// rejection with a reason, or "not ours". Shared by every datastore so they agree exactly.
import { convertK8sNetworkPolicy } from '../../calico/k8s-network-policy.js';
import { CALICO_API_VERSIONS, isCalicoKind, parseCalicoResource } from '../../calico/resources.js';
import { isRecord } from '../../calico/spec-fields.js';
import type { ClusterResource } from '../calc/cluster-model.js';
import { parseNamespace, parsePod, parseServiceAccount } from './k8s-objects.js';

export type ObjectParse =
  | { readonly kind: 'resource'; readonly resource: ClusterResource; readonly warnings: readonly string[] }
  | { readonly kind: 'rejected'; readonly reason: string }
  | { readonly kind: 'ignored' };

/** Identifies an object in logs, Kubernetes Events and the datastores' bookkeeping. */
export interface ObjectRef {
  readonly apiVersion: string;
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  /** The revision this ref was taken from ('' when the source has none, e.g. a file). */
  readonly resourceVersion: string;
}

export function objectRef(raw: unknown): ObjectRef | null {
  if (!isRecord(raw)) return null;
  const m = isRecord(raw['metadata']) ? raw['metadata'] : {};
  const str = (v: unknown) => (typeof v === 'string' ? v : '');
  return {
    apiVersion: str(raw['apiVersion']),
    kind: str(raw['kind']),
    namespace: str(m['namespace']),
    name: str(m['name']),
    uid: str(m['uid']),
    resourceVersion: str(m['resourceVersion']),
  };
}

/** `GlobalNetworkPolicy allow-web`, `NetworkPolicy prod/db` — for log lines and Events. */
export function describeRef(ref: ObjectRef): string {
  return ref.namespace === '' ? `${ref.kind} ${ref.name}` : `${ref.kind} ${ref.namespace}/${ref.name}`;
}

/** A key unique per object across kinds and API groups. */
export function refKey(ref: ObjectRef): string {
  const group = ref.apiVersion.includes('/') ? ref.apiVersion.slice(0, ref.apiVersion.indexOf('/')) : '';
  return `${group}/${ref.kind}/${ref.namespace}/${ref.name}`;
}

const ok = (resource: ClusterResource, warnings: readonly string[] = []): ObjectParse => ({
  kind: 'resource',
  resource,
  warnings,
});
const rejected = (reason: string): ObjectParse => ({ kind: 'rejected', reason });

export function parseClusterObject(raw: unknown): ObjectParse {
  const ref = objectRef(raw);
  if (ref === null) return rejected('not an object');
  const { apiVersion, kind } = ref;
  if (apiVersion === 'v1') {
    if (kind === 'Pod') {
      const r = parsePod(raw);
      return r.ok ? ok({ kind: 'Pod', pod: r.value }) : rejected(r.reason);
    }
    if (kind === 'Namespace') {
      const r = parseNamespace(raw);
      return r.ok ? ok({ kind: 'Namespace', namespace: r.value }) : rejected(r.reason);
    }
    if (kind === 'ServiceAccount') {
      const r = parseServiceAccount(raw);
      return r.ok ? ok({ kind: 'ServiceAccount', serviceAccount: r.value }) : rejected(r.reason);
    }
    return { kind: 'ignored' };
  }
  const isKnp = apiVersion === 'networking.k8s.io/v1' && kind === 'NetworkPolicy';
  const isStagedKnp = CALICO_API_VERSIONS.includes(apiVersion) && kind === 'StagedKubernetesNetworkPolicy';
  if (isKnp || isStagedKnp) {
    const r = convertK8sNetworkPolicy(raw);
    if (!r.ok) return rejected(r.reason);
    return ok(
      { kind: 'Policy', policy: r.value.policy },
      r.value.droppedRules.map((d) => `dropped rule: ${d}`),
    );
  }
  if (!isCalicoKind(apiVersion, kind)) return { kind: 'ignored' };
  const r = parseCalicoResource(raw);
  if (!r.ok) return rejected(r.reason);
  const v = r.value;
  switch (v.kind) {
    case 'policy':
      return ok({ kind: 'Policy', policy: v.policy });
    case 'tier':
      return ok({ kind: 'Tier', tier: v.tier });
    case 'network-set':
      return ok({ kind: 'NetworkSet', networkSet: v.networkSet });
    default: {
      const never: never = v;
      return never;
    }
  }
}
