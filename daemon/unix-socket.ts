// Unix sockets for our gRPC servers and clients: grpc-js target strings, clearing a stale socket
// without ever touching anything else, and listening with the socket file's mode set by bind(2)
// itself. Our sockets live in directories other users can write (the pod's emptyDir shared with
// Envoy, a pod's PolicySync directory), so nothing here follows a path to chmod or delete it.
import { existsSync, lstatSync, unlinkSync, type Stats } from 'node:fs';
import { dirname } from 'node:path';
import { createServer, type Server } from 'node:net';
import * as grpc from '@grpc/grpc-js';

function describeFileType(st: Stats): string {
  if (st.isSymbolicLink()) return 'symbolic link';
  if (st.isDirectory()) return 'directory';
  if (st.isFile()) return 'regular file';
  return 'special file';
}

function isErrnoCode(err: unknown, code: string): boolean {
  return err instanceof Error && (err as NodeJS.ErrnoException).code === code;
}

/**
 * Removes a socket an earlier run left at `path`. Unlike Dikastes (spec dikastes.md §1.4), which
 * removes whatever is there, anything that is not a socket (a file, a directory, a symbolic link)
 * is refused: never followed, never deleted.
 */
export function removeStaleSocket(path: string): void {
  let st: Stats;
  try {
    st = lstatSync(path);
  } catch (err) {
    if (isErrnoCode(err, 'ENOENT')) return;
    throw err;
  }
  if (!st.isSocket()) {
    throw new Error(`refusing to replace ${path}: it is a ${describeFileType(st)}, not a socket`);
  }
  try {
    unlinkSync(path);
  } catch (err) {
    if (!isErrnoCode(err, 'ENOENT')) throw err;
  }
}

/**
 * Listens on a new Unix socket at `path` whose file bind(2) creates with `mode`, so it never
 * needs a chmod by path. The umask is process-wide; it is changed only for the synchronous
 * listen() call, inside which Node binds (the mode is checked afterwards in case that changes).
 * Must run on the main thread: worker threads cannot set the umask.
 */
export function listenUnixSocket(path: string, mode: number): Promise<Server> {
  const server = createServer();
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => {
      // libuv reports a missing directory as EACCES (for Windows' sake): say what is wrong.
      const dir = dirname(path);
      if (isErrnoCode(err, 'EACCES') && !existsSync(dir)) {
        reject(new Error(`cannot listen on ${path}: directory ${dir} does not exist`, { cause: err }));
      } else reject(err);
    };
    server.once('error', onError);
    server.once('listening', () => {
      server.off('error', onError);
      const st = lstatSync(path, { throwIfNoEntry: false });
      if (st?.isSocket() === true && (st.mode & 0o777) === mode) {
        resolve(server);
        return;
      }
      server.close();
      const found = st === undefined ? 'nothing' : `mode ${(st.mode & 0o777).toString(8)}`;
      reject(new Error(`socket ${path} should have mode ${mode.toString(8)}, found ${found}`));
    });
    const previous = process.umask(~mode & 0o777);
    try {
      server.listen(path);
    } finally {
      process.umask(previous);
    }
  });
}

export interface UnixSocketListener {
  readonly path: string;
  /** Stops accepting connections; Node unlinks the socket file it bound. Open calls are the gRPC server's to end. */
  close(): void;
}

/**
 * Serves a gRPC server's services on a new Unix socket at `path` created with `mode` (see
 * listenUnixSocket). grpc-js binds its own listeners asynchronously, so the socket is ours and
 * each accepted connection is handed to the gRPC server; its shutdown still ends those calls.
 */
export async function serveGrpcOnUnixSocket(
  server: grpc.Server,
  path: string,
  mode: number,
): Promise<UnixSocketListener> {
  const listener = await listenUnixSocket(path, mode);
  const injector = server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
  listener.on('connection', (socket) => injector.injectConnection(socket));
  return { path, close: () => void listener.close() };
}

/** grpc-js target for a socket path; `unix:` keeps relative and absolute paths as given. */
export function unixTarget(path: string): string {
  return `unix:${path}`;
}
