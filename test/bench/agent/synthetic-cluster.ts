// A synthetic cluster for the agent benchmark: namespaces, service accounts, pods spread over
// 20 nodes, and policies in two tiers whose rules use selectors, namespace selectors, service
// accounts, ports and HTTP matches. Deterministic: the same options give the same objects.

export const BENCH_NODE = 'bench-node';

export interface BenchPod {
  readonly name: string;
  readonly namespace: string;
  readonly uid: string;
  readonly ip: string;
  readonly serviceAccount: string;
  readonly app: string;
}

export interface SyntheticCluster {
  readonly objects: Record<string, unknown>[];
  /** Local pods that run a real sidecar. */
  readonly sidecarPods: readonly BenchPod[];
  /** Local pods whose sockets the benchmark opens itself (stream start → InSync). */
  readonly probePods: readonly BenchPod[];
  /** The local pod whose verdict the edited policy flips. */
  readonly target: BenchPod;
  readonly allPods: readonly BenchPod[];
}

export interface ClusterOptions {
  readonly pods: number;
  readonly policies: number;
  readonly sidecars: number;
  readonly probes: number;
}

const NAMESPACES = 10;
const APPS = 50;

function ip(i: number): string {
  const n = i + 1;
  return `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
}

export function syntheticCluster(o: ClusterOptions): SyntheticCluster {
  const objects: Record<string, unknown>[] = [];
  for (let n = 0; n < NAMESPACES; n++) {
    objects.push({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: `ns-${n}`, labels: { team: `t${n % 3}` } },
    });
    for (let s = 0; s < 5; s++) {
      objects.push({
        apiVersion: 'v1',
        kind: 'ServiceAccount',
        metadata: { name: `sa-${s}`, namespace: `ns-${n}`, labels: { role: `r${s}` } },
      });
    }
  }
  objects.push({
    apiVersion: 'projectcalico.org/v3',
    kind: 'Tier',
    metadata: { name: 'security' },
    spec: { order: 100, defaultAction: 'Pass' },
  });

  const allPods: BenchPod[] = [];
  const sidecarPods: BenchPod[] = [];
  const probePods: BenchPod[] = [];
  const localCount = o.sidecars + o.probes;
  for (let i = 0; i < o.pods; i++) {
    const namespace = `ns-${i % NAMESPACES}`;
    const local = i % NAMESPACES === 0 && i / NAMESPACES < localCount;
    const pod: BenchPod = {
      name: `pod-${i}`,
      namespace,
      uid: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
      ip: ip(i),
      serviceAccount: `sa-${i % 5}`,
      app: `app-${i % APPS}`,
    };
    allPods.push(pod);
    if (local) (sidecarPods.length < o.sidecars ? sidecarPods : probePods).push(pod);
    objects.push({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: pod.name,
        namespace,
        uid: pod.uid,
        labels: {
          app: pod.app,
          tier: `t-${i % 5}`,
          version: `v${i % 3}`,
          ...(i === 0 ? { bench: 'target' } : {}),
        },
      },
      spec: {
        nodeName: local ? BENCH_NODE : `node-${i % 20}`,
        serviceAccountName: pod.serviceAccount,
        containers: [
          { name: 'app', image: 'registry.invalid/app:0', ports: [{ name: 'http', containerPort: 8080 }] },
          ...(local ? [{ name: 'dikastes', image: 'registry.invalid/dikastes:0' }] : []),
        ],
      },
      status: { phase: 'Running', podIP: pod.ip },
    });
  }

  for (let j = 0; j < o.policies; j++) {
    const global = j % 2 === 0;
    const security = j % 5 === 0;
    const ingress: Record<string, unknown>[] = [
      { action: 'Deny', source: { selector: `version == 'v2' && tier == 't-${j % 5}'` } },
      {
        action: 'Allow',
        source: { serviceAccounts: { names: [`sa-${j % 5}`] } },
        http: { methods: ['GET'], paths: [{ prefix: '/api' }] },
      },
      {
        action: 'Allow',
        protocol: 'TCP',
        source: { namespaceSelector: `team == 't${j % 3}'` },
        destination: { ports: [80, 8080] },
      },
    ];
    if (security) ingress.push({ action: 'Pass' });
    objects.push({
      apiVersion: 'projectcalico.org/v3',
      kind: global ? 'GlobalNetworkPolicy' : 'NetworkPolicy',
      metadata: { name: `policy-${j}`, ...(global ? {} : { namespace: `ns-${j % NAMESPACES}` }) },
      spec: {
        tier: security ? 'security' : 'default',
        order: 100 + (j % 7),
        selector: `app == 'app-${j % APPS}'`,
        ingress,
      },
    });
  }
  return { objects, sidecarPods, probePods, target: allPods[0] as BenchPod, allPods };
}

/** The policy the benchmark edits: admits GETs from pods of one app, then of another. */
export function editedPolicy(version: number): Record<string, unknown> {
  return {
    apiVersion: 'projectcalico.org/v3',
    kind: 'GlobalNetworkPolicy',
    metadata: { name: 'bench-edit' },
    spec: {
      order: 1,
      selector: "bench == 'target'",
      ingress: [
        {
          action: 'Allow',
          source: { selector: `app == 'app-${version % 2 === 0 ? 3 : 4}'` },
          http: { methods: ['GET'] },
        },
      ],
    },
  };
}
