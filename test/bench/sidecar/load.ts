// Closed-loop Check load over the sidecar's Unix socket: keeps `inFlight` Checks outstanding for
// `durationMs` and records each latency.
import type { CheckRequest } from '../../../proto/gen/envoy/service/auth/v3/CheckRequest.js';
import type { EnvoyStandIn } from '../../harness/ext-authz-client.js';
import { percentile } from '../bench-report.js';

export interface LoadResult {
  readonly inFlight: number;
  readonly checks: number;
  readonly checksPerSecond: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly codes: Readonly<Record<number, number>>;
}

export async function runLoad(
  envoy: EnvoyStandIn,
  request: CheckRequest,
  inFlight: number,
  durationMs: number,
): Promise<LoadResult> {
  const latencies: number[] = [];
  const codes: Record<number, number> = {};
  const started = performance.now();
  const stopAt = started + durationMs;
  const worker = async () => {
    while (performance.now() < stopAt) {
      const t0 = performance.now();
      const res = await envoy.check(request);
      latencies.push(performance.now() - t0);
      const code = res.status?.code ?? -1;
      codes[code] = (codes[code] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  const elapsedS = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    inFlight,
    checks: latencies.length,
    checksPerSecond: latencies.length / elapsedS,
    p50Ms: percentile(latencies, 50),
    p90Ms: percentile(latencies, 90),
    p99Ms: percentile(latencies, 99),
    codes,
  };
}
