// Proves the stand-in proxy (envoy-lite) before it is trusted with dikastes: with Istio's own
// ext-authz sample server as the authorizer, it replays istio.io's "External Authorization" task
// (httpbin + curl, a CUSTOM policy on /headers, the in-pod gRPC provider): deny header → 403 with
// the server's body, allow header → 200 with the server's header added, /ip never checked; the
// sample server logs our CheckRequests with the fields Envoy would send.
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { describeWithE2eTools, findE2eTools } from '../harness/e2e-tools.js';
import { waitFor } from '../harness/kube.js';
import { makeTempDir } from '../harness/temp-dirs.js';
import {
  createUnderlay,
  describeAsRoot,
  nsRun,
  spawnInNamespace,
  type NsProcess,
  type Underlay,
} from '../harness/netns.js';
import { captureInbound, curlThrough, waitForLine } from './pod-tools.js';
import { INBOUND_PORT, proxyConfigFor, type MeshWorld } from './proxy-config.js';
import type { Manifest } from './raw-apply.js';
import { MeshCa } from './spiffe-certs.js';

const tools = await findE2eTools();

// The task's objects (istio.io authz-custom, "deploy the external authorizer" in the pod).
const WORLD_OBJECTS: Manifest[] = [
  {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'httpbin', namespace: 'foo' },
    spec: { selector: { app: 'httpbin' }, ports: [{ name: 'http', port: 8000, targetPort: 8080 }] },
  },
  {
    apiVersion: 'networking.istio.io/v1',
    kind: 'ServiceEntry',
    metadata: { name: 'external-authz-grpc-local', namespace: 'foo' },
    spec: {
      hosts: ['external-authz-grpc.local'],
      endpoints: [{ address: '127.0.0.1' }],
      ports: [{ name: 'grpc', number: 9000, protocol: 'GRPC' }],
      resolution: 'STATIC',
    },
  },
  {
    apiVersion: 'security.istio.io/v1',
    kind: 'PeerAuthentication',
    metadata: { name: 'default', namespace: 'istio-system' },
    spec: { mtls: { mode: 'STRICT' } },
  },
  {
    apiVersion: 'security.istio.io/v1',
    kind: 'AuthorizationPolicy',
    metadata: { name: 'ext-authz', namespace: 'foo' },
    spec: {
      selector: { matchLabels: { app: 'httpbin' } },
      action: 'CUSTOM',
      provider: { name: 'sample-ext-authz-grpc' },
      rules: [{ to: [{ operation: { paths: ['/headers'] } }] }],
    },
  },
];
const MESH = {
  extensionProviders: [
    {
      name: 'sample-ext-authz-grpc',
      envoyExtAuthzGrpc: { service: 'external-authz-grpc.local', port: 9000 },
    },
  ],
};

describeWithE2eTools('the stand-in proxy against Istio’s ext-authz sample server', tools, (t) => {
  describeAsRoot('istio.io External Authorization task, replayed (root, network namespaces)', () => {
    let underlay: Underlay;
    let dir = '';
    let authz: NsProcess;
    let serverProxy: NsProcess;
    const procs: NsProcess[] = [];
    const client = () => (underlay.nodes[0] as { ns: string }).ns;
    const server = () => underlay.nodes[1] as { ns: string; hostIp: string };
    const curl = (path: string, headers: Record<string, string> = {}) =>
      curlThrough(client(), 'http://httpbin.foo:8000' + path, { headers });

    beforeAll(async () => {
      dir = makeTempDir('alp-refauthz'); // holds the CA's and the pods' keys
      // Two "pods" on one bridge: curl at 192.0.2.1, httpbin at 192.0.2.2.
      underlay = await createUnderlay(2);
      const ca = await MeshCa.create(dir);
      const curlId = await ca.issue('foo', 'curl');
      const httpbinId = await ca.issue('foo', 'httpbin');
      const world: MeshWorld = {
        objects: WORLD_OBJECTS,
        pods: [
          { name: 'curl', namespace: 'foo', ip: '192.0.2.1', labels: { app: 'curl' } },
          { name: 'httpbin', namespace: 'foo', ip: '192.0.2.2', labels: { app: 'httpbin' } },
        ],
        mesh: MESH,
      };
      const write = async (name: string, cfg: unknown) => {
        const path = join(dir, name);
        await writeFile(path, stringify(cfg));
        return path;
      };
      const serverCfg = await write('httpbin.yaml', proxyConfigFor(world, world.pods[1] as never, httpbinId));
      const clientCfg = await write('curl.yaml', proxyConfigFor(world, world.pods[0] as never, curlId));

      await captureInbound(server().ns, INBOUND_PORT, [15090, 15021, 15020]);
      procs.push(spawnInNamespace(server().ns, [t.goHttpbin]));
      authz = spawnInNamespace(server().ns, [t.extauthz]);
      procs.push(authz);
      serverProxy = spawnInNamespace(server().ns, [t.envoyLite, '-c', serverCfg]);
      const clientProxy = spawnInNamespace(client(), [t.envoyLite, '-c', clientCfg]);
      procs.push(serverProxy, clientProxy);
      await waitForLine(serverProxy, /"msg":"ready"/);
      await waitForLine(clientProxy, /"msg":"ready"/);
      await waitForLine(authz, /Starting gRPC server/);
      await waitFor('go-httpbin', async () => ((await curl('/ip')).status === 200 ? true : undefined), {
        timeoutMs: 20_000,
      });
    });

    afterAll(async () => {
      for (const p of procs) await p.stop(2_000);
      await underlay?.destroy();
      if (dir !== '') await rm(dir, { recursive: true, force: true });
    });

    it('a path outside the CUSTOM rule is answered by the app, without a Check', async () => {
      const before = authz.lines.length;
      const res = await curl('/ip');
      expect(res.status).toBe(200);
      expect(JSON.parse(res.body)).toEqual({ origin: expect.any(String) });
      expect(authz.lines.slice(before).join('\n')).not.toMatch(/gRPCv3/);
    });

    it('x-ext-authz: deny → 403 with the authorizer’s body and headers', async () => {
      const res = await curl('/headers', { 'x-ext-authz': 'deny' });
      expect(res.status).toBe(403);
      expect(res.body).toBe('denied by ext_authz for not found header `x-ext-authz: allow` in the request');
      expect(res.headers['x-ext-authz-check-result']).toBe('denied');
      await waitForLine(authz, /\[gRPCv3\]\[denied\]/);
    });

    it('x-ext-authz: allow → 200, the authorizer’s header reaches the app, with both SPIFFE identities', async () => {
      const res = await curl('/headers', { 'x-ext-authz': 'allow' });
      expect(res.status).toBe(200);
      const headers = (JSON.parse(res.body) as { headers: Record<string, string[]> }).headers;
      expect(headers['X-Ext-Authz-Check-Result']).toEqual(['allowed']);
      const xfcc = headers['X-Forwarded-Client-Cert']?.[0] ?? '';
      expect(xfcc).toContain('By=spiffe://cluster.local/ns/foo/sa/httpbin');
      expect(xfcc).toContain('URI=spiffe://cluster.local/ns/foo/sa/curl');
      expect(xfcc).toMatch(/Hash=[0-9a-f]{64}/);
    });

    it('the authorizer received the CheckRequest Envoy would send', async () => {
      const line = await waitForLine(authz, /\[gRPCv3\]\[allowed\]/);
      // Go's text form of the AttributeContext the sample server logs.
      expect(line).toMatch(
        /source:\{address:\{socket_address:\{address:"192\.0\.2\.1"\s+port_value:\d+\}\}\s+principal:"spiffe:\/\/cluster\.local\/ns\/foo\/sa\/curl"\}/,
      );
      expect(line).toMatch(
        /destination:\{address:\{socket_address:\{address:"192\.0\.2\.2"\s+port_value:8080\}\}\s+principal:"spiffe:\/\/cluster\.local\/ns\/foo\/sa\/httpbin"\}/,
      );
      expect(line).toMatch(/method:"GET"/);
      expect(line).toMatch(/path:"\/headers"/);
      expect(line).toMatch(/host:"httpbin\.foo:8000"/);
      expect(line).toMatch(/protocol:"HTTP\/1\.1"/);
      expect(line).toMatch(/key:":authority"\s+value:"httpbin\.foo:8000"/);
      expect(line).toMatch(/key:"x-forwarded-client-cert"/);
    });

    it('fails closed: with the authorizer gone, a checked path is 403 and an unchecked one still 200', async () => {
      await authz.stop(2_000);
      expect((await curl('/headers', { 'x-ext-authz': 'allow' })).status).toBe(403);
      expect((await curl('/ip')).status).toBe(200);
    });

    it('refuses a filter config that Envoy would refuse (decoded with Envoy’s own types)', async () => {
      const bad = join(dir, 'bad.yaml');
      await writeFile(
        bad,
        stringify({
          listeners: [
            {
              name: 'in',
              direction: 'inbound',
              listen: '127.0.0.1:0',
              chains: [
                {
                  port: 8080,
                  protocol: 'http',
                  tlsMode: 'DISABLE',
                  extAuthz: [
                    {
                      '@type': 'type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthz',
                      transport_api_version: 'V3',
                      grpc_servic: { envoy_grpc: { cluster_name: 'x' } },
                    },
                  ],
                },
              ],
            },
          ],
        }),
      );
      const out = await nsRun(client(), [t.envoyLite, '-c', bad]).then(
        () => 'started',
        (err: unknown) => String(err),
      );
      expect(out).toMatch(/grpc_servic/);
    });
  });
});
