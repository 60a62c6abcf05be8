import { describe, expect, it } from 'vitest';
import { convertK8sNetworkPolicy, simplifyPorts } from './k8s-network-policy.js';

function knp(spec: Record<string, unknown>): unknown {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: 'np', namespace: 'prod' },
    spec,
  };
}

function convert(spec: Record<string, unknown>) {
  const r = convertK8sNetworkPolicy(knp(spec));
  if (!r.ok) throw new Error(r.reason);
  return r.value.policy;
}

describe('convertK8sNetworkPolicy (as Calico’s conversion.go)', () => {
  it('puts the policy in the default tier at order 1000 with kind KubernetesNetworkPolicy', () => {
    const p = convert({ podSelector: { matchLabels: { app: 'db' } } });
    expect(p.id).toEqual({ name: 'np', namespace: 'prod', kind: 'KubernetesNetworkPolicy' });
    expect(p.tier).toBe('default');
    expect(p.order).toBe(1000);
    expect(p.selector).toBe("projectcalico.org/orchestrator == 'k8s' && app == 'db'");
    expect(p.types).toEqual(['Ingress']);
  });

  it('renders matchLabels sorted by key, then matchExpressions in order', () => {
    const p = convert({
      podSelector: {
        matchLabels: { z: '1', a: '2' },
        matchExpressions: [
          { key: 'tier', operator: 'In', values: ['a', 'b'] },
          { key: 'env', operator: 'NotIn', values: ['dev'] },
          { key: 'x', operator: 'Exists' },
          { key: 'y', operator: 'DoesNotExist' },
        ],
      },
    });
    expect(p.selector).toBe(
      "projectcalico.org/orchestrator == 'k8s' && a == '2' && z == '1' && tier in { 'a', 'b' } && env not in { 'dev' } && has(x) && ! has(y)",
    );
  });

  it('an ingress rule without ports or peers allows everything', () => {
    const p = convert({ podSelector: {}, ingress: [{}] });
    expect(p.ingress).toHaveLength(1);
    expect(p.ingress[0]?.protocol).toBeNull();
    expect(p.ingress[0]?.destination.ports).toEqual([]);
    expect(p.ingress[0]?.source.selector).toBe('');
  });

  it('makes one rule per protocol and peer, TCP by default, ports merged into ranges', () => {
    const p = convert({
      podSelector: {},
      ingress: [
        {
          from: [{ podSelector: { matchLabels: { app: 'web' } } }, { namespaceSelector: {} }],
          ports: [{ port: 81 }, { port: 80 }, { protocol: 'UDP', port: 53 }, { port: 'http' }],
        },
      ],
    });
    expect(
      p.ingress.map((r) => [r.protocol, r.source.selector, r.source.namespaceSelector, r.destination.ports]),
    ).toEqual([
      [
        { kind: 'name', name: 'TCP' },
        "projectcalico.org/orchestrator == 'k8s' && app == 'web'",
        '',
        [
          { kind: 'named', name: 'http' },
          { kind: 'range', first: 80, last: 81 },
        ],
      ],
      [
        { kind: 'name', name: 'TCP' },
        "projectcalico.org/orchestrator == 'k8s'",
        'all()',
        [
          { kind: 'named', name: 'http' },
          { kind: 'range', first: 80, last: 81 },
        ],
      ],
      [
        { kind: 'name', name: 'UDP' },
        "projectcalico.org/orchestrator == 'k8s' && app == 'web'",
        '',
        [{ kind: 'range', first: 53, last: 53 }],
      ],
      [
        { kind: 'name', name: 'UDP' },
        "projectcalico.org/orchestrator == 'k8s'",
        'all()',
        [{ kind: 'range', first: 53, last: 53 }],
      ],
    ]);
  });

  it('a protocol without a port allows all ports of that protocol', () => {
    const p = convert({ podSelector: {}, ingress: [{ ports: [{ port: 80 }, { protocol: 'TCP' }] }] });
    expect(p.ingress[0]?.destination.ports).toEqual([]);
    expect(p.ingress[0]?.protocol).toEqual({ kind: 'name', name: 'TCP' });
  });

  it('an endPort becomes a range', () => {
    const p = convert({ podSelector: {}, ingress: [{ ports: [{ port: 8000, endPort: 8080 }] }] });
    expect(p.ingress[0]?.destination.ports).toEqual([{ kind: 'range', first: 8000, last: 8080 }]);
  });

  it('ipBlock becomes nets and its exceptions notNets', () => {
    const p = convert({
      podSelector: {},
      ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] } }] }],
    });
    expect(p.ingress[0]?.source.nets).toEqual(['10.0.0.0/8']);
    expect(p.ingress[0]?.source.notNets).toEqual(['10.1.0.0/16']);
  });

  it('egress peers go to the destination', () => {
    const p = convert({
      podSelector: {},
      policyTypes: ['Egress'],
      egress: [{ to: [{ ipBlock: { cidr: '192.0.2.0/24' } }] }],
    });
    expect(p.types).toEqual(['Egress']);
    expect(p.egress[0]?.destination.nets).toEqual(['192.0.2.0/24']);
  });

  it('drops a rule it cannot convert and keeps the rest, as Calico does', () => {
    const r = convertK8sNetworkPolicy(knp({ podSelector: {}, ingress: [{ ports: [{ port: 70000 }] }, {}] }));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.policy.ingress).toHaveLength(1);
    expect(r.value.droppedRules[0]).toContain('invalid port');
  });

  it('rejects a policy without a namespace', () => {
    const r = convertK8sNetworkPolicy({ kind: 'NetworkPolicy', metadata: { name: 'x' }, spec: {} });
    expect(r.ok).toBe(false);
  });
});

describe('simplifyPorts', () => {
  it.each([
    [
      'a single port is kept as is',
      [{ kind: 'range', first: 80, last: 80 }],
      [{ kind: 'range', first: 80, last: 80 }],
    ],
    [
      'adjacent and duplicate ports merge',
      [
        { kind: 'range', first: 82, last: 82 },
        { kind: 'range', first: 80, last: 81 },
        { kind: 'range', first: 81, last: 81 },
      ],
      [{ kind: 'range', first: 80, last: 82 }],
    ],
    [
      'gaps keep ranges apart',
      [
        { kind: 'range', first: 90, last: 90 },
        { kind: 'range', first: 80, last: 80 },
      ],
      [
        { kind: 'range', first: 80, last: 80 },
        { kind: 'range', first: 90, last: 90 },
      ],
    ],
  ] as const)('%s', (_rule, input, expected) => {
    expect(simplifyPorts(input)).toEqual(expected);
  });
});
