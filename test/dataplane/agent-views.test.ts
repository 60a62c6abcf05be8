// The agent's own calculation feeding the renderer: Kubernetes NetworkPolicies from the issue's
// overview, through PolicyCalculator's endpoint views and stateFromEndpointViews, to the verdicts
// explainFlow derives from the rendered program. Pure (no kernel); the kernel side is covered by
// render-kernel and explain-kernel.
import { describe, expect, it } from 'vitest';
import { convertK8sNetworkPolicy } from '../../calico/k8s-network-policy.js';
import { PolicyCalculator } from '../../agent/calc/calculator.js';
import type { ClusterResource } from '../../agent/calc/cluster-model.js';
import { interfaceName } from '../../agent/calc/to-dataplane.js';
import type { EndpointViewLike } from '../../dataplane/core/index.js';
import {
  DEFAULT_ENFORCEMENT_CONFIG,
  explainFlow,
  renderFull,
  stateFromEndpointViews,
} from '../../dataplane/core/index.js';

const NODE = 'node-a';

function pod(name: string, ip: string, app: string): ClusterResource {
  return {
    kind: 'Pod',
    pod: {
      namespace: 'default',
      name,
      uid: `uid-${name}`,
      nodeName: NODE,
      labels: new Map([['app', app]]),
      serviceAccount: 'default',
      ips: [ip],
      namedPorts: [],
      hostNetwork: false,
      finished: false,
      hasSidecar: false,
    },
  };
}

function knp(raw: Record<string, unknown>): ClusterResource {
  const r = convertK8sNetworkPolicy({ kind: 'NetworkPolicy', ...raw });
  if (!r.ok) throw new Error(r.reason);
  return { kind: 'Policy', policy: r.value.policy };
}

describe('agent endpoint views → dataplane state', () => {
  const calc = new PolicyCalculator(NODE);
  for (const resource of [
    { kind: 'Namespace', namespace: { name: 'default', labels: new Map() } } as ClusterResource,
    pod('frontend', '198.51.100.2', 'frontend'),
    pod('backend', '198.51.100.3', 'backend'),
    pod('other', '198.51.100.4', 'other'),
    knp({
      metadata: { name: 'deny-all-ingress', namespace: 'default' },
      spec: { podSelector: {}, policyTypes: ['Ingress'] },
    }),
    knp({
      metadata: { name: 'allow-frontend', namespace: 'default' },
      spec: {
        podSelector: { matchLabels: { app: 'backend' } },
        ingress: [{ from: [{ podSelector: { matchLabels: { app: 'frontend' } } }], ports: [{ port: 80 }] }],
      },
    }),
  ]) {
    calc.apply({ type: 'upsert', resource });
  }
  calc.apply({ type: 'in-sync' });
  const views: EndpointViewLike[] = calc.localEndpointIds().flatMap((id) => calc.endpointView(id) ?? []);
  const state = stateFromEndpointViews(DEFAULT_ENFORCEMENT_CONFIG, views);

  it("takes every local endpoint with Calico's interface name, and the policies and sets they use", () => {
    expect([...state.endpoints.values()].map((e) => [e.workloadId, e.iface]).sort()).toEqual(
      ['backend', 'frontend', 'other'].map((p) => [`default/${p}`, interfaceName('default', p)]),
    );
    expect(renderFull(state)).toContain('chain pi-knp/default/allow-frontend {');
    expect([...state.ipSets.values()].map((s) => [...s.members])).toContainEqual(['198.51.100.2/32']);
  });

  it.each([
    ['frontend → backend TCP 80 is allowed', '198.51.100.2', '198.51.100.3', 80, 'allow'],
    ['frontend → backend TCP 81 is denied', '198.51.100.2', '198.51.100.3', 81, 'deny'],
    ['other → backend TCP 80 is denied', '198.51.100.4', '198.51.100.3', 80, 'deny'],
    ['backend → frontend is denied by deny-all-ingress', '198.51.100.3', '198.51.100.2', 80, 'deny'],
    ['frontend → outside is allowed (no egress policy)', '198.51.100.2', '203.0.113.7', 443, 'allow'],
  ] as const)('%s', (_what, srcIp, dstIp, dstPort, verdict) => {
    expect(explainFlow(state, { srcIp, dstIp, protocol: 'tcp', srcPort: 40000, dstPort }).verdict).toBe(
      verdict,
    );
  });

  it('unchanged views give the same endpoint objects (the renderer reuses their chains)', () => {
    const again = stateFromEndpointViews(DEFAULT_ENFORCEMENT_CONFIG, views);
    for (const [id, ep] of again.endpoints) expect(ep).toBe(state.endpoints.get(id));
  });
});
