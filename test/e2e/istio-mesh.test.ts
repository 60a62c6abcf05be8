// examples/istio end to end, as a user of the cluster sees it: httpbin and tcp-echo on node 2 with
// dikastes injected by Istio's own injector, curl clients on both nodes, alp-node on each node
// from the example's DaemonSet with WireGuard on, and the example's policies applied to a real
// kube-apiserver. Envoy is the stand-in envoy-lite (see the README for what that leaves
// unproven). alp-node also enforces the policies at L3/L4 in the kernel, as Felix does beside
// Dikastes: a connection the policy denies whatever its HTTP content (wrong service account, a
// default deny) is dropped by the node before any sidecar sees it, and the client's proxy answers
// 503 (Envoy's "upstream connect error"); an established connection goes on (conntrack), and what
// L4 lets through, the sidecar decides by method and path. Needs root, the WireGuard tools, nft, curl, the API server and the e2e tools.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithE2eTools, findE2eTools } from '../harness/e2e-tools.js';
import { describeWithApiServer } from '../harness/envtest/api-server-gate.js';
import { waitFor } from '../harness/kube.js';
import { describeAsRoot } from '../harness/netns.js';
import { IstioMesh, type WorkloadSpec } from './istio-mesh-fixture.js';
import { exampleManifests } from './istio-example.js';
import { nsRun } from '../harness/netns.js';
import { tcpExchange } from './pod-tools.js';
import type { Manifest } from './raw-apply.js';

const tools = await findE2eTools();

const HTTPBIN = 'http://httpbin.demo:8000';
const WORKLOADS: WorkloadSpec[] = [
  { name: 'httpbin-0', from: 'demo/httpbin.yaml', node: 2, ip: '198.51.100.66' },
  { name: 'tcp-echo-0', from: 'demo/tcp-echo.yaml', node: 2, ip: '198.51.100.67' },
  { name: 'curl-0', from: 'demo/curl.yaml', node: 1, ip: '198.51.100.2' },
  {
    name: 'other-0',
    from: 'demo/curl.yaml',
    node: 1,
    ip: '198.51.100.3',
    serviceAccount: 'other',
    labels: { app: 'other' },
  },
  { name: 'curl-b', from: 'demo/curl.yaml', node: 2, ip: '198.51.100.68' },
];
const WAIT = { timeoutMs: 30_000, intervalMs: 100 };
/** The client's proxy could not connect upstream: the node dropped the connection. */
const DROPPED = 503;

/** A direct TCP connection from a pod, bypassing every proxy: connected, refused or timeout. */
async function connectOutcome(netns: string, host: string, port: number): Promise<string> {
  const script = `
const s = require('node:net').connect({ host: process.argv[1], port: Number(process.argv[2]) });
const done = (what) => { console.log(what); process.exit(0); };
s.on('connect', () => done('connected'));
s.on('error', (e) => done(e.code));
setTimeout(() => done('timeout'), 3000);
`;
  return (await nsRun(netns, [process.execPath, '-e', script, host, String(port)])).trim();
}

describeWithE2eTools('examples/istio end to end', tools, (t) => {
  describeAsRoot('examples/istio end to end (root, network namespaces)', () => {
    describeWithApiServer('examples/istio: two WireGuard nodes, Istio-injected pods, dikastes', (api) => {
      const mesh = new IstioMesh(api, t);
      const timings: string[] = [];

      /** Polls until `from` gets `status` for the request; returns how long the flip took. */
      const waitForStatus = async (from: string, path: string, status: number, method = 'GET') => {
        const started = Date.now();
        await waitFor(
          `${from} ${method} ${path} → ${status}`,
          async () =>
            (await mesh.curl(from, HTTPBIN + path, { method })).status === status ? true : undefined,
          WAIT,
        );
        return Date.now() - started;
      };

      beforeAll(async () => {
        await mesh.start(WORKLOADS);
      }, 900_000);

      afterAll(async () => {
        if (timings.length > 0) console.log(`examples/istio e2e timings:\n  ${timings.join('\n  ')}`);
        await mesh.stop();
      }, 120_000);

      it('no policy selects the pod: the namespace profile allows; a default-deny policy: the open connection gets 403, a new one is dropped by the node', async () => {
        expect((await mesh.curl('curl-0', `${HTTPBIN}/headers`)).status).toBe(200);
        await mesh.applyFile('demo/policy-default-deny.yaml');
        // curl-0's proxy keeps its upstream connection open, and the node lets an established
        // connection go on (conntrack, as Felix does): its requests reach the sidecar, which denies.
        timings.push(`default deny applied → 403: ${await waitForStatus('curl-0', '/headers', 403)} ms`);
        const res = await mesh.curl('curl-0', `${HTTPBIN}/headers`);
        expect(res.status).toBe(403);
        expect(res.headers['x-alp-decision']).toBe('denied');
        const dikastes = mesh.pod('httpbin-0').processes.get('dikastes');
        expect(dikastes?.lines.some((l) => l.includes('request denied'))).toBe(true);
        // A new connection never gets a SYN-ACK: the node drops it.
        await waitFor(
          'a new connection to httpbin to be dropped',
          async () =>
            (await connectOutcome(mesh.pod('curl-b').netns, '198.51.100.66', 8080)) === 'timeout'
              ? true
              : undefined,
          WAIT,
        );
        expect((await mesh.curl('other-0', `${HTTPBIN}/headers`)).status).toBe(DROPPED);
      });

      it('allowed by service account + method + path: 200, and the app sees both SPIFFE identities', async () => {
        await mesh.applyFile('demo/policy-httpbin.yaml');
        timings.push(`policy applied → first 200: ${await waitForStatus('curl-0', '/headers', 200)} ms`);
        const res = await mesh.curl('curl-0', `${HTTPBIN}/headers`);
        expect(res.status).toBe(200);
        const headers = (JSON.parse(res.body) as { headers: Record<string, string[]> }).headers;
        const xfcc = headers['X-Forwarded-Client-Cert']?.[0] ?? '';
        expect(xfcc).toContain('URI=spiffe://cluster.local/ns/demo/sa/curl');
        expect(xfcc).toContain('By=spiffe://cluster.local/ns/demo/sa/httpbin');
        // What L4 lets through, the sidecar decides: a method the policy does not allow is 403.
        const post = await mesh.curl('curl-0', `${HTTPBIN}/headers`, { method: 'POST' });
        expect(post.status).toBe(403);
        expect(post.headers['x-alp-decision']).toBe('denied');
      });

      it('another service account is dropped by the node; a wrong method, wrong paths and path tricks get 403', async () => {
        const cases: [string, string, string, number, boolean?][] = [
          ['other-0', 'GET', '/headers', DROPPED],
          ['curl-0', 'POST', '/headers', 403], // httpbin itself would say 405
          ['curl-0', 'GET', '/status/200', 200],
          ['curl-0', 'GET', '/status/418', 418],
          ['curl-0', 'GET', '/headers?x=1', 200],
          ['curl-0', 'GET', '/headersX', 403],
          ['curl-0', 'GET', '/ip', 403],
          ['curl-0', 'GET', '/status/../ip', 403, true],
          ['curl-0', 'GET', '/status/%2e%2e/ip', 403, true],
          ['curl-0', 'GET', '//headers/../ip', 403, true],
        ];
        const got = [];
        for (const [from, method, path, , pathAsIs] of cases) {
          got.push((await mesh.curl(from, HTTPBIN + path, { method, pathAsIs: pathAsIs === true })).status);
        }
        expect(got).toEqual(cases.map((c) => c[3]));
      });

      it('a stolen certificate does not help: curl’s identity from other-0’s address is dropped by the node (the IP-set half of the rule, in the kernel)', async () => {
        await mesh.startProxy('other-0', 'curl');
        try {
          expect((await mesh.curl('other-0', `${HTTPBIN}/headers`)).status).toBe(DROPPED);
          // The connection never reached httpbin's proxy.
          const checks = mesh.pod('httpbin-0').processes.get('istio-proxy')?.lines ?? [];
          expect(checks.some((l) => l.includes('"source":"198.51.100.3:'))).toBe(false);
        } finally {
          await mesh.startProxy('other-0');
        }
      });

      it('a policy edit flips the verdict without restarting anything', async () => {
        const pids = [...mesh.pod('httpbin-0').processes.values()].map((p) => p.child.pid);
        const [policy] = await exampleManifests('demo/policy-httpbin.yaml');
        const edited = structuredClone(policy) as Manifest & {
          spec: { ingress: { http: { paths: Record<string, string>[] } }[] };
        };
        edited.spec.ingress[0]?.http.paths.push({ exact: '/ip' });
        await mesh.apply(edited);
        timings.push(`path added → /ip allowed: ${await waitForStatus('curl-0', '/ip', 200)} ms`);
        await mesh.applyFile('demo/policy-httpbin.yaml');
        timings.push(`path removed → /ip denied: ${await waitForStatus('curl-0', '/ip', 403)} ms`);
        expect([...mesh.pod('httpbin-0').processes.values()].map((p) => p.child.pid)).toEqual(pids);
      });

      it('same node and across nodes: both work; across nodes the underlay carries only WireGuard UDP, and the peer byte counter grows', async () => {
        const before = await mesh.wireguardBytesSent(1, '192.0.2.2');
        // Same node: the request reaches httpbin from curl-b's own address, never leaving node 2.
        expect((await mesh.curl('curl-b', `${HTTPBIN}/headers`)).status).toBe(200);
        const inbound = mesh.pod('httpbin-0').processes.get('istio-proxy')?.lines ?? [];
        expect(
          inbound.some((l) => l.includes('"source":"198.51.100.68:') && l.includes('"verdict":"allowed"')),
        ).toBe(true);
        const cross = await mesh.capture('cross-node', async () => {
          expect((await mesh.curl('curl-0', `${HTTPBIN}/headers`)).status).toBe(200);
        });
        expect(cross.lines.length).toBeGreaterThan(0);
        for (const line of cross.lines)
          expect(line).toMatch(/IP 192\.0\.2\.[12]\.51820 > 192\.0\.2\.[12]\.51820: UDP/);
        expect(cross.lines.some((l) => /198\.51\.100\./.test(l))).toBe(false);
        // alp-node reads the device at most once a second for its metrics.
        await waitFor(
          'wireguard_bytes_sent to node 2 to grow',
          async () => ((await mesh.wireguardBytesSent(1, '192.0.2.2')) > before ? true : undefined),
          WAIT,
        );
      });

      it('TCP (network ext_authz): a Kubernetes NetworkPolicy lets curl connect to tcp-echo, and the node drops other’s connection', async () => {
        expect(await tcpExchange(mesh.pod('curl-0').netns, '127.0.0.1', 9000, 'before\n')).toBe('');
        await mesh.applyFile('demo/policy-tcp-echo.yaml');
        await waitFor(
          'tcp-echo to answer curl',
          async () =>
            (await tcpExchange(mesh.pod('curl-0').netns, '127.0.0.1', 9000, 'ping\n')) === 'hello ping\n'
              ? true
              : undefined,
          WAIT,
        );
        expect(await tcpExchange(mesh.pod('other-0').netns, '127.0.0.1', 9000, 'ping\n')).toBe('');
        // Dropped by the node at L4: tcp-echo's proxy never checked it.
        const checks = (mesh.pod('tcp-echo-0').processes.get('istio-proxy')?.lines ?? []).filter((l) =>
          l.includes('"msg":"check"'),
        );
        expect(checks.some((l) => l.includes('sa/other'))).toBe(false);
        expect(checks.some((l) => l.includes('"verdict":"allowed"') && l.includes('sa/curl'))).toBe(true);
      });

      it('fails closed when dikastes dies, and recovers when it is restarted', async () => {
        const pod = mesh.pod('httpbin-0');
        pod.processes.get('dikastes')?.child.kill('SIGKILL');
        await pod.processes.get('dikastes')?.exited;
        const res = await mesh.curl('curl-0', `${HTTPBIN}/headers`);
        expect(res.status).toBe(403);
        expect(res.headers['x-alp-decision']).toBeUndefined();
        const started = Date.now();
        pod.start('dikastes');
        await mesh.waitReady('httpbin-0', 'dikastes');
        await waitForStatus('curl-0', '/headers', 200);
        timings.push(`dikastes restarted → 200 again: ${Date.now() - started} ms`);
      });

      it('the Istio-native CUSTOM wiring: /headers is decided by dikastes, /ip never reaches it', async () => {
        await mesh.removeFile('wiring-envoyfilter/ext-authz.yaml');
        await mesh.applyFile('demo/custom-headers-only.yaml');
        await mesh.startProxy('httpbin-0');
        const proxyLog = () => mesh.pod('httpbin-0').processes.get('istio-proxy')?.lines ?? [];
        expect((await mesh.curl('curl-0', `${HTTPBIN}/headers`)).status).toBe(200);
        expect((await mesh.curl('curl-0', `${HTTPBIN}/headers`, { method: 'POST' })).status).toBe(403);
        // Outside the CUSTOM rules: not checked, so the app answers /ip, which the policy (and so
        // the EnvoyFilter wiring) refuses.
        const ip = await mesh.curl('curl-0', `${HTTPBIN}/ip`);
        expect(ip.status).toBe(200);
        const checks = proxyLog().filter((l) => l.includes('"msg":"check"'));
        expect(
          checks.filter((l) => l.includes('"path":"/ip"')).every((l) => l.includes('"verdict":"skipped"')),
        ).toBe(true);
        expect(checks.some((l) => l.includes('"path":"/headers"') && l.includes('"verdict":"denied"'))).toBe(
          true,
        );
        // Back to the Calico-compatible wiring for the remaining cases.
        await mesh.removeFile('demo/custom-headers-only.yaml');
        await mesh.applyFile('wiring-envoyfilter/ext-authz.yaml');
        await mesh.startProxy('httpbin-0');
        expect((await mesh.curl('curl-0', `${HTTPBIN}/ip`)).status).toBe(403);
      });

      it('STRICT refuses plaintext; PERMISSIVE and WireGuard off → plaintext on the underlay, key and device gone; on → encrypted again', async () => {
        // PERMISSIVE lets a client without a sidecar talk plaintext to httpbin, so a marker in the
        // request shows whether the underlay carries the payload readably. With no principal the
        // service-account rule is decided by the caller's IP alone (Calico's PERMISSIVE rule).
        const marker = `e2e-${Date.now().toString(16)}`;
        const plaintext = (from: string) =>
          mesh.curl(from, 'http://198.51.100.66:8080/headers', {
            proxy: null,
            headers: { 'x-marker': marker },
          });
        // STRICT (the example's PeerAuthentication): a client without a sidecar gets no answer.
        expect((await plaintext('curl-0')).status).toBe(0);
        const [pa] = await exampleManifests('istio/peer-authentication.yaml');
        await mesh.apply({ ...(pa as Manifest), spec: { mtls: { mode: 'PERMISSIVE' } } });
        await mesh.startProxy('httpbin-0');
        // other's service account is not allowed at L4: the node drops its plaintext connection.
        expect((await plaintext('other-0')).status).toBe(0);

        const encrypted = await mesh.capture('wg-on', async () => {
          expect((await plaintext('curl-0')).status).toBe(200);
        });
        expect(encrypted.raw.includes(Buffer.from(marker))).toBe(false);

        await mesh.patchFelixConfiguration({ wireguardEnabled: false });
        for (const n of mesh.nodes) await mesh.waitForWireguardKey(n.name, false);
        await waitFor(
          'the wireguard devices to go',
          async () =>
            !(await mesh.hasWireguardDevice(1)) && !(await mesh.hasWireguardDevice(2)) ? true : undefined,
          WAIT,
        );
        const clear = await mesh.capture('wg-off', async () => {
          expect((await plaintext('curl-0')).status).toBe(200);
        });
        expect(clear.raw.includes(Buffer.from(marker))).toBe(true);
        expect(clear.lines.some((l) => l.includes('> 198.51.100.66.8080'))).toBe(true);

        await mesh.patchFelixConfiguration({ wireguardEnabled: true });
        for (const n of mesh.nodes) await mesh.waitForWireguardKey(n.name, true);
        await waitFor(
          'the tunnel to carry traffic again',
          async () => ((await plaintext('curl-0')).status === 200 ? true : undefined),
          WAIT,
        );
        const again = await mesh.capture('wg-on-again', async () => {
          expect((await plaintext('curl-0')).status).toBe(200);
        });
        expect(again.raw.includes(Buffer.from(marker))).toBe(false);
        for (const line of again.lines) expect(line).toMatch(/UDP/);
      });

      it('a plain TCP connection that bypasses every proxy is dropped in the kernel when the policy denies it', async () => {
        const tcpEcho = '198.51.100.67';
        // tcp-echo-from-curl allows app=curl on TCP 9000: curl-0 reaches the pod (its inbound
        // capture takes the connection), other-0 from the other node never gets a SYN-ACK.
        expect(await connectOutcome(mesh.pod('curl-0').netns, tcpEcho, 9000)).toBe('connected');
        expect(await connectOutcome(mesh.pod('other-0').netns, tcpEcho, 9000)).toBe('timeout');
        // A port no policy allows, from the same node as the server: dropped too.
        expect(await connectOutcome(mesh.pod('curl-b').netns, tcpEcho, 9001)).toBe('timeout');
      });
    });
  });
});
