// Load from nghttp2's h2load (a C HTTP/2 client, Debian package nghttp2-client) when it is
// installed: it needs far less CPU than any Node client, so on a 2-core machine it leaves the
// sidecar a whole core. h2load only sees HTTP statuses, so the caller checks the verdicts through
// the sidecar's own dikastes_checks_total counter.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { loadExtAuthz } from '../../../proto/load.js';
import type { CheckRequest } from '../../../proto/gen/envoy/service/auth/v3/CheckRequest.js';
import { summariseLoad, type LoadResult } from './h2-load.js';

const run = promisify(execFile);

export async function hasH2load(): Promise<boolean> {
  try {
    await run('h2load', ['--version']);
    return true;
  } catch {
    return false;
  }
}

/** Keeps `inFlight` Checks outstanding on one connection for `durationMs`. */
export async function runH2loadTool(
  socketPath: string,
  request: CheckRequest,
  inFlight: number,
  durationMs: number,
): Promise<LoadResult> {
  const dir = mkdtempSync(join(tmpdir(), 'alp-h2load-'));
  try {
    const message =
      loadExtAuthz().envoy.service.auth.v3.Authorization.service.Check.requestSerialize(request);
    const framed = Buffer.alloc(5 + message.length);
    framed.writeUInt32BE(message.length, 1);
    message.copy(framed, 5);
    writeFileSync(join(dir, 'request.bin'), framed);
    const log = join(dir, 'requests.tsv');
    const started = performance.now();
    // bash's `times` prints the CPU time of its finished children: h2load's own user + system.
    const { stdout } = await run('bash', [
      '-c',
      'h2load "$@" > /dev/null && times',
      'h2load',
      ...['-D', String(Math.max(1, Math.round(durationMs / 1000))), '-c', '1', '-m', String(inFlight)],
      ...['-d', join(dir, 'request.bin'), '--log-file', log],
      ...['-H', 'content-type: application/grpc', '-H', 'te: trailers', '-B', `unix:${socketPath}`],
      'http://localhost/envoy.service.auth.v3.Authorization/Check',
    ]);
    const elapsedS = (performance.now() - started) / 1000;
    const childTimes = [...(stdout.trim().split('\n')[1] ?? '').matchAll(/(\d+)m([\d.]+)s/g)];
    const clientCpuS = childTimes.reduce((sum, m) => sum + Number(m[1]) * 60 + Number(m[2]), 0);
    const rows = readFileSync(log, 'utf8')
      .trim()
      .split('\n')
      .map((l) => l.split('\t'));
    const failed = rows.filter((r) => r[1] !== '200');
    if (failed.length > 0)
      console.warn(
        `h2load: ${failed.length} of ${rows.length} answers not HTTP 200: ${JSON.stringify(failed.slice(0, 3))}`,
      );
    const latencies = rows.map((r) => Number(r[2]) / 1000);
    return summariseLoad(inFlight, latencies, elapsedS, failed.length, clientCpuS);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
