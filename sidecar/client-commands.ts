// `dikastes client` and `dikastes health`: one gRPC call over a Unix socket each, with a deadline
// (Calico's have none, so a hung server hangs the probe until kubelet kills it). Unlike Calico's
// client, which logs the raw response and exits 0 whatever it says, ours prints the verdict and
// exits non-zero unless the request was allowed.
import * as grpc from '@grpc/grpc-js';
import { loadExtAuthz, loadHealthz } from '../proto/load.js';
import type { CheckRequest } from '../proto/gen/envoy/service/auth/v3/CheckRequest.js';
import type { CheckResponse__Output } from '../proto/gen/envoy/service/auth/v3/CheckResponse.js';
import { isRecord } from '../calico/spec-fields.js';
import { unixTarget } from '../daemon/unix-socket.js';
import type { ClientCommand, HealthCommand } from './cli.js';

export interface CommandOutcome {
  readonly exitCode: number;
  readonly stdout?: string;
  readonly stderr?: string;
}

function deadline(ms: number): Date {
  return new Date(Date.now() + ms);
}

/** `dikastes client` exit codes: 0 allowed, 3 denied by policy, 4 any other answer (1 is no answer). */
export function clientExitCode(res: CheckResponse__Output): number {
  const code = res.status?.code ?? 0;
  if (code === grpc.status.OK) return 0;
  return code === grpc.status.PERMISSION_DENIED ? 3 : 4;
}

function statusName(code: number): string {
  return grpc.status[code] ?? `code ${code}`;
}

/** `HTTP 403 Forbidden` for Envoy's HttpStatus enum name, the number read from the loaded proto. */
function httpStatusLine(name: string): string {
  const enumType: unknown = loadExtAuthz().envoy.type.v3.StatusCode.type;
  const values: unknown[] = isRecord(enumType) && Array.isArray(enumType.value) ? enumType.value : [];
  const match = values.find((v) => isRecord(v) && v.name === name);
  return isRecord(match) && typeof match.number === 'number'
    ? `HTTP ${match.number} ${name}`
    : `HTTP ${name}`;
}

/**
 * The verdict for people: `allowed`, `denied (PERMISSION_DENIED)` or `error (<code name>)` with
 * the status message, then the HTTP response Envoy would send instead (status, headers, body).
 */
export function describeCheckResponse(res: CheckResponse__Output): string {
  const code = res.status?.code ?? 0;
  const message = res.status?.message ?? '';
  const verdict =
    code === grpc.status.OK
      ? 'allowed'
      : `${code === grpc.status.PERMISSION_DENIED ? 'denied' : 'error'} (${statusName(code)})`;
  const lines = [message === '' ? verdict : `${verdict}: ${message}`];
  const denied = res.denied_response;
  if (denied !== null && denied !== undefined) {
    lines.push('', httpStatusLine(denied.status?.code ?? 'Forbidden'));
    for (const h of denied.headers) {
      if (h.header !== null)
        lines.push(`${h.header.key}: ${h.header.value || h.header.raw_value.toString('utf8')}`);
    }
    if (denied.body !== '') lines.push('', denied.body.replace(/\n$/, ''));
  }
  return lines.join('\n') + '\n';
}

/** The whole CheckResponse as JSON, bytes fields as base64 (protobuf's JSON mapping), not Buffer dumps. */
export function checkResponseJson(res: CheckResponse__Output): string {
  return (
    JSON.stringify(res, function (this: unknown, key: string, value: unknown) {
      const original: unknown =
        typeof this === 'object' && this !== null ? Reflect.get(this, key) : undefined;
      return Buffer.isBuffer(original) ? original.toString('base64') : value;
    }) + '\n'
  );
}

/** Sends one Check whose source principal is the given namespace/account, as Calico's client does. */
export function runClient(cmd: ClientCommand): Promise<CommandOutcome> {
  const { Authorization } = loadExtAuthz().envoy.service.auth.v3;
  const client = new Authorization(unixTarget(cmd.dial), grpc.credentials.createInsecure());
  const request: CheckRequest = {
    attributes: {
      source: { principal: `spiffe://cluster.local/ns/${cmd.namespace}/sa/${cmd.account}` },
      ...(cmd.method !== '' ? { request: { http: { method: cmd.method } } } : {}),
    },
  };
  return new Promise((resolve) => {
    client.Check(
      request,
      { deadline: deadline(cmd.timeoutMs) },
      (err: grpc.ServiceError | null, res?: CheckResponse__Output) => {
        client.close();
        if (err !== null || res === undefined) {
          resolve({ exitCode: 1, stderr: `Error: check failed: ${err?.message ?? 'no response'}\n` });
          return;
        }
        const exitCode = clientExitCode(res);
        resolve({ exitCode, stdout: cmd.json ? checkResponseJson(res) : describeCheckResponse(res) });
      },
    );
  });
}

/** Exit codes as Calico's health command: 0 healthy, 1 bad check word, 2 RPC error, 3 unhealthy. */
export function runHealth(cmd: HealthCommand): Promise<CommandOutcome> {
  if (cmd.check !== 'liveness' && cmd.check !== 'readiness') {
    return Promise.resolve({
      exitCode: 1,
      stderr: `Invalid check type "${cmd.check}", expected "liveness" or "readiness"\n`,
    });
  }
  const { Healthz } = loadHealthz().dikastes;
  const client = new Healthz(unixTarget(cmd.dialPath), grpc.credentials.createInsecure());
  const call =
    cmd.check === 'liveness' ? client.CheckLiveness.bind(client) : client.CheckReadiness.bind(client);
  return new Promise((resolve) => {
    call({}, { deadline: deadline(cmd.timeoutMs) }, (err, res) => {
      client.close();
      if (err !== null || res === undefined) {
        resolve({
          exitCode: 2,
          stderr: `Error getting healthz ${cmd.check}: ${err?.message ?? 'no response'}\n`,
        });
      } else if (!res.healthy) {
        resolve({ exitCode: 3, stderr: 'healthz endpoint returned unhealthy\n' });
      } else {
        resolve({ exitCode: 0 });
      }
    });
  });
}
