// A lean gRPC load generator for benchmarks: raw HTTP/2 over the sidecar's Unix socket with the
// request serialised once, so the measurement is the sidecar, not a heavyweight client sharing
// its two cores. Every answer is compared byte for byte with a reference answer decoded once.
import { connect, constants, type ClientHttp2Session } from 'node:http2';
import { connect as netConnect } from 'node:net';
import { loadExtAuthz } from '../../../proto/load.js';
import type { CheckRequest } from '../../../proto/gen/envoy/service/auth/v3/CheckRequest.js';
import { percentile } from '../bench-report.js';

export interface LoadResult {
  readonly inFlight: number;
  readonly checks: number;
  readonly checksPerSecond: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  /** Answers that were not the expected one (a different answer, or an HTTP/2 failure). */
  readonly wrongAnswers: number;
  /** CPU seconds the load client itself used for the run. */
  readonly clientCpuS: number;
}

/** Summarises one load run from its latencies (in any order) and wall time. */
export function summariseLoad(
  inFlight: number,
  latenciesMs: number[],
  elapsedS: number,
  wrongAnswers: number,
  clientCpuS: number,
): LoadResult {
  latenciesMs.sort((a, b) => a - b);
  return {
    inFlight,
    checks: latenciesMs.length,
    checksPerSecond: latenciesMs.length / elapsedS,
    p50Ms: percentile(latenciesMs, 50),
    p90Ms: percentile(latenciesMs, 90),
    p99Ms: percentile(latenciesMs, 99),
    wrongAnswers,
    clientCpuS,
  };
}

const PATH = '/envoy.service.auth.v3.Authorization/Check';

function frame(message: Buffer): Buffer {
  const out = Buffer.alloc(5 + message.length);
  out.writeUInt32BE(message.length, 1);
  message.copy(out, 5);
  return out;
}

/** A unary gRPC call's request headers, the same for every Check. */
const CHECK_HEADERS = {
  [constants.HTTP2_HEADER_METHOD]: 'POST',
  [constants.HTTP2_HEADER_PATH]: PATH,
  'content-type': 'application/grpc',
  te: 'trailers',
};

function call(session: ClientHttp2Session, body: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const stream = session.request(CHECK_HEADERS);
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('trailers', (t) => {
      if (t['grpc-status'] !== '0')
        reject(new Error(`grpc-status ${String(t['grpc-status'])}: ${String(t['grpc-message'])}`));
    });
    stream.on('end', () => resolve(Buffer.concat(chunks)));
    stream.on('error', reject);
    stream.end(body);
  });
}

/**
 * Checks on one connection, reopened after a failure, as a sidecar's Envoy keeps one: each answer
 * is the grpc-status and, when OK, the CheckResponse's status code; null when the sidecar cannot
 * be reached or does not answer within `timeoutMs`.
 */
export class CheckProbe {
  private session: ClientHttp2Session | null = null;

  constructor(private readonly socketPath: string) {}

  async check(
    request: CheckRequest,
    timeoutMs = 2_000,
  ): Promise<{ grpcStatus: number; code: number } | null> {
    const check = loadExtAuthz().envoy.service.auth.v3.Authorization.service.Check;
    if (this.session === null || this.session.destroyed || this.session.closed) {
      const session = connect('http://localhost', { createConnection: () => netConnect(this.socketPath) });
      session.on('error', () => {});
      this.session = session;
    }
    const session = this.session;
    const timer = setTimeout(() => session.destroy(), timeoutMs);
    try {
      const answer = await new Promise<{ grpcStatus: number; body: Buffer }>((resolve, reject) => {
        const stream = session.request(CHECK_HEADERS);
        const chunks: Buffer[] = [];
        let grpcStatus = -1;
        stream.on('response', (h) => {
          if (h['grpc-status'] !== undefined) grpcStatus = Number(h['grpc-status']);
        });
        stream.on('trailers', (t) => (grpcStatus = Number(t['grpc-status'])));
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => resolve({ grpcStatus, body: Buffer.concat(chunks) }));
        stream.on('error', reject);
        stream.on('close', () => reject(new Error('stream closed')));
        stream.end(frame(check.requestSerialize(request)));
      });
      if (answer.grpcStatus !== 0 || answer.body.length < 5)
        return { grpcStatus: answer.grpcStatus, code: -1 };
      return {
        grpcStatus: 0,
        code: check.responseDeserialize(answer.body.subarray(5)).status?.code ?? 0,
      };
    } catch {
      session.destroy();
      return null;
    } finally {
      clearTimeout(timer);
    }
  }

  close(): void {
    this.session?.destroy();
    this.session = null;
  }
}

export async function runH2Load(
  socketPath: string,
  request: CheckRequest,
  expectedCode: number,
  inFlight: number,
  durationMs: number,
): Promise<LoadResult> {
  const check = loadExtAuthz().envoy.service.auth.v3.Authorization.service.Check;
  const body = frame(check.requestSerialize(request));
  const session = connect('http://localhost', { createConnection: () => netConnect(socketPath) });
  try {
    const reference = await call(session, body);
    const code = check.responseDeserialize(reference.subarray(5)).status?.code ?? -1;
    if (code !== expectedCode) throw new Error(`sidecar answered ${code}, want ${expectedCode}`);
    const latencies: number[] = [];
    let mismatches = 0;
    const cpu0 = process.cpuUsage();
    const started = performance.now();
    const stopAt = started + durationMs;
    const worker = async () => {
      while (performance.now() < stopAt) {
        const t0 = performance.now();
        const answer = await call(session, body);
        latencies.push(performance.now() - t0);
        if (!answer.equals(reference)) mismatches++;
      }
    };
    await Promise.all(Array.from({ length: inFlight }, worker));
    const elapsedS = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpu0);
    return summariseLoad(inFlight, latencies, elapsedS, mismatches, (cpu.user + cpu.system) / 1e6);
  } finally {
    session.close();
  }
}
