// npm run bench:sidecar [-- --scale simple|calico] [--duration-ms N]
// simple: a one-policy store; Checks/s and latency over the Unix socket at 1 and 64 in flight.
// calico: Calico's production-scale store (spec §6) streamed over a real PolicySync stream, plus
// in-process evaluation time, time to apply the snapshot, and the sidecar's RSS.
import { parseArgs } from 'node:util';
import { loadExtAuthz, loadFelix } from '../../../proto/load.js';
import type { ToDataplane, ToDataplane__Output } from '../../../proto/gen/felix/ToDataplane.js';
import type {
  CheckRequest,
  CheckRequest__Output,
} from '../../../proto/gen/envoy/service/auth/v3/CheckRequest.js';
import { PolicyStore } from '../../../policy/policy-store.js';
import { decide } from '../../../policy/decide.js';
import { flowFromCheckRequest } from '../../../policy/flow.js';
import { buildScaleStore } from '../../../testing/scale-store.js';
import { httpCheckRequest } from '../../harness/ext-authz-client.js';
import { denyAdminSnapshot } from '../../harness/felix-messages.js';
import { startSidecarFixture } from '../../harness/sidecar-fixture.js';
import { cpuSeconds, percentile, report, rssMiB, type BenchRow } from '../bench-report.js';
import { runH2Load, type LoadResult } from './h2-load.js';
import { hasH2load, runH2loadTool } from './h2load-tool.js';

interface LoadClient {
  readonly name: string;
  /** Checks the client sends besides the measured ones (the Node client's reference call). */
  readonly extraChecks: number;
  run(inFlight: number): Promise<LoadResult>;
}

const RESULT_LABEL: Readonly<Record<number, string>> = {
  0: 'allowed',
  7: 'denied',
  3: 'invalid_argument',
  13: 'internal',
};

/** The sidecar's own count of Checks answered with `code`, from its Prometheus endpoint. */
async function countedChecks(metricsPort: number, code: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  const m = new RegExp(`^dikastes_checks_total\\{result="${RESULT_LABEL[code]}"\\} (\\d+)$`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

const { values } = parseArgs({
  options: {
    scale: { type: 'string', default: 'simple' },
    'duration-ms': { type: 'string', default: '5000' },
  },
});
const durationMs = Number(values['duration-ms']);
const scale = values.scale;
if (scale !== 'simple' && scale !== 'calico')
  throw new Error(`--scale must be simple or calico, not ${scale}`);

/** Wire round trip, so the in-process store sees exactly what the sidecar sees. */
function decoded(messages: ToDataplane[]): ToDataplane__Output[] {
  const m = loadFelix().felix.PolicySync.service.Sync;
  return messages.map((msg) => m.responseDeserialize(m.responseSerialize(msg)));
}

function decodedRequest(req: CheckRequest): CheckRequest__Output {
  const m = loadExtAuthz().envoy.service.auth.v3.Authorization.service.Check;
  return m.requestDeserialize(m.requestSerialize(req));
}

function inProcessEvaluation(messages: ToDataplane[], request: CheckRequest, runs: number): BenchRow {
  const store = new PolicyStore();
  const t0 = performance.now();
  for (const msg of decoded(messages)) store.apply(msg);
  const applyMs = performance.now() - t0;
  const req = decodedRequest(request);
  const times: number[] = [];
  let code = -1;
  for (let i = 0; i < runs; i++) {
    const s = performance.now();
    code = decide(store, flowFromCheckRequest(req)).code;
    times.push(performance.now() - s);
  }
  times.sort((a, b) => a - b);
  return {
    measure: 'in-process decide',
    runs,
    verdict: code,
    'p50 ms': percentile(times, 50),
    'p90 ms': percentile(times, 90),
    'p99 ms': percentile(times, 99),
    'store apply ms': applyMs,
  };
}

async function main(): Promise<void> {
  const { messages, request, expectedCode } =
    scale === 'calico'
      ? buildScaleStore()
      : { messages: denyAdminSnapshot(), request: httpCheckRequest({ path: '/public' }), expectedCode: 0 };
  const rows: BenchRow[] = [];
  const extra: Record<string, unknown> = { scale, durationMs };

  if (scale === 'calico') {
    rows.push(inProcessEvaluation(messages, request, 300));
    if (rows[0]!.verdict !== expectedCode)
      throw new Error(`in-process verdict ${rows[0]!.verdict}, want ${expectedCode}`);
  }

  const fixture = await startSidecarFixture({
    startFelix: false,
    extraArgs: ['--log-level', 'info', '--metrics-addr', '127.0.0.1:0'],
  });
  try {
    fixture.felix.snapshot = messages;
    const t0 = performance.now();
    await fixture.felix.start();
    await fixture.waitForInSyncCount(1);
    extra.snapshotApplyMs = performance.now() - t0;
    extra.rssAfterSyncMiB = rssMiB(fixture.dikastes.pid);
    const metricsPort = Number(fixture.dikastes.logs().find((l) => l.msg === 'serving metrics')?.port);
    await runH2Load(fixture.listen, request, expectedCode, 8, 1000); // warm-up
    const clients: LoadClient[] = [
      {
        name: 'node http2',
        extraChecks: 1,
        run: (n) => runH2Load(fixture.listen, request, expectedCode, n, durationMs),
      },
    ];
    if (await hasH2load())
      clients.push({
        name: 'h2load',
        extraChecks: 0,
        run: (n) => runH2loadTool(fixture.listen, request, n, durationMs),
      });
    else
      console.log(
        'h2load not installed (apt-get install nghttp2-client): measuring with the Node client only',
      );
    for (const client of clients) {
      for (const inFlight of [1, 64]) {
        const cpuBefore = cpuSeconds(fixture.dikastes.pid);
        const countedBefore = await countedChecks(metricsPort, expectedCode);
        const r = await client.run(inFlight);
        const sidecarCpuUs = ((cpuSeconds(fixture.dikastes.pid) - cpuBefore) / r.checks) * 1e6;
        // Every measured Check must have been answered with the expected verdict, as the sidecar
        // counts them; a timed run may leave up to `inFlight` answered but unlogged at its end.
        const counted = (await countedChecks(metricsPort, expectedCode)) - countedBefore;
        const expected = r.checks + client.extraChecks;
        if (r.wrongAnswers > 0 || counted < expected || counted > expected + inFlight) {
          throw new Error(
            `${client.name}: ${r.checks} Checks, ${counted} counted with verdict ${expectedCode}`,
          );
        }
        rows.push({
          measure: `gRPC Check, ${inFlight} in flight (${client.name})`,
          runs: r.checks,
          verdict: expectedCode,
          'checks/s': Math.round(r.checksPerSecond),
          'p50 ms': r.p50Ms,
          'p90 ms': r.p90Ms,
          'p99 ms': r.p99Ms,
          'sidecar CPU µs/check': sidecarCpuUs,
        });
      }
    }
    extra.rssAfterLoadMiB = rssMiB(fixture.dikastes.pid);
  } finally {
    await fixture.close();
  }
  report(`sidecar-${scale}`, rows, extra);
}

await main();
