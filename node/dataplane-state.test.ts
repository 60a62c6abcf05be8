import { describe, expect, it } from 'vitest';
import type { ClusterResource, ResourceEvent } from '../agent/calc/cluster-model.js';
import { PolicyCalculator } from '../agent/calc/calculator.js';
import type { EndpointView } from '../agent/calc/endpoint-view.js';
import { interfaceName } from '../agent/calc/to-dataplane.js';
import { parseCalicoResource } from '../calico/resources.js';
import { DEFAULT_ENFORCEMENT_CONFIG, renderFull, stateFromEndpointViews } from '../dataplane/core/index.js';
import { dataplaneState } from './dataplane-state.js';

const NODE = 'node-a';
const up = (resource: ClusterResource): ResourceEvent => ({ type: 'upsert', resource });
const pod = (name: string, ip: string, labels: Record<string, string>, nodeName = NODE): ClusterResource => ({
  kind: 'Pod',
  pod: {
    namespace: 'prod',
    name,
    uid: `uid-${name}`,
    nodeName,
    labels: new Map(Object.entries(labels)),
    serviceAccount: 'default',
    ips: [ip],
    namedPorts: [],
    hostNetwork: false,
    finished: false,
    hasSidecar: false,
  },
});
const gnp = (name: string, spec: Record<string, unknown>): ClusterResource => {
  const r = parseCalicoResource({
    apiVersion: 'projectcalico.org/v3',
    kind: 'GlobalNetworkPolicy',
    metadata: { name },
    spec,
  });
  if (!r.ok || r.value.kind !== 'policy') throw new Error('bad policy');
  return { kind: 'Policy', policy: r.value.policy };
};

function views(calc: PolicyCalculator): EndpointView[] {
  return calc.localEndpointIds().flatMap((id) => calc.endpointView(id) ?? []);
}

describe('dataplaneState', () => {
  const calc = new PolicyCalculator(NODE);
  for (const e of [
    up({ kind: 'Namespace', namespace: { name: 'prod', labels: new Map() } }),
    up(pod('web', '10.0.0.1', { app: 'web' })),
    up(pod('db', '10.0.0.2', { app: 'db' })),
    up(pod('remote', '10.0.1.1', { app: 'web' }, 'node-b')),
    up(
      gnp('db-from-web', {
        selector: "app == 'db'",
        ingress: [{ action: 'Allow', source: { selector: "app == 'web'" } }],
      }),
    ),
    { type: 'in-sync' } as ResourceEvent,
  ])
    calc.apply(e);

  it('holds each local endpoint with its interface, nets, profiles and tiers, as PolicySync sends them', () => {
    const state = dataplaneState(views(calc), DEFAULT_ENFORCEMENT_CONFIG);
    expect([...state.endpoints.keys()].sort()).toEqual(['prod/db', 'prod/web']);
    const db = state.endpoints.get('prod/db');
    expect(db?.iface).toBe(interfaceName('prod', 'db'));
    expect(db?.ipv4Nets).toEqual(['10.0.0.2/32']);
    expect(db?.profileIds).toEqual(['kns.prod', 'ksa.prod.default']);
    expect(db?.tiers.map((t) => [t.name, t.ingressPolicies.map((p) => p.name)])).toEqual([
      ['default', ['db-from-web']],
    ]);
    expect(state.endpoints.get('prod/web')?.tiers).toEqual([]);
  });

  it('merges the policies, profiles and IP sets the endpoints reference (a remote pod is in the set)', () => {
    const state = dataplaneState(views(calc), DEFAULT_ENFORCEMENT_CONFIG);
    expect([...state.policies.values()].map((p) => p.id.name)).toEqual(['db-from-web']);
    expect([...state.profiles.keys()]).toEqual(['kns.prod']);
    const sets = [...state.ipSets.values()];
    expect(sets).toHaveLength(1);
    expect([...(sets[0]?.members ?? [])].sort()).toEqual(['10.0.0.1/32', '10.0.1.1/32']);
  });

  it('names interfaces with the configured prefix, as Calico does', () => {
    const config = { ...DEFAULT_ENFORCEMENT_CONFIG, interfacePrefix: 'veth' };
    const a = dataplaneState(views(calc), config);
    expect(a.endpoints.get('prod/db')?.iface).toBe(`veth${interfaceName('prod', 'db').slice(4)}`);
    expect(dataplaneState(views(calc), config).endpoints.get('prod/db')).toBe(a.endpoints.get('prod/db'));
  });

  it('keeps unchanged endpoints and policies by reference between states', () => {
    const a = dataplaneState(views(calc), DEFAULT_ENFORCEMENT_CONFIG);
    const b = dataplaneState(views(calc), DEFAULT_ENFORCEMENT_CONFIG);
    expect(b.endpoints.get('prod/db')).toBe(a.endpoints.get('prod/db'));
    expect([...b.policies.values()][0]).toBe([...a.policies.values()][0]);
  });

  it("renders the agent's model rules exactly as it renders their PolicySync encoding", () => {
    const rich = new PolicyCalculator(NODE);
    const http = { name: 'http', protocol: 'tcp', port: 8080 } as const;
    const withPorts = (r: ClusterResource): ClusterResource =>
      r.kind === 'Pod' ? { kind: 'Pod', pod: { ...r.pod, namedPorts: [http] } } : r;
    for (const e of [
      up({ kind: 'Namespace', namespace: { name: 'prod', labels: new Map([['team', 'a']]) } }),
      up(withPorts(pod('web', '10.0.0.1', { app: 'web' }))),
      up(withPorts(pod('db', '10.0.0.2', { app: 'db' }))),
      up(pod('remote', 'fd00::5', { app: 'web' }, 'node-b')),
      up(
        gnp('rich', {
          selector: 'has(app)',
          types: ['Ingress', 'Egress'],
          ingress: [
            {
              action: 'Allow',
              protocol: 'TCP',
              source: { nets: ['10.0.0.0/8'], notNets: ['10.9.0.0/16'] },
              destination: { ports: [80, '8000:8080', 'http'] },
            },
            { action: 'Allow', protocol: 'TCP', source: { nets: ['fd00::/64'] } },
            { action: 'Deny', protocol: 'UDP', destination: { notPorts: [53] } },
            { action: 'Allow', protocol: 'ICMP', icmp: { type: 8, code: 0 } },
            { action: 'Deny', protocol: 'ICMPv6', ipVersion: 6, notICMP: { type: 128 } },
            { action: 'Log', source: { selector: "app == 'web'", namespaceSelector: "team == 'a'" } },
            { action: 'Pass', source: { serviceAccounts: { names: ['default'] } } },
            { action: 'Allow', http: { methods: ['GET'], paths: [{ exact: '/x' }] } },
          ],
          egress: [
            {
              action: 'Allow',
              notProtocol: 'SCTP',
              destination: { selector: "app == 'db'", ports: ['http'] },
            },
            { action: 'Deny', ipVersion: 4, destination: { nets: ['0.0.0.0/0'], notSelector: 'has(x)' } },
          ],
        }),
      ),
      { type: 'in-sync' } as ResourceEvent,
    ])
      rich.apply(e);
    const withModel = dataplaneState(views(rich), DEFAULT_ENFORCEMENT_CONFIG);
    expect([...withModel.policies.values()].every((p) => p.rules !== undefined)).toBe(true);
    // What a producer without the model rules (a PolicySync client, the tests' states) passes.
    const wireOnly = stateFromEndpointViews(
      DEFAULT_ENFORCEMENT_CONFIG,
      views(rich).map((v) => ({ ...v, policies: v.policies.map(({ rules: _, ...p }) => p) })),
    );
    expect([...wireOnly.policies.values()].every((p) => p.rules === undefined)).toBe(true);
    const text = renderFull(withModel);
    // Every kind of match is in it: nets, ports, named ports, ICMP, protocols, IP sets.
    for (const part of ['ip saddr != 10.9.0.0/16', 'th dport { 80, 8000-8080 }', 'th dport != 53'])
      expect(text).toContain(part);
    for (const part of ['. th dport @ips-', 'icmp type 8 icmp code 0', 'icmpv6 type != 128'])
      expect(text).toContain(part);
    expect(text).toContain('meta l4proto != 132 ip daddr . meta l4proto . th dport @ips-');
    expect(text).toBe(renderFull(wireOnly));
  });
});
