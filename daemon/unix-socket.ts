// Unix-socket paths for gRPC: stale-file removal before listening, sockets that appear already
// open to every user, and grpc-js target strings.
import { randomBytes } from 'node:crypto';
import { lstatSync, rmSync } from 'node:fs';
import { chmod, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** Removes whatever sits at `path` (stale socket, file, even a directory), as Dikastes does. */
export function removeStaleSocket(path: string): void {
  try {
    lstatSync(path);
  } catch {
    return; // nothing there
  }
  rmSync(path, { recursive: true, force: true });
}

/**
 * Has `bind` listen at a temporary name beside `path`, opens that socket to every local user
 * (Envoy and the pod's containers run under other UIDs), then renames it to `path`. A socket bound
 * in place has the umask's mode until the chmod, and a client of another UID that dials in that
 * moment is refused; this way no client ever finds the socket at `path` closed to it.
 */
export async function bindWorldAccessible(
  path: string,
  bind: (tmpPath: string) => Promise<void>,
): Promise<void> {
  // No longer than "socket", so the temporary path fits wherever the real one does (sun_path is
  // 108 bytes); a leftover of a crash between bind and rename is in the way of nobody else.
  const tmp = join(dirname(path), `.${randomBytes(2).toString('hex')}`);
  await rm(tmp, { force: true });
  await bind(tmp);
  try {
    await chmod(tmp, 0o777);
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/** grpc-js target for a socket path; `unix:` keeps relative and absolute paths as given. */
export function unixTarget(path: string): string {
  return `unix:${path}`;
}
