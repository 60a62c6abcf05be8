// Checks deploy/crds/ without a server: the kinds, scopes and names match Calico's Kubernetes
// datastore, and the four Calico policy CRDs share one rule schema.
import { describe, expect, it } from 'vitest';
import { readCrds, type CrdDocument } from '../harness/envtest/install-crds.js';

const crds = await readCrds();
const byKind = new Map(crds.map((crd) => [crd.spec.names.kind, crd]));

function ruleSchema(crd: CrdDocument | undefined): unknown {
  return crd?.spec.versions[0]?.schema?.openAPIV3Schema?.properties?.['spec']?.properties?.['ingress'];
}

describe('deploy/crds', () => {
  it.each([
    { kind: 'FelixConfiguration', plural: 'felixconfigurations', scope: 'Cluster' },
    { kind: 'GlobalNetworkPolicy', plural: 'globalnetworkpolicies', scope: 'Cluster' },
    { kind: 'NetworkPolicy', plural: 'networkpolicies', scope: 'Namespaced' },
    { kind: 'Tier', plural: 'tiers', scope: 'Cluster' },
    { kind: 'GlobalNetworkSet', plural: 'globalnetworksets', scope: 'Cluster' },
    { kind: 'NetworkSet', plural: 'networksets', scope: 'Namespaced' },
    { kind: 'IPAMBlock', plural: 'ipamblocks', scope: 'Cluster' },
    { kind: 'BlockAffinity', plural: 'blockaffinities', scope: 'Cluster' },
    { kind: 'StagedNetworkPolicy', plural: 'stagednetworkpolicies', scope: 'Namespaced' },
    { kind: 'StagedGlobalNetworkPolicy', plural: 'stagedglobalnetworkpolicies', scope: 'Cluster' },
    { kind: 'StagedKubernetesNetworkPolicy', plural: 'stagedkubernetesnetworkpolicies', scope: 'Namespaced' },
  ])(
    '$kind is $scope, plural $plural, served as crd.projectcalico.org/v1 like Calico',
    ({ kind, plural, scope }) => {
      const crd = byKind.get(kind);
      expect(crd?.metadata.name).toBe(`${plural}.crd.projectcalico.org`);
      expect(crd?.spec.group).toBe('crd.projectcalico.org');
      expect(crd?.spec.scope).toBe(scope);
      expect(crd?.spec.names).toMatchObject({
        plural,
        singular: kind.toLowerCase(),
        listKind: `${kind}List`,
      });
      expect(crd?.spec.versions.map((v) => [v.name, v.served, v.storage])).toEqual([['v1', true, true]]);
    },
  );

  it('has exactly those eleven CRDs', () => {
    expect(crds).toHaveLength(11);
  });

  it('gives all four Calico policy kinds the same rule schema', () => {
    const reference = ruleSchema(byKind.get('GlobalNetworkPolicy'));
    expect(reference).toBeDefined();
    for (const kind of ['NetworkPolicy', 'StagedNetworkPolicy', 'StagedGlobalNetworkPolicy']) {
      expect(ruleSchema(byKind.get(kind)), kind).toEqual(reference);
    }
  });
});
