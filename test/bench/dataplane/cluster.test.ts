// The benchmark's verdicts rest on properties of its synthetic cluster: interfaces named as
// Calico's CNI names them, addresses unique and in the ranges the topology routes, every probed
// pod selected by some policy, and no synthetic rule opening the ports whose flips are timed.
import { describe, expect, it } from 'vitest';
import { calicoInterfaceName, dataplaneCluster, isSelected, LOCAL_POD_RANGE, PORTS } from './cluster.js';

interface Np {
  metadata: { name: string; namespace: string };
  spec: {
    ingress?: { ports?: { protocol: string; port: number; endPort?: number }[] }[];
  };
}

describe('dataplane benchmark cluster', () => {
  it('names host interfaces as Calico does (felix-reference.md §5)', () => {
    expect(calicoInterfaceName('fx-a', 'pod-a')).toBe('cali4776c23dd6e');
    expect(calicoInterfaceName('fx-b', 'pod-b')).toBe('cali748eba3fba3');
    expect(calicoInterfaceName('fx-b', 'pod-c')).toBe('calid9a21f7037b');
  });

  const c = dataplaneCluster({ pods: 5000, localPods: 110, policies: 500 });
  const policies = c.policies as unknown as Np[];
  const synthetic = policies.filter((p) => p.metadata.name.startsWith('np-'));
  const syntheticObjects = c.policies.filter((p) => (p['metadata'] as Np['metadata']).name.startsWith('np-'));
  it("has issue 11's scale with unique addresses in the routed ranges", () => {
    expect(c.pods).toHaveLength(5000);
    expect(c.pods.filter((p) => p.isLocal)).toHaveLength(110);
    expect(c.policies).toHaveLength(500);
    expect(new Set(c.pods.map((p) => p.ip)).size).toBe(5000);
    const prefix = LOCAL_POD_RANGE.split('.').slice(0, 2).join('.') + '.';
    for (const p of c.pods) expect(p.ip.startsWith(p.isLocal ? prefix : '10.66.')).toBe(true);
    expect(c.joiner.isLocal).toBe(false);
    expect([c.client, c.server, c.target].every((p) => p.isLocal)).toBe(true);
  });

  it('selects every probed local pod, and never the client, with a synthetic policy', () => {
    for (const pod of c.pods.filter((p) => p.isLocal && p !== c.client))
      expect(isSelected(syntheticObjects, pod)).toBe(true);
    expect(isSelected(syntheticObjects, c.client)).toBe(false);
  });

  it('opens none of the timed or denied ports in a synthetic rule', () => {
    const timed = [PORTS.denied, PORTS.edit, PORTS.editOff];
    for (const p of synthetic)
      for (const rule of p.spec.ingress ?? [])
        for (const port of rule.ports ?? [])
          if (port.protocol === 'TCP')
            for (const t of timed) expect(t >= port.port && t <= (port.endPort ?? port.port)).toBe(false);
  });
});
