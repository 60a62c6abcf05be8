// The Kubernetes datastore lists pods as protobuf and reads only the fields alp-node uses into a
// JSON-shaped projection (kube/pod-protobuf.ts). Against a real kube-apiserver: for pods using
// every field alp-node reads, and one full of fields it skips, each projected pod parses to
// exactly the model its JSON gives, and a paginated list's metadata (resourceVersion, continue,
// remainingItemCount) comes through the same.
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import type { AddressInfo } from 'node:net';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { pino } from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { PodInfo } from '../../agent/calc/cluster-model.js';
import { parsePod } from '../../agent/datastore/k8s-objects.js';
import { KubernetesDatastore } from '../../agent/datastore/kubernetes.js';
import { objectRef } from '../../agent/datastore/parse-object.js';
import { getBody, getJson } from '../../kube/api-client.js';
import { listObject } from '../../kube/list-pages.js';
import { decodePodList, PROTOBUF_CONTENT_TYPE } from '../../kube/pod-protobuf.js';
import { describeWithApiServer } from '../harness/envtest/api-server-gate.js';
import { createObject, deleteNamespace, podCreator, setPodStatus, uniqueName } from '../harness/kube.js';

const FINALIZER = 'alp-mesh.io/test-keep';

describeWithApiServer('pod lists as protobuf', (api) => {
  let kc: KubeConfig;
  let ns: string;
  const node = uniqueName('node');

  beforeAll(async () => {
    kc = api.kubeConfig();
    ns = uniqueName('alp-podproto');
    await createObject(kc, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    const pod = podCreator(kc, ns, node);
    await pod(
      'full',
      {
        serviceAccountName: 'api',
        initContainers: [
          {
            name: 'init',
            image: 'registry.invalid/init:0',
            ports: [
              { name: 'init-port', containerPort: 7000, protocol: 'SCTP' },
              { containerPort: 7001, protocol: 'UDP' },
            ],
          },
        ],
        containers: [
          {
            name: 'app',
            image: 'registry.invalid/app:0',
            ports: [
              { name: 'http', containerPort: 8080 },
              { name: 'dns', containerPort: 53, protocol: 'UDP' },
              { name: 'sig', containerPort: 3868, protocol: 'SCTP' },
              { containerPort: 9090 },
            ],
          },
          { name: 'dikastes', image: 'registry.invalid/dikastes:0' },
        ],
      },
      {
        labels: { app: 'full', 'example.com/tier': 'web', empty: '' },
        annotations: { note: 'ünïcødé ✓ — 日本', 'alp-mesh.io/policy-sync': 'false' },
      },
    );
    await setPodStatus(kc, ns, 'full', { podIPs: ['198.51.100.7', '2001:db8::7'] });
    await pod('host', { hostNetwork: true, serviceAccount: 'legacy' });
    await setPodStatus(kc, ns, 'host', { podIPs: ['192.0.2.5'] });
    await pod('done', {});
    await setPodStatus(kc, ns, 'done', { podIPs: ['198.51.100.8'], phase: 'Succeeded' });
    await pod('failed', {});
    await setPodStatus(kc, ns, 'failed', { podIPs: ['198.51.100.11'], phase: 'Failed' });
    await pod('annotated', {}, { annotations: { 'alp-mesh.io/policy-sync': 'true' } });
    await pod('pending', {});
    await pod('calico-ip', {}, { annotations: { 'cni.projectcalico.org/podIP': '198.51.100.9/32' } });
    await pod(
      'calico-ips',
      {},
      { annotations: { 'cni.projectcalico.org/podIPs': '198.51.100.10/32,2001:db8::10/128' } },
    );
    // Deleting, kept by a finalizer; Calico's CNI blanked its IP: finished.
    await pod(
      'deleting',
      {},
      { finalizers: [FINALIZER], annotations: { 'cni.projectcalico.org/podIP': '' } },
    );
    await pod('deleting-running', {}, { finalizers: [FINALIZER] });
    await setPodStatus(kc, ns, 'deleting-running', { podIPs: ['198.51.100.12'] });
    const core = kc.makeApiClient(CoreV1Api);
    await core.deleteNamespacedPod({ namespace: ns, name: 'deleting' });
    await core.deleteNamespacedPod({ namespace: ns, name: 'deleting-running' });
    // Everything alp-node skips: volumes, env, probes, resources, tolerations, affinity, owner
    // references, a large annotation, plus the managedFields every write adds.
    await pod(
      'bulky',
      {
        volumes: [
          { name: 'scratch', emptyDir: {} },
          { name: 'cfg', configMap: { name: 'cfg', items: [{ key: 'a', path: 'a' }] } },
        ],
        containers: [
          {
            name: 'app',
            image: 'registry.invalid/app:0',
            command: ['/bin/app', '--serve'],
            args: Array.from({ length: 20 }, (_, i) => `--flag-${i}=value-${i}`),
            env: Array.from({ length: 40 }, (_, i) => ({ name: `VAR_${i}`, value: `value ${i}` })),
            ports: [{ name: 'metrics', containerPort: 9100, hostPort: 9100, hostIP: '0.0.0.0' }],
            resources: { requests: { cpu: '100m', memory: '64Mi' }, limits: { memory: '128Mi' } },
            readinessProbe: { httpGet: { path: '/ready', port: 9100 }, periodSeconds: 5 },
            volumeMounts: [{ name: 'scratch', mountPath: '/tmp' }],
            securityContext: { runAsNonRoot: true, runAsUser: 1000 },
          },
        ],
        tolerations: [
          { key: 'node-role.kubernetes.io/control-plane', operator: 'Exists', effect: 'NoSchedule' },
        ],
        affinity: {
          nodeAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: {
              nodeSelectorTerms: [
                { matchExpressions: [{ key: 'zone', operator: 'In', values: ['a', 'b'] }] },
              ],
            },
          },
        },
        terminationGracePeriodSeconds: 5,
        priority: 0,
      },
      {
        annotations: {
          'example.com/blob': 'x'.repeat(100_000),
          'cni.projectcalico.org/podIP': '10.0.0.1/32',
        },
        ownerReferences: [
          {
            apiVersion: 'apps/v1',
            kind: 'ReplicaSet',
            name: 'rs',
            uid: '00000000-0000-0000-0000-000000000001',
          },
        ],
      },
    );
    await setPodStatus(kc, ns, 'bulky', { podIPs: ['198.51.100.13'], hostIP: '192.0.2.1' });
  });

  afterAll(async () => {
    if (kc === undefined) return;
    const core = kc.makeApiClient(CoreV1Api);
    for (const name of ['deleting', 'deleting-running']) {
      try {
        await core.patchNamespacedPod({
          namespace: ns,
          name,
          body: [{ op: 'remove', path: '/metadata/finalizers' }],
        });
      } catch {
        // already gone
      }
    }
    await deleteNamespace(kc, ns);
  });

  const path = () => `/api/v1/namespaces/${ns}/pods`;
  const asJson = async (query: Record<string, string | number | undefined>) =>
    listObject(await getJson(kc, path(), query), path());
  const asProtobuf = async (query: Record<string, string | number | undefined>) => {
    const answer = await getBody(kc, path(), query, `${PROTOBUF_CONTENT_TYPE}, application/json`);
    expect(answer.contentType).toBe(PROTOBUF_CONTENT_TYPE);
    return decodePodList(answer.body);
  };
  const parsed = (o: unknown) => {
    const r = parsePod(o);
    if (!r.ok) throw new Error(r.reason);
    return r.value;
  };

  it('every projected pod parses to the model its JSON gives, with the same identity', async () => {
    const json = await asJson({});
    const proto = await asProtobuf({
      resourceVersion: json.metadata?.resourceVersion,
      resourceVersionMatch: 'Exact',
    });
    expect(proto.metadata.resourceVersion).toBe(json.metadata?.resourceVersion);
    expect(proto.items.map((p) => p.metadata.name)).toEqual(json.items.map((p) => p.metadata?.name));
    expect(proto.items.length).toBe(11);
    for (const [i, item] of json.items.entries()) {
      const projected = proto.items[i]!;
      expect(parsed(projected), String(item.metadata?.name)).toEqual(parsed(item));
      expect(objectRef(projected)).toEqual(objectRef({ ...item, apiVersion: 'v1', kind: 'Pod' }));
    }
    // The fixture reached what it meant to cover (so the comparison compared something).
    const by = new Map(proto.items.map((p) => [p.metadata.name, parsed(p)]));
    expect(by.get('full')).toMatchObject({
      serviceAccount: 'api',
      ips: ['198.51.100.7', '2001:db8::7'],
      hasSidecar: true,
      namedPorts: [
        { name: 'http', protocol: 'tcp', port: 8080 },
        { name: 'dns', protocol: 'udp', port: 53 },
        { name: 'sig', protocol: 'sctp', port: 3868 },
        { name: 'init-port', protocol: 'sctp', port: 7000 },
      ],
    });
    expect(Object.fromEntries(by.get('full')!.labels)).toEqual({
      app: 'full',
      'example.com/tier': 'web',
      empty: '',
    });
    expect(by.get('host')).toMatchObject({ hostNetwork: true, serviceAccount: 'legacy', ips: ['192.0.2.5'] });
    expect(by.get('done')?.finished).toBe(true);
    expect(by.get('failed')?.finished).toBe(true);
    expect(by.get('annotated')?.hasSidecar).toBe(true);
    expect(by.get('pending')?.ips).toEqual([]);
    expect(by.get('calico-ip')?.ips).toEqual(['198.51.100.9']);
    expect(by.get('calico-ips')?.ips).toEqual(['198.51.100.10', '2001:db8::10']);
    expect(by.get('deleting')?.finished).toBe(true);
    expect(by.get('deleting-running')).toMatchObject({ finished: false, ips: ['198.51.100.12'] });
    expect(by.get('bulky')).toMatchObject({
      ips: ['198.51.100.13'],
      namedPorts: [{ name: 'metrics', protocol: 'tcp', port: 9100 }],
    });
    const deleting = proto.items.find((p) => p.metadata.name === 'deleting');
    const deletingJson = json.items.find((p) => p.metadata?.name === 'deleting');
    expect(deleting?.metadata.deletionTimestamp).toBe(
      (deletingJson?.metadata as { deletionTimestamp?: unknown } | undefined)?.deletionTimestamp,
    );
  });

  it('a paginated list has the same pages, continue tokens and counts as JSON', async () => {
    const { metadata } = await asJson({ limit: 1 });
    const first = { limit: 5, resourceVersion: metadata?.resourceVersion, resourceVersionMatch: 'Exact' };
    let jsonQuery: Record<string, string | number | undefined> = first;
    let protoQuery: Record<string, string | number | undefined> = first;
    let pages = 0;
    for (;;) {
      const json = await asJson(jsonQuery);
      const proto = await asProtobuf(protoQuery);
      pages++;
      const jsonMeta = json.metadata as {
        resourceVersion?: string;
        continue?: string;
        remainingItemCount?: number;
      };
      expect(proto.metadata).toEqual({
        resourceVersion: jsonMeta.resourceVersion,
        ...(jsonMeta.continue === undefined ? {} : { continue: jsonMeta.continue }),
        ...(jsonMeta.remainingItemCount === undefined
          ? {}
          : { remainingItemCount: jsonMeta.remainingItemCount }),
      });
      expect(proto.items.map(parsed)).toEqual(json.items.map(parsed));
      if (jsonMeta.continue === undefined) break;
      jsonQuery = { limit: 5, continue: jsonMeta.continue };
      protoQuery = { limit: 5, continue: proto.metadata.continue };
    }
    expect(pages).toBe(3);
  });

  /**
   * A plain-HTTP front for the API server that passes everything through, except that it can
   * ignore protobuf (ask upstream for JSON only, as a JSON-only server or proxy would) or cut the
   * last bytes off every protobuf pod list answer (a damaged body the HTTP layer cannot notice).
   */
  async function front(mode: 'json-only' | 'damage-pod-lists') {
    const upstream = new URL(kc.getCurrentCluster()!.server);
    const auth: RequestOptions = {};
    await kc.applyToHTTPSOptions(auth);
    const podListAccepts: string[] = [];
    const server = createServer((req, res) => {
      const isPodList = /^\/api\/v1\/pods(\?|$)/.test(req.url ?? '') && !(req.url ?? '').includes('watch=');
      const headers: IncomingHttpHeaders = {
        ...req.headers,
        ...(auth.headers as IncomingHttpHeaders),
        host: upstream.host,
      };
      if (isPodList) podListAccepts.push(String(req.headers.accept));
      if (mode === 'json-only') headers.accept = 'application/json';
      const up = httpsRequest(
        {
          ...auth,
          hostname: upstream.hostname,
          port: upstream.port,
          path: req.url,
          method: req.method,
          headers,
        },
        (answer) => {
          const isProtobuf = (answer.headers['content-type'] ?? '').startsWith(PROTOBUF_CONTENT_TYPE);
          if (!(mode === 'damage-pod-lists' && isPodList && isProtobuf)) {
            res.writeHead(answer.statusCode ?? 502, answer.headers);
            answer.pipe(res);
            return;
          }
          const chunks: Buffer[] = [];
          answer.on('data', (c: Buffer) => chunks.push(c));
          answer.on('end', () => {
            const body = Buffer.concat(chunks);
            const cut = body.subarray(0, body.length - 7);
            res.writeHead(answer.statusCode ?? 502, {
              'content-type': PROTOBUF_CONTENT_TYPE,
              'content-length': cut.length,
            });
            res.end(cut);
          });
        },
      );
      up.on('error', () => res.destroy());
      req.pipe(up);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const frontKc = new KubeConfig();
    frontKc.loadFromOptions({
      clusters: [
        {
          name: 'front',
          server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
          skipTLSVerify: true, // client-node's condition for plain HTTP
        },
      ],
      users: [{ name: 'front' }],
      contexts: [{ name: 'front', cluster: 'front', user: 'front' }],
      currentContext: 'front',
    });
    return {
      kc: frontKc,
      podListAccepts,
      close: () =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    };
  }

  /** The pods of the fixture's namespace the datastore delivers from its first list, and its warnings. */
  async function firstListThrough(through: KubeConfig) {
    const warnings: string[] = [];
    const log = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(line) });
    const datastore = new KubernetesDatastore({
      kubeConfig: through,
      log,
      nodeName: node,
      reportEvents: false,
    });
    const pods = new Map<string, PodInfo>();
    try {
      await datastore.start({
        onEvent: (e) => {
          if (e.type === 'upsert' && e.resource.kind === 'Pod' && e.resource.pod.namespace === ns)
            pods.set(e.resource.pod.name, e.resource.pod);
        },
        // The API server is shared with other test files, whose objects (some refused on
        // purpose) this cluster-wide datastore sees too: only this file's namespace counts.
        onRejected: (ref, reason) => {
          if (ref.namespace === ns) throw new Error(`refused ${ref.name}: ${reason}`);
        },
        onWarning: () => undefined,
      });
    } finally {
      await datastore.close();
    }
    return { pods, warnings };
  }

  async function podsFromJson() {
    const json = await asJson({});
    return new Map(json.items.map((p) => [String(p.metadata?.name), parsed(p)]));
  }

  it('a damaged protobuf list is listed again as JSON: every pod arrives, with a warning', async () => {
    const f = await front('damage-pod-lists');
    try {
      const { pods, warnings } = await firstListThrough(f.kc);
      expect(pods).toEqual(await podsFromJson());
      expect(pods.size).toBe(11);
      expect(warnings.join('\n')).toContain('cannot read the protobuf pod list; listing as JSON');
      expect(f.podListAccepts).toEqual([`${PROTOBUF_CONTENT_TYPE}, application/json`, 'application/json']);
    } finally {
      await f.close();
    }
  });

  it('a server that answers JSON only gets the same pods from its JSON', async () => {
    const f = await front('json-only');
    try {
      const { pods, warnings } = await firstListThrough(f.kc);
      expect(pods).toEqual(await podsFromJson());
      // Nothing about the pod list; other files' refused objects may be logged meanwhile.
      expect(warnings.filter((w) => w.includes('pod list'))).toEqual([]);
    } finally {
      await f.close();
    }
  });

  it('an error answer to a protobuf request keeps its status and message', async () => {
    await expect(
      getBody(
        kc,
        `/api/v1/namespaces/${ns}/pods/no-such-pod`,
        {},
        `${PROTOBUF_CONTENT_TYPE}, application/json`,
      ),
    ).rejects.toMatchObject({ code: 404, body: expect.stringContaining('no-such-pod') as unknown });
  });
});
