// One gRPC server for ext_authz Check (v3 only: Envoy dropped v2) and dikastes.Healthz, on the
// Unix socket Envoy dials and, optionally, on TCP. Stop = no new calls, in-flight Checks finish.
import * as grpc from '@grpc/grpc-js';
import { loadExtAuthz, loadHealthz } from '../proto/load.js';
import type { HealthzHandlers } from '../proto/gen/dikastes/Healthz.js';
import { grpcListenTarget, type HostPort } from '../daemon/host-port.js';
import { removeStaleSocket, serveGrpcOnUnixSocket } from '../daemon/unix-socket.js';
import type { Flow } from '../policy/flow.js';
import { flowFromCheckRequestBytes } from './check-request-wire.js';
import type { CheckHandler } from './ext-authz-service.js';

/** Spec dikastes.md §1.4: Envoy runs under another UID in the same pod, so everyone may connect. */
export const LISTEN_SOCKET_MODE = 0o777;

export interface SidecarServerOptions {
  readonly socketPath: string;
  readonly check: CheckHandler;
  readonly healthz: HealthzHandlers;
}

export interface SidecarServer {
  /** Also serves the same services on TCP; resolves with the bound port. */
  listenTcp(address: HostPort): Promise<number>;
  /** Graceful stop: refuse new calls, let in-flight ones finish (up to `graceMs`), remove the socket. */
  stop(graceMs: number): Promise<void>;
  /** Stops the server and its sockets at once: for start-up failures, when nothing is in flight. */
  close(): Promise<void>;
}

function bind(server: grpc.Server, target: string): Promise<number> {
  return new Promise((resolve, reject) =>
    server.bindAsync(target, grpc.ServerCredentials.createInsecure(), (err, port) =>
      err ? reject(err) : resolve(port),
    ),
  );
}

/** Serves on a fresh socket at `socketPath`; a stale socket there is replaced, anything else refused. */
export async function startSidecarServer(opts: SidecarServerOptions): Promise<SidecarServer> {
  // Channelz bookkeeping costs a few microseconds per call and nobody reads it here.
  const server = new grpc.Server({ 'grpc.enable_channelz': 0 });
  // Check reads its request straight into a Flow and answers with ready-made bytes: no
  // reflection-based protobuf decoding or encoding per call.
  const check = loadExtAuthz().envoy.service.auth.v3.Authorization.service.Check;
  const checkOnBytes: grpc.MethodDefinition<Flow, Buffer> = {
    ...check,
    requestDeserialize: flowFromCheckRequestBytes,
    requestSerialize: () => {
      throw new Error('the server does not send requests');
    },
    responseSerialize: (bytes) => bytes,
    responseDeserialize: (bytes) => bytes,
  };
  const checkHandler: grpc.handleUnaryCall<Flow, Buffer> = (call, callback) =>
    callback(null, opts.check(call.request));
  server.addService({ Check: checkOnBytes }, { Check: checkHandler });
  server.addService(loadHealthz().dikastes.Healthz.service, opts.healthz);

  removeStaleSocket(opts.socketPath);
  const listener = await serveGrpcOnUnixSocket(server, opts.socketPath, LISTEN_SOCKET_MODE);

  const stop = (graceMs: number): Promise<void> =>
    new Promise<void>((resolve) => {
      listener.close();
      const timer = setTimeout(() => server.forceShutdown(), graceMs);
      server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  return {
    listenTcp: (address) => bind(server, grpcListenTarget(address)),
    stop,
    close: () => stop(0),
  };
}
