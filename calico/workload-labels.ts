// The labels Calico's selectors see on a Kubernetes workload: the pod's own labels, plus the
// labels Calico adds (projectcalico.org/namespace, /orchestrator, /serviceaccount) and those the
// pod inherits from its kns.<namespace> and ksa.<namespace>.<sa> profiles (pcns.*, pcsa.*).
import type { Labels } from './labels.js';

export const LABEL_NAMESPACE = 'projectcalico.org/namespace';
export const LABEL_ORCHESTRATOR = 'projectcalico.org/orchestrator';
export const LABEL_SERVICE_ACCOUNT = 'projectcalico.org/serviceaccount';
/** Carries a namespace's or service account's own name, so selectors can match it exactly. */
export const LABEL_NAME = 'projectcalico.org/name';
export const NAMESPACE_LABEL_PREFIX = 'pcns.';
export const SERVICE_ACCOUNT_LABEL_PREFIX = 'pcsa.';
export const NAMESPACE_PROFILE_PREFIX = 'kns.';
export const SERVICE_ACCOUNT_PROFILE_PREFIX = 'ksa.';
export const ORCHESTRATOR_K8S = 'k8s';

/** kns.<namespace>: its rules allow everything. */
export function namespaceProfileName(namespace: string): string {
  return NAMESPACE_PROFILE_PREFIX + namespace;
}

/** ksa.<namespace>.<sa> (namespace "" becomes "default", as Calico does); it has no rules. */
export function serviceAccountProfileName(namespace: string, serviceAccount: string): string {
  return `${SERVICE_ACCOUNT_PROFILE_PREFIX}${namespace === '' ? 'default' : namespace}.${serviceAccount}`;
}

/** The labels a kns.<ns> profile applies: each namespace label prefixed pcns., plus the name. */
export function namespaceProfileLabels(name: string, labels: Labels): Labels {
  return prefixedOnce(NAMESPACE_LABEL_PREFIX, name, labels);
}

/** The labels a ksa.<ns>.<sa> profile applies: each SA label prefixed pcsa., plus the name. */
export function serviceAccountProfileLabels(name: string, labels: Labels): Labels {
  return prefixedOnce(SERVICE_ACCOUNT_LABEL_PREFIX, name, labels);
}

/**
 * Profile labels by the label map they came from: every pod of a namespace inherits the same
 * ones, so they are built once per namespace (and per service account), not once per pod. A
 * label map belongs to one object; the empty one (shared) is not cached, it is cheap to build.
 */
const prefixed = new WeakMap<Labels, { readonly key: string; readonly labels: Labels }>();

function prefixedOnce(prefix: string, name: string, labels: Labels): Labels {
  const key = prefix + name;
  const cached = prefixed.get(labels);
  if (cached !== undefined && cached.key === key) return cached.labels;
  const out = new Map<string, string>();
  for (const [k, v] of labels) out.set(prefix + k, v);
  out.set(prefix + LABEL_NAME, name);
  if (labels.size > 0) prefixed.set(labels, { key, labels: out });
  return out;
}

/**
 * What Felix sends in NamespaceUpdate / ServiceAccountUpdate: the object's labels plus
 * projectcalico.org/name (Felix strips the profile prefix back off).
 */
export function labelsWithName(name: string, labels: Labels): Map<string, string> {
  const out = new Map(labels);
  out.set(LABEL_NAME, name);
  return out;
}

export interface WorkloadLabelInput {
  readonly namespace: string;
  readonly podLabels: Labels;
  /** '' when the pod names no service account. */
  readonly serviceAccount: string;
  /** null when the namespace object is not known (then no pcns.* labels are inherited). */
  readonly namespaceLabels: Labels | null;
  /** null when the service account object is not known. */
  readonly serviceAccountLabels: Labels | null;
}

/**
 * The full label set of a pod's workload endpoint. Profile labels are inherited first and the
 * endpoint's own labels win on conflict, as in Felix's label index.
 */
export function workloadLabels(input: WorkloadLabelInput): Labels {
  const out = new Map<string, string>();
  // Map#forEach, not for-of: this runs for every pod at start, before V8 optimises it, and
  // unoptimised for-of allocates an entry array and an iterator result per label.
  const copy = (v: string, k: string): void => void out.set(k, v);
  if (input.namespaceLabels !== null)
    namespaceProfileLabels(input.namespace, input.namespaceLabels).forEach(copy);
  if (input.serviceAccount !== '' && input.serviceAccountLabels !== null)
    serviceAccountProfileLabels(input.serviceAccount, input.serviceAccountLabels).forEach(copy);
  input.podLabels.forEach(copy);
  out.set(LABEL_NAMESPACE, input.namespace);
  out.set(LABEL_ORCHESTRATOR, ORCHESTRATOR_K8S);
  // Calico adds the label only when it fits a label value (< 63 characters).
  if (input.serviceAccount !== '' && input.serviceAccount.length < 63)
    out.set(LABEL_SERVICE_ACCOUNT, input.serviceAccount);
  return out;
}

/** A namespaced NetworkSet's labels: its own, the namespace label, and the kns profile's labels. */
export function networkSetLabels(namespace: string, own: Labels, namespaceLabels: Labels | null): Labels {
  const out = new Map<string, string>();
  if (namespace !== '' && namespaceLabels !== null)
    for (const [k, v] of namespaceProfileLabels(namespace, namespaceLabels)) out.set(k, v);
  for (const [k, v] of own) out.set(k, v);
  if (namespace !== '') out.set(LABEL_NAMESPACE, namespace);
  return out;
}
