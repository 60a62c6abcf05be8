// npm run bench:e2e [-- --requests 2000 --seconds 10 --concurrency 16]   (needs root and the e2e tools)
//
// What it models: the request path of examples/istio, measured with the STAND-IN proxy
// (envoy-lite plays Envoy): curl's pod → its outbound proxy → mTLS → httpbin's inbound proxy →
// [ext_authz Check to dikastes over the pod's Unix socket] → go-httpbin. Two wirings of the same
// pods: with the example's EnvoyFilter (every request checked by dikastes against the example
// policy) and without it (no sidecar in the path). Same node (client and httpbin on node 2) and
// across nodes (through WireGuard). Latency: one request at a time over a kept-alive connection,
// p50/p99; throughput: `--concurrency` requests in flight for `--seconds`, through the one httpbin
// pod. The load generator shares the machine's two cores with everything it measures.
import { parseArgs } from 'node:util';
import { findE2eTools } from '../../harness/e2e-tools.js';
import type { ApiServer } from '../../harness/envtest/api-server-gate.js';
import { startEnvtest } from '../../harness/envtest/envtest.js';
import { nsRun } from '../../harness/netns.js';
import { IstioMesh, type WorkloadSpec } from '../../e2e/istio-mesh-fixture.js';
import { percentile, report, type BenchRow } from '../bench-report.js';

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '2000' },
    seconds: { type: 'string', default: '10' },
    concurrency: { type: 'string', default: '16' },
  },
});
const REQUESTS = Number(values.requests);
const SECONDS = Number(values.seconds);
const CONCURRENCY = Number(values.concurrency);

const WORKLOADS: WorkloadSpec[] = [
  { name: 'httpbin-0', from: 'demo/httpbin.yaml', node: 2, ip: '198.51.100.66' },
  { name: 'curl-0', from: 'demo/curl.yaml', node: 1, ip: '198.51.100.2' },
  { name: 'curl-b', from: 'demo/curl.yaml', node: 2, ip: '198.51.100.68' },
];

// Runs inside the client pod: sequential requests for latency, then a closed loop for throughput.
const LOAD = `
const http = require('node:http');
const [requests, seconds, concurrency] = process.argv.slice(1).map(Number);
const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
const once = () => new Promise((resolve, reject) => {
  const started = process.hrtime.bigint();
  const req = http.request({ host: '127.0.0.1', port: 15001, path: 'http://httpbin.demo:8000/status/200',
    headers: { host: 'httpbin.demo:8000' }, agent }, (res) => {
    res.resume();
    res.on('end', () => resolve({ status: res.statusCode, ms: Number(process.hrtime.bigint() - started) / 1e6 }));
  });
  req.on('error', reject);
  req.end();
});
(async () => {
  for (let i = 0; i < 50; i++) await once();
  const latencies = [];
  let bad = 0;
  for (let i = 0; i < requests; i++) { const r = await once(); if (r.status !== 200) bad++; latencies.push(r.ms); }
  let done = 0;
  const until = Date.now() + seconds * 1000;
  const worker = async () => { while (Date.now() < until) { const r = await once(); if (r.status !== 200) bad++; done++; } };
  await Promise.all(Array.from({ length: concurrency }, worker));
  console.log(JSON.stringify({ latencies, done, bad }));
  agent.destroy();
})().catch((e) => { console.error(e); process.exit(1); });
`;

async function measure(mesh: IstioMesh, from: string, wiring: string, path: string): Promise<BenchRow> {
  const out = await nsRun(mesh.pod(from).netns, [
    process.execPath,
    '-e',
    LOAD,
    String(REQUESTS),
    String(SECONDS),
    String(CONCURRENCY),
  ]);
  const r = JSON.parse(out) as { latencies: number[]; done: number; bad: number };
  const sorted = [...r.latencies].sort((a, b) => a - b);
  return {
    path,
    wiring,
    'p50 ms': percentile(sorted, 50),
    'p99 ms': percentile(sorted, 99),
    'requests/s': Math.round(r.done / SECONDS),
    'non-200': r.bad,
  };
}

async function main(): Promise<void> {
  const found = await findE2eTools();
  if (found.kind !== 'found') throw new Error(found.reason);
  const envs: { stop(): Promise<void> }[] = [];
  const api = {
    startOwnEnvtest: async (options = {}) => {
      const env = await startEnvtest({ ...options, build: false });
      envs.push(env);
      return env;
    },
  } as ApiServer;
  const mesh = new IstioMesh(api, found.tools);
  try {
    await mesh.start(WORKLOADS);
    await mesh.applyFile('demo/policy-default-deny.yaml');
    await mesh.applyFile('demo/policy-httpbin.yaml');
    const rows: BenchRow[] = [];
    for (const [from, path] of [
      ['curl-b', 'same node'],
      ['curl-0', 'across nodes (WireGuard)'],
    ] as const) {
      rows.push(await measure(mesh, from, 'EnvoyFilter → dikastes', path));
    }
    await mesh.removeFile('wiring-envoyfilter/ext-authz.yaml');
    await mesh.startProxy('httpbin-0');
    for (const [from, path] of [
      ['curl-b', 'same node'],
      ['curl-0', 'across nodes (WireGuard)'],
    ] as const) {
      rows.push(await measure(mesh, from, 'no ext_authz', path));
    }
    const added = (path: string, col: string) => {
      const on = rows.find((r) => r['path'] === path && r['wiring'] !== 'no ext_authz')?.[col] as number;
      const off = rows.find((r) => r['path'] === path && r['wiring'] === 'no ext_authz')?.[col] as number;
      return on - off;
    };
    report('e2e-stand-in-proxy', rows, {
      note: 'measured with the stand-in proxy (envoy-lite), not Envoy',
      'added by the check, same node, p50 ms': added('same node', 'p50 ms'),
      'added by the check, same node, p99 ms': added('same node', 'p99 ms'),
      requests: REQUESTS,
      seconds: SECONDS,
      concurrency: CONCURRENCY,
    });
  } finally {
    await mesh.stop();
    for (const env of envs) await env.stop();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
