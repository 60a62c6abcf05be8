// The dataplane benchmark's cluster, as API objects: namespaces, pods (a few hundred or thousand,
// a slice of them on the benchmarked node, the rest on other nodes and known only to the API),
// and Kubernetes NetworkPolicies. Three pods and three policies have fixed roles:
//
// - bench-client (ns-0, local): the prober and the datapath client. bench-egress lets it reach
//   the node's pod range and, elsewhere, only pods labelled joined=yes.
// - bench-server (ns-1, local, app-1, so ~10 synthetic policies select it too): the datapath
//   server; bench-datapath allows bench-client on the iperf3 and connect-rate ports.
// - bench-target (ns-2, local): bench-edit allows every pod on one port, flipped 7000 ↔ 7001.
// - bench-joiner (the last pod, remote): its label joined=yes is added and removed.
//
// Every other policy p selects app-(p mod 50) in ns-(p mod 10) (so every local pod is selected),
// allows ingress from another app in a team of namespaces and from an ipBlock with an except on
// one TCP port and a UDP port range, and every fifth also restricts egress to 10.0.0.0/8 minus
// a /16. No synthetic rule allows TCP 80, 7000 or 7001. Deterministic.
import { createHash } from 'node:crypto';

export const BENCH_NODE = 'bench-node';
export const NAMESPACES = 10;
const APPS = 50;
const REMOTE_NODES = 44;

export const PORTS = { iperf: 5201, connect: 5300, denied: 80, edit: 7000, editOff: 7001 } as const;
/** Local pods' range; the egress policy allows it whole. */
export const LOCAL_POD_RANGE = '10.65.0.0/16';
/** Other nodes' pods. */
export const REMOTE_POD_RANGE = '10.66.0.0/16';

export interface BenchPod {
  readonly name: string;
  readonly namespace: string;
  readonly ip: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly nodeName: string;
  readonly isLocal: boolean;
}

export interface DataplaneCluster {
  readonly namespaces: readonly Record<string, unknown>[];
  readonly pods: readonly BenchPod[];
  readonly policies: readonly Record<string, unknown>[];
  readonly client: BenchPod;
  readonly server: BenchPod;
  readonly target: BenchPod;
  readonly joiner: BenchPod;
}

export interface DataplaneClusterOptions {
  /** Pods in the cluster (≥ localPods + 1). */
  readonly pods: number;
  /** Pods on the benchmarked node (≥ 3). */
  readonly localPods: number;
  /** NetworkPolicies (≥ 3). */
  readonly policies: number;
}

/** The host side of a workload's veth as Calico's CNI names it. */
export function calicoInterfaceName(namespace: string, pod: string, prefix = 'cali'): string {
  return prefix + createHash('sha1').update(`${namespace}.${pod}`).digest('hex').slice(0, 11);
}

function localIp(i: number): string {
  return `10.65.${(i + 1) >> 8}.${(i + 1) & 255}`;
}

function remoteIp(i: number): string {
  return `10.66.${Math.floor(i / 250)}.${(i % 250) + 1}`;
}

export function dataplaneCluster(o: DataplaneClusterOptions): DataplaneCluster {
  if (o.localPods < 3 || o.pods <= o.localPods || o.policies < 3)
    throw new Error('need ≥ 3 local pods, at least one remote pod and ≥ 3 policies');
  const namespaces = Array.from({ length: NAMESPACES }, (_, n) => ({
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: `ns-${n}`, labels: { team: `t${n % 3}` } },
  }));

  const pods: BenchPod[] = [];
  for (let i = 0; i < o.pods; i++) {
    const isLocal = i < o.localPods;
    const namespace = `ns-${i % NAMESPACES}`;
    const app = `app-${i % APPS}`;
    let name = `pod-${i}`;
    let labels: Record<string, string> = { app };
    if (i === 0) [name, labels] = ['bench-client', { app: 'bench-client', bench: 'client' }];
    if (i === 1) [name, labels] = ['bench-server', { app, bench: 'server' }];
    if (i === 2) [name, labels] = ['bench-target', { app, bench: 'target' }];
    if (i === o.pods - 1) name = 'bench-joiner';
    pods.push({
      name,
      namespace,
      labels,
      isLocal,
      ip: isLocal ? localIp(i) : remoteIp(i - o.localPods),
      nodeName: isLocal ? BENCH_NODE : `remote-${i % REMOTE_NODES}`,
    });
  }

  const np = (namespace: string, name: string, spec: Record<string, unknown>) => ({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name, namespace },
    spec,
  });
  const policies: Record<string, unknown>[] = [
    np('ns-1', 'bench-datapath', {
      podSelector: { matchLabels: { bench: 'server' } },
      policyTypes: ['Ingress'],
      ingress: [
        {
          from: [{ namespaceSelector: {}, podSelector: { matchLabels: { bench: 'client' } } }],
          ports: [
            { protocol: 'TCP', port: PORTS.iperf },
            { protocol: 'TCP', port: PORTS.connect },
          ],
        },
      ],
    }),
    editPolicy(false),
    np('ns-0', 'bench-egress', {
      podSelector: { matchLabels: { bench: 'client' } },
      policyTypes: ['Egress'],
      egress: [
        { to: [{ ipBlock: { cidr: LOCAL_POD_RANGE } }] },
        { to: [{ namespaceSelector: {}, podSelector: { matchLabels: { joined: 'yes' } } }] },
      ],
    }),
  ];
  for (let p = 0; p < o.policies - 3; p++) {
    const block = `10.66.${p % 256}`;
    policies.push(
      np(`ns-${p % NAMESPACES}`, `np-${p}`, {
        podSelector: { matchLabels: { app: `app-${p % APPS}` } },
        policyTypes: p % 5 === 0 ? ['Ingress', 'Egress'] : ['Ingress'],
        ingress: [
          {
            from: [
              {
                namespaceSelector: { matchLabels: { team: `t${(p + 1) % 3}` } },
                podSelector: { matchLabels: { app: `app-${(p * 7 + 3) % APPS}` } },
              },
              { ipBlock: { cidr: `${block}.0/24`, except: [`${block}.128/25`] } },
            ],
            ports: [
              { protocol: 'TCP', port: 10000 + p },
              { protocol: 'UDP', port: 20000 + (p % 1000), endPort: 20010 + (p % 1000) },
            ],
          },
        ],
        ...(p % 5 === 0
          ? { egress: [{ to: [{ ipBlock: { cidr: '10.0.0.0/8', except: ['10.99.0.0/16'] } }] }] }
          : {}),
      }),
    );
  }
  const byName = (n: string) => pods.find((p) => p.name === n) as BenchPod;
  return {
    namespaces,
    pods,
    policies,
    client: byName('bench-client'),
    server: byName('bench-server'),
    target: byName('bench-target'),
    joiner: byName('bench-joiner'),
  };
}

/** Whether a policy in `policies` selects `pod` (they all select by namespace and matchLabels). */
export function isSelected(policies: readonly Record<string, unknown>[], pod: BenchPod): boolean {
  return policies.some((p) => {
    const meta = p['metadata'] as { namespace: string };
    const spec = p['spec'] as { podSelector: { matchLabels?: Record<string, string> } };
    return (
      meta.namespace === pod.namespace &&
      Object.entries(spec.podSelector.matchLabels ?? {}).every(([k, v]) => pod.labels[k] === v)
    );
  });
}

/** bench-edit, allowing every pod to bench-target on PORTS.edit (`isOpen`) or PORTS.editOff. */
export function editPolicy(isOpen: boolean): Record<string, unknown> {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: 'bench-edit', namespace: 'ns-2' },
    spec: {
      podSelector: { matchLabels: { bench: 'target' } },
      policyTypes: ['Ingress'],
      ingress: [
        {
          from: [{ namespaceSelector: {}, podSelector: {} }],
          ports: [{ protocol: 'TCP', port: isOpen ? PORTS.edit : PORTS.editOff }],
        },
      ],
    },
  };
}
