// The Kubernetes datastore lists Pods, Namespaces and ServiceAccounts as the API server's plain
// JSON (getJson) rather than through client-node's typed models. Against a real kube-apiserver:
// every object parses to exactly the model the typed list gave, for objects using every field the
// agent reads; and the datastore delivers those models from its first list.
import { CoreV1Api, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ClusterResource, ResourceEvent } from '../../agent/calc/cluster-model.js';
import { KubernetesDatastore } from '../../agent/datastore/kubernetes.js';
import { parseClusterObject } from '../../agent/datastore/parse-object.js';
import { getJson } from '../../kube/api-client.js';
import { listObject } from '../../kube/list-pages.js';
import { describeWithApiServer } from '../harness/envtest/api-server-gate.js';
import { createObject, deleteNamespace, podCreator, setPodStatus, uniqueName } from '../harness/kube.js';
import { testLogger } from './agent-fixture.js';

/** What the agent makes of a listed object, by namespace/name. */
function parsedByName(items: readonly KubernetesObject[], apiVersion: string, kind: string) {
  const out = new Map<string, ClusterResource>();
  for (const item of items) {
    const parsed = parseClusterObject({ ...item, apiVersion, kind });
    if (parsed.kind !== 'resource') throw new Error(`${kind} ${item.metadata?.name}: ${parsed.kind}`);
    out.set(`${item.metadata?.namespace ?? ''}/${item.metadata?.name ?? ''}`, parsed.resource);
  }
  return out;
}

describeWithApiServer('raw lists of the Kubernetes datastore', (api) => {
  let kc: KubeConfig;
  let ns: string;
  const node = uniqueName('node');

  beforeAll(async () => {
    kc = api.kubeConfig();
    ns = uniqueName('alp-raw');
    await createObject(kc, {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: ns, labels: { team: 'blue', 'example.com/tier': 'web' } },
    });
    await createObject(kc, {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: 'api', namespace: ns, labels: { role: 'backend' } },
    });
    const pod = podCreator(kc, ns, node);
    await pod('full', {
      serviceAccountName: 'api',
      initContainers: [
        {
          name: 'init',
          image: 'registry.invalid/init:0',
          ports: [{ name: 'init-port', containerPort: 7000, protocol: 'SCTP' }],
        },
      ],
      containers: [
        {
          name: 'app',
          image: 'registry.invalid/app:0',
          ports: [
            { name: 'http', containerPort: 8080 },
            { name: 'dns', containerPort: 53, protocol: 'UDP' },
            { containerPort: 9090 },
          ],
        },
        { name: 'dikastes', image: 'registry.invalid/dikastes:0' },
      ],
    });
    await setPodStatus(kc, ns, 'full', { podIPs: ['198.51.100.7', '2001:db8::7'] });
    await pod('host', { hostNetwork: true });
    await setPodStatus(kc, ns, 'host', { podIPs: ['192.0.2.5'] });
    await pod('done', {});
    await setPodStatus(kc, ns, 'done', { podIPs: ['198.51.100.8'], phase: 'Succeeded' });
    await pod('annotated', {}, { annotations: { 'alp-mesh.io/policy-sync': 'true' } });
    await pod('pending', {});
    await pod('calico-ip', {}, { annotations: { 'cni.projectcalico.org/podIP': '198.51.100.9/32' } });
  });

  afterAll(async () => {
    if (kc !== undefined) await deleteNamespace(kc, ns);
  });

  it('parse to exactly the models the typed lists gave, kind by kind', async () => {
    const core = kc.makeApiClient(CoreV1Api);
    const raw = async (path: string) => listObject(await getJson(kc, path, { limit: 500 }), path).items;
    const inNs = (items: readonly KubernetesObject[]) =>
      items.filter((o) => o.metadata?.namespace === ns || o.metadata?.name === ns);
    const kinds = [
      ['Pod', '/api/v1/pods', async () => (await core.listPodForAllNamespaces()).items],
      ['Namespace', '/api/v1/namespaces', async () => (await core.listNamespace()).items],
      [
        'ServiceAccount',
        '/api/v1/serviceaccounts',
        async () => (await core.listServiceAccountForAllNamespaces()).items,
      ],
    ] as const;
    for (const [kind, path, typed] of kinds) {
      const before = parsedByName(inNs((await typed()) as KubernetesObject[]), 'v1', kind);
      const after = parsedByName(inNs(await raw(path)), 'v1', kind);
      expect(before.size).toBeGreaterThan(0);
      expect(after).toEqual(before);
    }
    // The pods' models carry what the fixture set up (so the comparison above compared something).
    const pods = parsedByName(inNs(await raw('/api/v1/pods')), 'v1', 'Pod');
    const full = pods.get(`${ns}/full`);
    expect(full?.kind === 'Pod' && full.pod).toMatchObject({
      serviceAccount: 'api',
      ips: ['198.51.100.7', '2001:db8::7'],
      hasSidecar: true,
      namedPorts: [
        { name: 'http', protocol: 'tcp', port: 8080 },
        { name: 'dns', protocol: 'udp', port: 53 },
        { name: 'init-port', protocol: 'sctp', port: 7000 },
      ],
    });
    const pick = (name: string) => {
      const r = pods.get(`${ns}/${name}`);
      return r?.kind === 'Pod' ? r.pod : null;
    };
    expect(pick('host')?.hostNetwork).toBe(true);
    expect(pick('done')?.finished).toBe(true);
    expect(pick('annotated')?.hasSidecar).toBe(true);
    expect(pick('pending')?.ips).toEqual([]);
    expect(pick('calico-ip')?.ips).toEqual(['198.51.100.9']);
  });

  it('an answer other than 2xx is an API error with its status, as from a generated client', async () => {
    await expect(getJson(kc, '/apis/example.invalid/v1/things', {})).rejects.toMatchObject({ code: 404 });
  });

  it('the datastore delivers those models from its first list', async () => {
    const events: ResourceEvent[] = [];
    const datastore = new KubernetesDatastore({
      kubeConfig: kc,
      log: testLogger(),
      nodeName: node,
      reportEvents: false,
    });
    try {
      await datastore.start({
        onEvent: (e) => events.push(e),
        onRejected: (ref, reason) => {
          throw new Error(`refused ${ref.name}: ${reason}`);
        },
        onWarning: () => undefined,
      });
    } finally {
      await datastore.close();
    }
    const inSync = events.findIndex((e) => e.type === 'in-sync');
    const listed = events.slice(0, inSync).flatMap((e) => (e.type === 'upsert' ? [e.resource] : []));
    const core = kc.makeApiClient(CoreV1Api);
    const typedPods = parsedByName(
      (await core.listNamespacedPod({ namespace: ns })).items as KubernetesObject[],
      'v1',
      'Pod',
    );
    const pods = listed.filter((r) => r.kind === 'Pod' && r.pod.namespace === ns);
    expect(new Map(pods.map((r) => [`${ns}/${r.kind === 'Pod' ? r.pod.name : ''}`, r]))).toEqual(typedPods);
    const namespace = listed.find((r) => r.kind === 'Namespace' && r.namespace.name === ns);
    expect(namespace?.kind === 'Namespace' && Object.fromEntries(namespace.namespace.labels)).toMatchObject({
      team: 'blue',
      'example.com/tier': 'web',
    });
  });
});
