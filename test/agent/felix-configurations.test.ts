// The FelixConfigurations alp-node reads at start-up for PolicySync, against a real API server:
// all of them are listed and our Node's labels pick the selector-scoped one, in Felix's order.
import { CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { readFelixConfigurations } from '../../kube/felix-configurations.js';
import { policySyncSettings } from '../../agent/policy-sync-config.js';
import { describeWithApiServer } from '../harness/envtest/api-server-gate.js';
import { createNode, uniqueName } from '../harness/kube.js';

const CALICO = { group: 'crd.projectcalico.org', version: 'v1', plural: 'felixconfigurations' };
const MERGE = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

describeWithApiServer('FelixConfigurations for PolicySync', (api) => {
  const node = uniqueName('fc-node');
  const label = `${node}-sync`;
  const selected = `${node}-selected`;
  const names = [selected, `node.${node}`];

  const prefixFor = async (nodeName: string): Promise<[string, string]> => {
    const { selection } = await readFelixConfigurations(api.kubeConfig(), nodeName);
    const r = policySyncSettings({ env: {}, felixLayers: selection.layers });
    if (!r.ok) throw new Error(r.error);
    return [r.value.policySyncPathPrefix, r.value.prefixSource];
  };

  beforeAll(async () => {
    const custom = api.kubeConfig().makeApiClient(CustomObjectsApi);
    await createNode(api.kubeConfig(), node, { labels: { [label]: 'on' } });
    await custom.createClusterCustomObject({
      ...CALICO,
      body: {
        apiVersion: 'crd.projectcalico.org/v1',
        kind: 'FelixConfiguration',
        metadata: { name: selected },
        spec: { nodeSelector: `${label} == 'on'`, policySyncPathPrefix: '/run/selected' },
      },
    });
  });

  afterAll(async () => {
    const custom = api.kubeConfig().makeApiClient(CustomObjectsApi);
    for (const name of names)
      await custom.deleteClusterCustomObject({ ...CALICO, name }).catch(() => undefined);
    await api
      .kubeConfig()
      .makeApiClient(CoreV1Api)
      .deleteNode({ name: node })
      .catch(() => undefined);
  });

  it('takes the prefix from the FelixConfiguration whose nodeSelector selects our Node', async () => {
    expect(await prefixFor(node)).toEqual(['/run/selected', 'selector']);
  });

  it('ignores it for a node without the label, and for a node that has no Node object', async () => {
    await api
      .kubeConfig()
      .makeApiClient(CoreV1Api)
      .patchNode({ name: node, body: { metadata: { labels: { [label]: 'off' } } } }, MERGE);
    expect((await prefixFor(node))[1]).not.toBe('selector');
    expect((await prefixFor(uniqueName('absent')))[1]).not.toBe('selector');
  });

  it('lets node.<name> override the selected one', async () => {
    await api
      .kubeConfig()
      .makeApiClient(CoreV1Api)
      .patchNode({ name: node, body: { metadata: { labels: { [label]: 'on' } } } }, MERGE);
    await api
      .kubeConfig()
      .makeApiClient(CustomObjectsApi)
      .createClusterCustomObject({
        ...CALICO,
        body: {
          apiVersion: 'crd.projectcalico.org/v1',
          kind: 'FelixConfiguration',
          metadata: { name: `node.${node}` },
          spec: { policySyncPathPrefix: '/run/node' },
        },
      });
    expect(await prefixFor(node)).toEqual(['/run/node', 'node']);
  });

  it.each(['default', `node.${node}-other`])(
    'refuses a nodeSelector on the %s FelixConfiguration, as Calico does',
    async (name) => {
      const create = api
        .kubeConfig()
        .makeApiClient(CustomObjectsApi)
        .createClusterCustomObject({
          ...CALICO,
          body: {
            apiVersion: 'crd.projectcalico.org/v1',
            kind: 'FelixConfiguration',
            metadata: { name },
            spec: { nodeSelector: 'all()' },
          },
        });
      const outcome = await create.then(
        () => null,
        (err: unknown) => String(err),
      );
      // Never leave a selector-scoped `default` behind for the other tests on this server.
      if (outcome === null)
        await api
          .kubeConfig()
          .makeApiClient(CustomObjectsApi)
          .deleteClusterCustomObject({ ...CALICO, name });
      expect(outcome).toMatch(/nodeSelector must not be set/);
    },
  );
});
