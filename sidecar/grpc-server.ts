// One gRPC server for ext_authz Check (v3 only: Envoy dropped v2) and dikastes.Healthz, on the
// Unix socket Envoy dials and, optionally, on TCP. Stop = no new calls, in-flight Checks finish.
import { existsSync, rmSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { loadExtAuthz, loadHealthz } from '../proto/load.js';
import type { AuthorizationHandlers } from '../proto/gen/envoy/service/auth/v3/Authorization.js';
import type { HealthzHandlers } from '../proto/gen/dikastes/Healthz.js';
import { bindWorldAccessible, removeStaleSocket, unixTarget } from '../daemon/unix-socket.js';

export interface SidecarServerOptions {
  readonly socketPath: string;
  readonly tcpAddress: string | null;
  readonly check: AuthorizationHandlers['Check'];
  readonly healthz: HealthzHandlers;
}

export interface SidecarServer {
  /** Bound TCP port, when a TCP listener was asked for. */
  readonly tcpPort: number | null;
  /** Graceful stop: refuse new calls, let in-flight ones finish (up to `graceMs`), remove the socket. */
  stop(graceMs: number): Promise<void>;
}

function bind(server: grpc.Server, target: string): Promise<number> {
  return new Promise((resolve, reject) =>
    server.bindAsync(target, grpc.ServerCredentials.createInsecure(), (err, port) =>
      err ? reject(err) : resolve(port),
    ),
  );
}

export async function startSidecarServer(opts: SidecarServerOptions): Promise<SidecarServer> {
  // Channelz bookkeeping costs a few microseconds per call and nobody reads it here.
  const server = new grpc.Server({ 'grpc.enable_channelz': 0 });
  server.addService(loadExtAuthz().envoy.service.auth.v3.Authorization.service, { Check: opts.check });
  server.addService(loadHealthz().dikastes.Healthz.service, opts.healthz);

  removeStaleSocket(opts.socketPath);
  await bindWorldAccessible(opts.socketPath, async (tmp) => {
    await bind(server, unixTarget(tmp));
  });
  const tcpPort = opts.tcpAddress === null ? null : await bind(server, opts.tcpAddress);

  return {
    tcpPort,
    stop: (graceMs) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(() => server.forceShutdown(), graceMs);
        server.tryShutdown(() => {
          clearTimeout(timer);
          if (existsSync(opts.socketPath)) rmSync(opts.socketPath, { force: true });
          resolve();
        });
      }),
  };
}
