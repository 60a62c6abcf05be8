// alp-node against a real kube-apiserver (envtest): Pods, Namespaces, ServiceAccounts, Calico and
// Kubernetes policies created and changed through the API; a real Dikastes sidecar on the pod's
// driverless socket answers real ext_authz Checks.
import {
  CoreV1Api,
  NetworkingV1Api,
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { KubernetesDatastore } from '../../agent/datastore/kubernetes.js';
import { socketPath } from '../../agent/pod-sockets.js';
import { describeWithApiServer } from '../harness/envtest/api-server-gate.js';
import {
  applyObject,
  createNamespace,
  createObject,
  deleteNamespace,
  setPodStatus,
  uniqueName,
  waitFor as waitForValue,
} from '../harness/kube.js';
import { fileExists, waitFor } from '../harness/process.js';
import type { AgentUnderTest, RequestShape } from './agent-fixture.js';
import { RawStream, Sidecar, startAgent, testLogger } from './agent-fixture.js';

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

describeWithApiServer('alp-node on the Kubernetes datastore', (api) => {
  let kc: KubeConfig;
  let core: CoreV1Api;
  let ns: string;
  let peerNs: string;
  let agent: AgentUnderTest;
  let sidecar: Sidecar;
  let webUid: string;
  const node = uniqueName('node');
  const team = uniqueName('team');
  const ips = { web: '203.0.113.10', client: '203.0.113.11', other: '203.0.113.12', peer: '203.0.113.13' };
  const principal = (sa: string) => `spiffe://cluster.local/ns/${ns}/sa/${sa}`;
  const fromClient = (extra: Partial<RequestShape> = {}): RequestShape => ({
    sourceIp: ips.client,
    principal: principal('client'),
    destinationIp: ips.web,
    ...extra,
  });
  const fromOther = (extra: Partial<RequestShape> = {}): RequestShape => ({
    sourceIp: ips.other,
    principal: principal('other'),
    destinationIp: ips.web,
    ...extra,
  });

  async function pod(
    namespace: string,
    name: string,
    opts: { node: string; sa: string; labels: Record<string, string>; ip: string; sidecar: boolean },
  ) {
    const created = await createObject(kc, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace, labels: opts.labels },
      spec: {
        nodeName: opts.node,
        serviceAccountName: opts.sa,
        containers: [
          { name: 'app', image: 'registry.invalid/app:0' },
          ...(opts.sidecar ? [{ name: 'dikastes', image: 'registry.invalid/dikastes:0' }] : []),
        ],
      },
    });
    await setPodStatus(kc, namespace, name, { podIPs: [opts.ip] });
    return (created as { metadata?: { uid?: string } }).metadata?.uid ?? '';
  }

  async function serviceAccount(namespace: string, name: string, labels: Record<string, string> = {}) {
    await createObject(kc, {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name, namespace, labels },
    });
  }

  const calicoPolicy = (name: string, spec: Record<string, unknown>) => ({
    apiVersion: 'crd.projectcalico.org/v1',
    kind: 'NetworkPolicy',
    metadata: { name, namespace: ns },
    spec: { selector: "app == 'web'", ...spec },
  });

  beforeAll(async () => {
    kc = api.kubeConfig();
    core = kc.makeApiClient(CoreV1Api);
    ns = await createNamespace(kc, 'alp');
    peerNs = await createNamespace(kc, 'alp-peer');
    for (const sa of ['web', 'client', 'other']) await serviceAccount(ns, sa);
    await serviceAccount(peerNs, 'peer');
    webUid = await pod(ns, 'web', { node, sa: 'web', labels: { app: 'web' }, ip: ips.web, sidecar: true });
    await pod(ns, 'client', {
      node: 'elsewhere',
      sa: 'client',
      labels: { role: 'client' },
      ip: ips.client,
      sidecar: false,
    });
    await pod(ns, 'other', {
      node: 'elsewhere',
      sa: 'other',
      labels: { role: 'other' },
      ip: ips.other,
      sidecar: false,
    });
    await pod(peerNs, 'peer', {
      node: 'elsewhere',
      sa: 'peer',
      labels: { role: 'peer' },
      ip: ips.peer,
      sidecar: false,
    });
    // Listed (not watched) at start-up: the path where client-node's typed lists rename fields.
    await createObject(kc, {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'pre-existing', namespace: ns },
      spec: {
        podSelector: { matchLabels: { app: 'web' } },
        ingress: [{ from: [{ podSelector: { matchLabels: { role: 'client' } } }], ports: [{ port: 9090 }] }],
      },
    });
    agent = await startAgent({
      nodeName: node,
      datastore: new KubernetesDatastore({
        kubeconfigPath: api.kubeconfigPath,
        log: testLogger(),
        nodeName: node,
      }),
      layout: 'driverless',
    });
    await waitFor('the web pod’s socket', () => fileExists(socketPath(agent.prefix, webUid)));
    sidecar = new Sidecar(agent.dir, 'web', socketPath(agent.prefix, webUid));
    await sidecar.waitReady();
  });

  afterAll(async () => {
    await sidecar?.stop();
    await agent?.close();
    if (kc !== undefined) {
      await deleteNamespace(kc, ns);
      await deleteNamespace(kc, peerNs);
    }
  });

  it('a Kubernetes NetworkPolicy that existed before alp-node started keeps its peers', async () => {
    const tcp9090 = (sourceIp: string): RequestShape => ({
      sourceIp,
      destinationIp: ips.web,
      port: 9090,
      method: null,
    });
    expect(await sidecar.check(tcp9090(ips.client))).toBe(0);
    expect(await sidecar.check(tcp9090(ips.other))).toBe(7);
    await kc
      .makeApiClient(NetworkingV1Api)
      .deleteNamespacedNetworkPolicy({ name: 'pre-existing', namespace: ns });
    await sidecar.waitForCode(tcp9090(ips.other), 0, 'the namespace profile once the policy is gone');
  });

  it('without a policy, the namespace profile allows', async () => {
    expect(await sidecar.check(fromClient())).toBe(0);
  });

  it('a Calico NetworkPolicy with service-account and HTTP rules decides', async () => {
    await applyObject(
      kc,
      calicoPolicy('web', {
        ingress: [
          { action: 'Allow', source: { serviceAccounts: { names: ['client'] } }, http: { methods: ['GET'] } },
        ],
      }),
    );
    await sidecar.waitForCode(fromClient({ method: 'POST' }), 7, 'POST refused');
    expect(await sidecar.check(fromClient())).toBe(0);
    expect(await sidecar.check(fromOther())).toBe(7);
  });

  it('editing the policy changes the verdict', async () => {
    await applyObject(
      kc,
      calicoPolicy('web', {
        ingress: [
          {
            action: 'Allow',
            source: { serviceAccounts: { names: ['client'] } },
            http: { methods: ['POST'] },
          },
        ],
      }),
    );
    await sidecar.waitForCode(fromClient({ method: 'GET' }), 7, 'GET refused after the edit');
    expect(await sidecar.check(fromClient({ method: 'POST' }))).toBe(0);
  });

  it('relabelling a pod changes IP set membership', async () => {
    await applyObject(
      kc,
      calicoPolicy('web', { ingress: [{ action: 'Allow', source: { selector: "role == 'client'" } }] }),
    );
    const plain = fromClient({ principal: '' });
    await sidecar.waitForCode(plain, 0, 'client allowed by its label');
    await core.patchNamespacedPod(
      { name: 'client', namespace: ns, body: { metadata: { labels: { role: 'gone' } } } },
      mergePatch,
    );
    await sidecar.waitForCode(plain, 7, 'client refused once relabelled');
    await core.patchNamespacedPod(
      { name: 'client', namespace: ns, body: { metadata: { labels: { role: 'client' } } } },
      mergePatch,
    );
    await sidecar.waitForCode(plain, 0, 'client allowed again');
  });

  it('namespace labels reach namespaceSelector rules', async () => {
    await applyObject(
      kc,
      calicoPolicy('web', {
        ingress: [{ action: 'Allow', source: { namespaceSelector: `team == '${team}'` } }],
      }),
    );
    const fromPeer = { sourceIp: ips.peer, destinationIp: ips.web };
    await sidecar.waitForCode(fromPeer, 7, 'peer refused while its namespace is unlabelled');
    await core.patchNamespace({ name: peerNs, body: { metadata: { labels: { team } } } }, mergePatch);
    await sidecar.waitForCode(fromPeer, 0, 'peer allowed once its namespace is labelled');
  });

  it('a Kubernetes NetworkPolicy with ports allows only those ports; without ports, any', async () => {
    const tcp = (port: number): RequestShape => ({
      sourceIp: ips.client,
      destinationIp: ips.web,
      port,
      method: null,
    });
    const knp = (ports: unknown[] | undefined) => ({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'web-knp', namespace: ns },
      spec: {
        podSelector: { matchLabels: { app: 'web' } },
        ingress: [
          { from: [{ podSelector: { matchLabels: { role: 'client' } } }], ...(ports ? { ports } : {}) },
        ],
      },
    });
    // The KNP (order 1000) is evaluated before the Calico policy (no order), which admits only the peer.
    await applyObject(kc, knp([{ protocol: 'TCP', port: 80 }]));
    await sidecar.waitForCode(tcp(80), 0, 'client allowed on port 80 by the KNP');
    await kc.makeApiClient(CustomObjectsApi).deleteNamespacedCustomObject({
      group: 'crd.projectcalico.org',
      version: 'v1',
      plural: 'networkpolicies',
      namespace: ns,
      name: 'web',
    });
    await sidecar.waitForCode(
      { ...tcp(80), sourceIp: ips.peer },
      7,
      'peer refused once only the KNP is left',
    );
    expect(await sidecar.check(tcp(8080))).toBe(7);
    expect(await sidecar.check({ ...tcp(80), sourceIp: ips.other })).toBe(7);
    await applyObject(kc, knp(undefined));
    await sidecar.waitForCode(tcp(8080), 0, 'any port once the KNP names none');
  });

  it('an invalid policy is refused with a Kubernetes Event and changes nothing', async () => {
    const before = await sidecar.check({
      sourceIp: ips.client,
      destinationIp: ips.web,
      port: 80,
      method: null,
    });
    // A path with both exact and prefix: the CRD's schema lets it through, Calico's validator
    // (and so the agent) refuses it. Applied, it would deny everything first (order 1).
    await applyObject(
      kc,
      calicoPolicy('bad', {
        order: 1,
        selector: 'all()',
        ingress: [{ action: 'Allow', http: { paths: [{ exact: '/a', prefix: '/b' }] } }, { action: 'Deny' }],
      }),
    );
    const event = await waitForValue('the InvalidPolicy event', async () => {
      const list = await core.listNamespacedEvent({ namespace: ns });
      return list.items.find((e) => e.reason === 'InvalidPolicy' && e.involvedObject.name === 'bad');
    });
    expect(event.message).toContain("Both 'exact' and 'prefix' are set");
    expect(event.type).toBe('Warning');
    expect(
      await sidecar.check({ sourceIp: ips.client, destinationIp: ips.web, port: 80, method: null }),
    ).toBe(before);
  });

  it('deleting the pod sends WorkloadEndpointRemove and ends the stream', async () => {
    // One stream per pod, the newest wins (as in Felix): a sidecar still dialling this socket
    // would reconnect and take over from the stream under test.
    await sidecar.stop();
    const stream = new RawStream(socketPath(agent.prefix, webUid));
    try {
      await waitFor('InSync', () => stream.kinds().includes('in_sync'));
      await core.deleteNamespacedPod({ name: 'web', namespace: ns, gracePeriodSeconds: 0 });
      await waitFor('the stream to end', () => stream.ended || stream.error !== null);
      expect({ last: stream.kinds().at(-1), error: stream.error?.message ?? null }).toEqual({
        last: 'workload_endpoint_remove',
        error: null,
      });
      await waitFor('the socket to go', () => !fileExists(socketPath(agent.prefix, webUid)));
    } finally {
      stream.close();
    }
  });
});
