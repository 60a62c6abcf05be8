// `dikastes client` and `dikastes health`: one gRPC call over a Unix socket each, with a deadline
// (Calico's have none, so a hung server hangs the probe until kubelet kills it).
import * as grpc from '@grpc/grpc-js';
import { loadExtAuthz, loadHealthz } from '../proto/load.js';
import type { CheckRequest } from '../proto/gen/envoy/service/auth/v3/CheckRequest.js';
import type { CheckResponse__Output } from '../proto/gen/envoy/service/auth/v3/CheckResponse.js';
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
        resolve({ exitCode: 0, stdout: JSON.stringify(res) + '\n' });
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
