// Smoke suite for the envtest harness: what alp-node relies on from a real API server works here
// (informers, resourceVersion preconditions, Calico's CRDs, watches surviving a restart).
import {
  CoreV1Api,
  makeInformer,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
  type KubernetesObject,
  type V1Node,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithApiServer } from '../harness/envtest/api-server-gate.js';
import type { Envtest } from '../harness/envtest/envtest.js';
import {
  apiErrorCode,
  applyObject,
  createNamespace,
  createNode,
  deleteNamespace,
  readObject,
  retryOnConflict,
  uniqueName,
  waitFor,
} from '../harness/kube.js';
import { calicoSamples, valueAt } from './calico-samples.js';

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

function nodeInformer(kc: KubeConfig) {
  const core = kc.makeApiClient(CoreV1Api);
  return makeInformer<V1Node>(kc, '/api/v1/nodes', () => core.listNode());
}

describeWithApiServer('envtest API server', (api) => {
  let kc: KubeConfig;
  let core: CoreV1Api;
  let namespace: string;

  beforeAll(async () => {
    kc = api.kubeConfig();
    core = kc.makeApiClient(CoreV1Api);
    namespace = await createNamespace(kc, 'smoke');
  });
  afterAll(async () => {
    if (namespace) await deleteNamespace(kc, namespace);
  });

  it('lists and watches Nodes with an informer: add, update and delete arrive', async () => {
    const [first, second] = [uniqueName('smoke-node'), uniqueName('smoke-node')];
    await createNode(kc, first);
    const informer = nodeInformer(kc);
    const seen: string[] = [];
    informer.on('add', (n) => seen.push(`add ${n.metadata?.name}`));
    informer.on('update', (n) =>
      seen.push(`update ${n.metadata?.name} ${n.metadata?.labels?.['zone'] ?? ''}`),
    );
    informer.on('delete', (n) => seen.push(`delete ${n.metadata?.name}`));
    await informer.start();
    try {
      await waitFor('the listed node in the cache', () => informer.get(first));
      await createNode(kc, second, { internalIPs: ['192.0.2.10'] });
      await waitFor('the new node', () => informer.get(second));
      await core.patchNode({ name: second, body: { metadata: { labels: { zone: 'a' } } } }, mergePatch);
      await waitFor('the label update', () =>
        informer.get(second)?.metadata?.labels?.['zone'] === 'a' ? true : undefined,
      );
      await core.deleteNode({ name: first });
      await waitFor('the delete', () => (informer.get(first) === undefined ? true : undefined));
    } finally {
      await informer.stop();
      await core.deleteNode({ name: second });
    }
    const ours = seen.filter((e) => e.includes(first) || e.includes(second));
    // The status update (InternalIP) is its own event, as a kubelet's would be.
    expect(ours).toEqual([
      `add ${first}`,
      `add ${second}`,
      `update ${second} `,
      `update ${second} a`,
      `delete ${first}`,
    ]);
    expect(informer.get(second)?.status?.addresses).toEqual([{ type: 'InternalIP', address: '192.0.2.10' }]);
  });

  it('rejects a patch with a stale resourceVersion (409) and succeeds after re-reading', async () => {
    const name = uniqueName('smoke-node');
    await createNode(kc, name);
    let stale: V1Node | undefined = await core.readNode({ name });
    // Another writer changes the Node after our read.
    await core.patchNode({ name, body: { metadata: { annotations: { other: 'writer' } } } }, mergePatch);

    const { value, attempts } = await retryOnConflict(async () => {
      const current = stale ?? (await core.readNode({ name }));
      stale = undefined;
      const body = {
        metadata: {
          resourceVersion: current.metadata?.resourceVersion,
          annotations: {
            'projectcalico.org/WireguardPublicKey': 'cGxhY2Vob2xkZXIga2V5IGZvciBhIHRlc3QgICAgIA==',
          },
        },
      };
      return core.patchNode({ name, body }, mergePatch);
    });

    expect(attempts).toBe(2);
    expect(value.metadata?.annotations).toMatchObject({
      other: 'writer',
      'projectcalico.org/WireguardPublicKey': 'cGxhY2Vob2xkZXIga2V5IGZvciBhIHRlc3QgICAgIA==',
    });
    await core.deleteNode({ name });
  });

  it.each(calicoSamples())('applies and reads back a $kind: $rule', async (sample) => {
    const object = sample.build(namespace);
    await applyObject(kc, object);
    const read = await readObject<KubernetesObject & { spec?: unknown }>(kc, {
      apiVersion: 'crd.projectcalico.org/v1',
      kind: sample.kind,
      name: object.metadata?.name ?? '',
      ...(object.metadata?.namespace === undefined ? {} : { namespace: object.metadata.namespace }),
    });
    for (const [path, expected] of Object.entries(sample.expect)) {
      expect(valueAt(read, path), path).toEqual(expected);
    }
  });

  it.each([
    { rule: 'an http match on a Deny rule is rejected', action: 'Deny', protocol: undefined },
    { rule: 'an http match with protocol UDP is rejected', action: 'Allow', protocol: 'UDP' },
  ])('validates policy rules like Calico: $rule', async ({ action, protocol }) => {
    const policy = {
      apiVersion: 'crd.projectcalico.org/v1',
      kind: 'GlobalNetworkPolicy',
      metadata: { name: uniqueName('smoke-invalid') },
      spec: { ingress: [{ action, ...(protocol ? { protocol } : {}), http: { methods: ['GET'] } }] },
    };
    const err: unknown = await applyObject(kc, policy).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(apiErrorCode(err)).toBe(422);
  });
});

describeWithApiServer('envtest API server restart', (api) => {
  let env: Envtest | undefined;
  beforeAll(async () => {
    env = await api.startOwnEnvtest({ installCrds: false });
  });
  afterAll(async () => {
    await env?.stop();
  });

  it('an informer that restarts on error sees Nodes created after kube-apiserver restarts', async () => {
    if (!env) throw new Error('envtest did not start');
    const kc = env.kubeConfig();
    const informer = nodeInformer(kc);
    let connects = 0;
    let stopped = false;
    informer.on('connect', () => connects++);
    // alp-node's pattern: on a watch error, start again after a short back-off.
    informer.on('error', () => {
      if (!stopped) setTimeout(() => void informer.start().catch(() => undefined), 200);
    });
    await informer.start();
    try {
      const before = uniqueName('before-restart');
      await createNode(kc, before);
      await waitFor('the node created before the restart', () => informer.get(before));

      await env.restartApiServer();
      const after = uniqueName('after-restart');
      await createNode(kc, after);

      await waitFor('the node created after the restart', () => informer.get(after), { timeoutMs: 30_000 });
      expect(informer.get(before)).toBeDefined();
      expect(connects).toBeGreaterThan(1);
    } finally {
      stopped = true;
      await informer.stop();
    }
  });
});
