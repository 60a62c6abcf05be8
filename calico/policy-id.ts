// Policy identity as Felix sends it (felix.PolicyID), and the forms Calico renders it in.

export interface PolicyId {
  readonly name: string;
  readonly namespace: string;
  /** v3 kind string: GlobalNetworkPolicy, NetworkPolicy, StagedNetworkPolicy, … */
  readonly kind: string;
}

const SHORT_KINDS: Readonly<Record<string, string>> = {
  NetworkPolicy: 'np',
  GlobalNetworkPolicy: 'gnp',
  StagedNetworkPolicy: 'snp',
  StagedGlobalNetworkPolicy: 'sgnp',
  StagedKubernetesNetworkPolicy: 'sknp',
  KubernetesNetworkPolicy: 'knp',
  KubernetesClusterNetworkPolicy: 'kcnp',
};

const STAGED_KINDS = new Set([
  'StagedNetworkPolicy',
  'StagedGlobalNetworkPolicy',
  'StagedKubernetesNetworkPolicy',
]);

export function isStagedKind(kind: string): boolean {
  return STAGED_KINDS.has(kind);
}

/** Calico's PolicyID.ID(): `<short-kind>/<ns>/<name>` or `<short-kind>/<name>`; unknown kinds in full. */
export function renderPolicyId(id: PolicyId): string {
  const kind = SHORT_KINDS[id.kind] ?? id.kind;
  return id.namespace === '' ? `${kind}/${id.name}` : `${kind}/${id.namespace}/${id.name}`;
}

/** Map key: distinct for every (kind, namespace, name), as in Calico's store. */
export function policyKey(id: PolicyId): string {
  return `${id.kind}\u0000${id.namespace}\u0000${id.name}`;
}
