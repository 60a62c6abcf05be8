// Unix-socket paths for gRPC: stale-file removal before listening, and grpc-js target strings.
import { chmodSync, lstatSync, rmSync } from 'node:fs';

/** Removes whatever sits at `path` (stale socket, file, even a directory), as Dikastes does. */
export function removeStaleSocket(path: string): void {
  try {
    lstatSync(path);
  } catch {
    return; // nothing there
  }
  rmSync(path, { recursive: true, force: true });
}

/** Opens the socket to every local user: Envoy runs under another UID in the same pod. */
export function makeSocketWorldAccessible(path: string): void {
  chmodSync(path, 0o777);
}

/** grpc-js target for a socket path; `unix:` keeps relative and absolute paths as given. */
export function unixTarget(path: string): string {
  return `unix:${path}`;
}
