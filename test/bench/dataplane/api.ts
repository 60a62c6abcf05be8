// The dataplane benchmark's API side: a private envtest API server filled with the cluster, the
// one object Felix waits for (ClusterInformation, with a minimal CRD of our own), and the edits
// the benchmark times: a policy's port, a remote pod's label, all policies deleted and recreated.
import {
  ApiextensionsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  NetworkingV1Api,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { startEnvtest, type Envtest } from '../../harness/envtest/envtest.js';
import { inParallel } from '../../harness/in-parallel.js';
import { createNode, createObject, createPod, setPodStatus } from '../../harness/kube.js';
import { BENCH_NODE, editPolicy, type DataplaneCluster } from './cluster.js';

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/** Felix logs "Waiting for datastore to be initialized" until a ready ClusterInformation exists. */
async function createClusterInformation(kc: KubeConfig): Promise<void> {
  const ext = kc.makeApiClient(ApiextensionsV1Api);
  const name = 'clusterinformations.crd.projectcalico.org';
  await ext.createCustomResourceDefinition({
    body: {
      metadata: { name },
      spec: {
        group: 'crd.projectcalico.org',
        scope: 'Cluster',
        names: {
          kind: 'ClusterInformation',
          plural: 'clusterinformations',
          singular: 'clusterinformation',
          listKind: 'ClusterInformationList',
        },
        versions: [
          {
            name: 'v1',
            served: true,
            storage: true,
            schema: { openAPIV3Schema: { type: 'object', x_kubernetes_preserve_unknown_fields: true } },
          },
        ],
      },
    },
  });
  const deadline = Date.now() + 60_000;
  for (;;) {
    const crd = await ext.readCustomResourceDefinition({ name });
    if (crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) break;
    if (Date.now() > deadline) throw new Error(`${name} not Established`);
    await new Promise((r) => setTimeout(r, 100));
  }
  await kc.makeApiClient(CustomObjectsApi).createClusterCustomObject({
    group: 'crd.projectcalico.org',
    version: 'v1',
    plural: 'clusterinformations',
    body: {
      apiVersion: 'crd.projectcalico.org/v1',
      kind: 'ClusterInformation',
      metadata: { name: 'default' },
      spec: {
        datastoreReady: true,
        clusterGUID: 'alpbench0000000000000000000001',
        clusterType: 'k8s,kdd',
        calicoVersion: 'bench',
      },
    },
  });
}

export interface BenchApi {
  readonly env: Envtest;
  readonly kc: KubeConfig;
  readonly port: number;
  /** How long filling the cluster took. */
  readonly fillMs: number;
  createPolicies(): Promise<number>;
  /** Deletes every NetworkPolicy, one collection call per namespace. */
  deletePolicies(): Promise<void>;
  /** Sets bench-edit's port; resolves when the API server has answered. */
  setEditOpen(isOpen: boolean): Promise<void>;
  /** Adds or removes joined=yes on bench-joiner. */
  setJoined(isJoined: boolean): Promise<void>;
  stop(): Promise<void>;
}

/** The two edits the benchmarks time, on an API server that holds `cluster`. */
export function benchEdits(
  kc: KubeConfig,
  cluster: DataplaneCluster,
): Pick<BenchApi, 'setEditOpen' | 'setJoined'> {
  const net = kc.makeApiClient(NetworkingV1Api);
  const core = kc.makeApiClient(CoreV1Api);
  return {
    async setEditOpen(isOpen) {
      const body = editPolicy(isOpen);
      await net.patchNamespacedNetworkPolicy(
        { name: 'bench-edit', namespace: 'ns-2', body: { spec: body['spec'] } },
        mergePatch,
      );
    },
    async setJoined(isJoined) {
      const { name, namespace } = cluster.joiner;
      await core.patchNamespacedPod(
        { name, namespace, body: { metadata: { labels: { joined: isJoined ? 'yes' : null } } } },
        mergePatch,
      );
    },
  };
}

export async function startBenchApi(cluster: DataplaneCluster): Promise<BenchApi> {
  const env = await startEnvtest({ build: false });
  const kc = env.kubeConfig();
  try {
    const t0 = performance.now();
    await createClusterInformation(kc);
    await createNode(kc, BENCH_NODE);
    for (const ns of cluster.namespaces) await createObject(kc, ns as KubernetesObject);
    await inParallel(cluster.pods, 16, async (p) => {
      await createPod(kc, p.namespace, { name: p.name, labels: { ...p.labels }, nodeName: p.nodeName });
      await setPodStatus(kc, p.namespace, p.name, { podIPs: [p.ip] });
    });
    const net = kc.makeApiClient(NetworkingV1Api);
    const createPolicies = async (): Promise<number> => {
      const t = performance.now();
      await inParallel(
        cluster.policies,
        16,
        async (p) => void (await createObject(kc, p as KubernetesObject)),
      );
      return performance.now() - t;
    };
    await createPolicies();
    const fillMs = performance.now() - t0;
    return {
      env,
      kc,
      port: Number(new URL(env.server).port),
      fillMs,
      createPolicies,
      async deletePolicies() {
        await Promise.all(
          cluster.namespaces.map((ns) =>
            net.deleteCollectionNamespacedNetworkPolicy({
              namespace: (ns['metadata'] as { name: string }).name,
            }),
          ),
        );
      },
      ...benchEdits(kc, cluster),
      stop: () => env.stop(),
    };
  } catch (err) {
    await env.stop();
    throw err;
  }
}
