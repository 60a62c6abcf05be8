// One sample object per Calico CRD in deploy/crds/, written as Calico users write them, with the
// fields alp-mesh reads and what the API server must hand back (including schema defaults).
import type { KubernetesObject } from '@kubernetes/client-node';
import { uniqueName } from '../harness/kube.js';

export interface CalicoSample {
  readonly kind: string;
  /** The rule this sample checks, in one line. */
  readonly rule: string;
  readonly build: (namespace: string) => KubernetesObject & { spec: unknown };
  /** Dotted paths into the object read back, and their expected values. */
  readonly expect: Readonly<Record<string, unknown>>;
}

const apiVersion = 'crd.projectcalico.org/v1';

function object(kind: string, spec: unknown, namespace?: string, labels?: Record<string, string>) {
  return {
    apiVersion,
    kind,
    metadata: {
      name: uniqueName(kind.toLowerCase()),
      ...(namespace === undefined ? {} : { namespace }),
      ...(labels === undefined ? {} : { labels }),
    },
    spec,
  };
}

/** Example D of the ALP spec: method and path matches, plus a service-account source. */
const httpIngress = {
  action: 'Allow',
  source: { serviceAccounts: { names: ['customer'], selector: "app == 'yaobank'" } },
  http: { methods: ['GET'], paths: [{ exact: '/projects/calico' }, { prefix: '/users' }] },
};

export function calicoSamples(): CalicoSample[] {
  return [
    {
      kind: 'FelixConfiguration',
      rule: 'policy-sync and WireGuard settings round-trip with their types',
      build: () =>
        object('FelixConfiguration', {
          policySyncPathPrefix: '/var/run/nodeagent',
          wireguardEnabled: true,
          wireguardListeningPort: 51820,
          wireguardInterfaceName: 'wireguard.cali',
          wireguardKeepAlive: '25s',
          wireguardMTU: 1440,
          routeTableRanges: [{ min: 1, max: 250 }],
          bpfLogLevel: 'Off',
        }),
      expect: {
        'spec.policySyncPathPrefix': '/var/run/nodeagent',
        'spec.wireguardEnabled': true,
        'spec.wireguardListeningPort': 51820,
        'spec.wireguardKeepAlive': '25s',
        'spec.routeTableRanges': [{ min: 1, max: 250 }],
        // A field our schema does not type is kept, so any Calico manifest applies.
        'spec.bpfLogLevel': 'Off',
      },
    },
    {
      kind: 'GlobalNetworkPolicy',
      rule: 'http and serviceAccounts matches round-trip and tier defaults to "default"',
      build: () =>
        object('GlobalNetworkPolicy', {
          selector: "app == 'tradingapp'",
          ingress: [httpIngress],
          egress: [{ action: 'Allow' }],
        }),
      expect: {
        'spec.tier': 'default',
        'spec.ingress.0.http.paths': [{ exact: '/projects/calico' }, { prefix: '/users' }],
        'spec.ingress.0.source.serviceAccounts.names': ['customer'],
        'spec.egress.0.action': 'Allow',
      },
    },
    {
      kind: 'NetworkPolicy',
      rule: 'a namespaced policy keeps its namespace and rules',
      build: (namespace) =>
        object(
          'NetworkPolicy',
          {
            tier: 'default',
            order: 100,
            selector: "app == 'reviews'",
            types: ['Ingress'],
            ingress: [
              { ...httpIngress, protocol: 'TCP', destination: { ports: [9080, 'http-alt', '8000:8080'] } },
            ],
          },
          namespace,
        ),
      expect: {
        'spec.order': 100,
        'spec.ingress.0.protocol': 'TCP',
        'spec.ingress.0.destination.ports': [9080, 'http-alt', '8000:8080'],
        'spec.ingress.0.http.methods': ['GET'],
      },
    },
    {
      kind: 'Tier',
      rule: 'order and defaultAction round-trip',
      build: () => object('Tier', { order: 100, defaultAction: 'Pass' }),
      expect: { 'spec.order': 100, 'spec.defaultAction': 'Pass' },
    },
    {
      kind: 'GlobalNetworkSet',
      rule: 'labels and nets round-trip',
      build: () => object('GlobalNetworkSet', { nets: ['198.51.100.0/24'] }, undefined, { role: 'external' }),
      expect: { 'metadata.labels.role': 'external', 'spec.nets': ['198.51.100.0/24'] },
    },
    {
      kind: 'NetworkSet',
      rule: 'a namespaced set keeps its nets',
      build: (namespace) => object('NetworkSet', { nets: ['203.0.113.0/28', '2001:db8::/64'] }, namespace),
      expect: { 'spec.nets': ['203.0.113.0/28', '2001:db8::/64'] },
    },
    {
      kind: 'IPAMBlock',
      rule: 'cidr, affinity and allocations (with nulls) round-trip',
      build: () =>
        object('IPAMBlock', {
          cidr: '198.51.100.64/26',
          affinity: 'host:node-a',
          allocations: [0, null, 1],
          unallocated: [3, 4],
          attributes: [{ handle_id: 'k8s-pod-network.0123', secondary: { node: 'node-a', pod: 'web-0' } }],
          strictAffinity: false,
        }),
      expect: {
        'spec.cidr': '198.51.100.64/26',
        'spec.affinity': 'host:node-a',
        'spec.allocations': [0, null, 1],
        'spec.attributes.0.secondary.pod': 'web-0',
      },
    },
    {
      kind: 'BlockAffinity',
      rule: 'node, cidr and state round-trip; deleted stays a string',
      build: () =>
        object('BlockAffinity', {
          node: 'node-a',
          cidr: '198.51.100.64/26',
          state: 'confirmed',
          deleted: 'false',
        }),
      expect: {
        'spec.node': 'node-a',
        'spec.cidr': '198.51.100.64/26',
        'spec.state': 'confirmed',
        'spec.deleted': 'false',
      },
    },
    {
      kind: 'StagedNetworkPolicy',
      rule: 'stagedAction round-trips on a namespaced staged policy',
      build: (namespace) =>
        object(
          'StagedNetworkPolicy',
          { stagedAction: 'Delete', selector: 'all()', ingress: [{ action: 'Deny' }] },
          namespace,
        ),
      expect: { 'spec.stagedAction': 'Delete', 'spec.ingress.0.action': 'Deny' },
    },
    {
      kind: 'StagedGlobalNetworkPolicy',
      rule: 'stagedAction defaults to Set',
      build: () => object('StagedGlobalNetworkPolicy', { selector: 'all()', ingress: [httpIngress] }),
      expect: { 'spec.stagedAction': 'Set', 'spec.ingress.0.http.methods': ['GET'] },
    },
    {
      kind: 'StagedKubernetesNetworkPolicy',
      rule: 'a Kubernetes NetworkPolicy spec round-trips with stagedAction',
      build: (namespace) =>
        object(
          'StagedKubernetesNetworkPolicy',
          {
            stagedAction: 'Set',
            podSelector: { matchLabels: { app: 'db' } },
            policyTypes: ['Ingress'],
            ingress: [
              {
                from: [{ podSelector: { matchLabels: { app: 'web' } } }],
                ports: [{ protocol: 'TCP', port: 5432 }],
              },
            ],
          },
          namespace,
        ),
      expect: {
        'spec.podSelector.matchLabels.app': 'db',
        'spec.ingress.0.ports.0.port': 5432,
        'spec.ingress.0.from.0.podSelector.matchLabels.app': 'web',
      },
    },
  ];
}

/** The value at a dotted path ("spec.ingress.0.action"), or undefined. */
export function valueAt(value: unknown, path: string): unknown {
  let current = value;
  for (const key of path.split('.')) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}
