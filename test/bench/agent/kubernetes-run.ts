// The benchmark's Kubernetes leg: the synthetic cluster created in a private envtest API server,
// alp-node on the Kubernetes datastore, and policy edits applied through the API.
import type { KubeConfig } from '@kubernetes/client-node';
import type { KubernetesObject } from '@kubernetes/client-node';
import { KubernetesDatastore } from '../../../agent/datastore/kubernetes.js';
import { silentLogger } from '../../../daemon/log.js';
import { startEnvtest } from '../../harness/envtest/envtest.js';
import { inParallel } from '../../harness/in-parallel.js';
import { applyObject, createObject, setPodStatus } from '../../harness/kube.js';
import type { SyntheticCluster } from './synthetic-cluster.js';
import { editedPolicy } from './synthetic-cluster.js';

/** projectcalico.org/v3 objects are stored as crd.projectcalico.org/v1 in the Kubernetes datastore. */
function asStored(o: Record<string, unknown>): KubernetesObject {
  const apiVersion =
    o['apiVersion'] === 'projectcalico.org/v3' ? 'crd.projectcalico.org/v1' : o['apiVersion'];
  const { status: _status, ...rest } = o;
  return { ...rest, apiVersion } as KubernetesObject;
}

export interface KubernetesLeg {
  readonly datastore: KubernetesDatastore;
  readonly kubeConfig: KubeConfig;
  readonly createMs: number;
  /** The API server assigns pod UIDs; the target's, for its socket path. */
  readonly targetUid: string;
  applyEdit(version: number): void;
  stop(): Promise<void>;
}

/** Starts a private API server and fills it with the cluster; null if envtest is not available. */
export async function startKubernetesLeg(
  cluster: SyntheticCluster,
): Promise<KubernetesLeg | { readonly unavailable: string }> {
  let env;
  try {
    env = await startEnvtest({ build: false });
  } catch (err) {
    return { unavailable: err instanceof Error ? err.message : String(err) };
  }
  const kc = env.kubeConfig();
  const t0 = performance.now();
  const order = ['Namespace', 'ServiceAccount', 'Tier'];
  const first = cluster.objects.filter((o) => order.includes(String(o['kind'])));
  const rest = cluster.objects.filter((o) => !order.includes(String(o['kind'])));
  for (const kind of order)
    await inParallel(
      first.filter((o) => o['kind'] === kind),
      16,
      async (o) => void (await createObject(kc, asStored(o))),
    );
  let targetUid = '';
  await inParallel(rest, 16, async (o) => {
    const created = await createObject(kc, asStored(o));
    if (o['kind'] === 'Pod') {
      const meta = o['metadata'] as { name: string; namespace: string };
      if (meta.name === cluster.target.name && meta.namespace === cluster.target.namespace)
        targetUid = created.metadata?.uid ?? '';
      const status = o['status'] as { podIP: string };
      await setPodStatus(kc, meta.namespace, meta.name, { podIPs: [status.podIP] });
    }
  });
  await createObject(kc, asStored(editedPolicy(0)));
  const createMs = performance.now() - t0;
  return {
    datastore: new KubernetesDatastore({
      kubeConfig: kc,
      log: silentLogger(),
      nodeName: 'bench-node',
      reportEvents: false,
    }),
    kubeConfig: kc,
    createMs,
    targetUid,
    applyEdit: (v) => {
      applyObject(kc, asStored(editedPolicy(v))).catch((err: unknown) =>
        console.error(`edit ${v} failed:`, err),
      );
    },
    stop: () => env.stop(),
  };
}
