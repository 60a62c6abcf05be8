// The sidecar's gRPC server: ext_authz v3 Check (v3 only: Envoy dropped v2) and dikastes.Healthz,
// on the Unix socket Envoy dials and, optionally, on TCP (h2c both). Served by unary-grpc.ts on
// our own HTTP/2 connection rather than grpc-js or node:http2: a Check is read straight from its
// bytes into a Flow and answered with ready-made bytes, and the per-call machinery of grpc-js,
// then of node:http2's stream objects, was most of a Check's CPU.
// Stop = no new calls, in-flight Checks finish.
import { createServer as createNetServer, type Server as NetServer } from 'node:net';
import { loadHealthz } from '../proto/load.js';
import type { HostPort } from '../daemon/host-port.js';
import { listenUnixSocket, removeStaleSocket } from '../daemon/unix-socket.js';
import { flowFromCheckRequestBytes } from './check-request-wire.js';
import type { CheckHandler } from './ext-authz-service.js';
import type { HealthzHandlers } from './healthz.js';
import { createUnaryGrpcServer, type UnaryMethod } from './unary-grpc.js';

/** Spec dikastes.md §1.4: Envoy runs under another UID in the same pod, so everyone may connect. */
export const LISTEN_SOCKET_MODE = 0o777;

export interface SidecarServerOptions {
  readonly socketPath: string;
  readonly check: CheckHandler;
  readonly healthz: HealthzHandlers;
  /** A fault in our own HTTP/2 or gRPC code while serving (that connection is closed). */
  readonly onInternalError?: (err: unknown) => void;
}

export interface SidecarServer {
  /** Also serves the same services on TCP; resolves with the bound port. */
  listenTcp(address: HostPort): Promise<number>;
  /** Graceful stop: refuse new calls, let in-flight ones finish (up to `graceMs`), remove the socket. */
  stop(graceMs: number): Promise<void>;
  /** Stops the server and its sockets at once: for start-up failures, when nothing is in flight. */
  close(): Promise<void>;
}

/**
 * Check's path, written out: its request is read by check-request-wire.ts and its answers written
 * by check-response-wire.ts, so Envoy's .proto files (~80 ms of every start to parse) are not
 * loaded unless an answer needs proto-loader.
 */
export const CHECK_PATH = '/envoy.service.auth.v3.Authorization/Check';

function methods(opts: SidecarServerOptions): Map<string, UnaryMethod> {
  const { CheckLiveness, CheckReadiness } = loadHealthz().dikastes.Healthz.service;
  const healthz = (def: typeof CheckLiveness, answer: () => boolean): UnaryMethod => {
    return (request) => {
      def.requestDeserialize(request);
      return def.responseSerialize({ healthy: answer() });
    };
  };
  return new Map<string, UnaryMethod>([
    [CHECK_PATH, (request) => opts.check(flowFromCheckRequestBytes(request))],
    [CheckLiveness.path, healthz(CheckLiveness, opts.healthz.live)],
    [CheckReadiness.path, healthz(CheckReadiness, opts.healthz.ready)],
  ]);
}

/** Serves on a fresh socket at `socketPath`; a stale socket there is replaced, anything else refused. */
export async function startSidecarServer(opts: SidecarServerOptions): Promise<SidecarServer> {
  const server = createUnaryGrpcServer(methods(opts), undefined, opts.onInternalError);
  removeStaleSocket(opts.socketPath);
  const unix = await listenUnixSocket(opts.socketPath, LISTEN_SOCKET_MODE);
  unix.on('connection', (socket) => server.accept(socket));
  let tcp: NetServer | null = null;

  const stop = async (graceMs: number): Promise<void> => {
    unix.close(); // Node unlinks the socket file it bound
    tcp?.close();
    await server.stop(graceMs);
  };
  return {
    listenTcp: (address) =>
      new Promise<number>((resolve, reject) => {
        const listener = createNetServer((socket) => server.accept(socket));
        tcp = listener;
        const onError = (err: Error) => reject(err);
        listener.once('error', onError);
        listener.listen({ host: address.host ?? '::', port: address.port }, () => {
          listener.off('error', onError);
          const bound = listener.address();
          resolve(typeof bound === 'object' && bound !== null ? bound.port : address.port);
        });
      }),
    stop,
    close: () => stop(0),
  };
}
