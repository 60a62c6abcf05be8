// Where each pod's PolicySync socket lives and whose it is. Two layouts share one directory
// tree under the policySyncPathPrefix (spec dikastes.md §2.3, alp-istio.md §1.4):
//   csi:        Calico's CSI driver writes <prefix>/creds/<uid>.json (UID, Workload, Namespace,
//               ServiceAccount) and bind-mounts <prefix>/mount/<uid>/ into the pod; like Felix's
//               binder we poll creds/ every 100 ms and serve <prefix>/mount/<uid>/socket.
//   driverless: no CSI driver; alp-node creates <prefix>/mount/<uid>/ itself for each local pod
//               that runs the sidecar, and the pod mounts it with a hostPath volume and
//               `subPathExpr: $(POD_UID)`.
// Either way the socket that accepted a stream is the caller's identity.
import { constants } from 'node:fs';
import { access, mkdir, open, readdir, readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { isRecord } from '../calico/spec-fields.js';
import type { Logger } from '../daemon/log.js';

export type SocketLayout = 'csi' | 'driverless';

export interface PodIdentity {
  readonly uid: string;
  readonly namespace: string;
  /** The pod's name. */
  readonly workload: string;
  readonly serviceAccount: string;
}

/** The pod's containers run as arbitrary users (spec dikastes.md §2.3: Felix's binder uses 0777). */
export const POD_SOCKET_MODE = 0o777;
/** Driverless directories: the pod may enter them and reach the socket, but not replace it. */
export const DRIVERLESS_DIR_MODE = 0o755;

export const credsDir = (prefix: string): string => join(prefix, 'creds');
export const mountDir = (prefix: string, uid: string): string => join(prefix, 'mount', uid);
export const socketPath = (prefix: string, uid: string): string => join(prefix, 'mount', uid, 'socket');

/**
 * Makes sure the policySyncPathPrefix directory can hold the sockets, or throws saying why not.
 * Driverless: alp-node owns the tree and creates it. CSI: the directory is the host directory
 * that Calico's CSI driver also mounts, so a missing one means alp-node's volume is missing, and
 * sockets made in its place would never reach a pod.
 */
export async function prepareSocketPrefix(prefix: string, layout: SocketLayout): Promise<void> {
  try {
    if (layout === 'driverless') await mkdir(prefix, { recursive: true });
    const info = await stat(prefix);
    if (!info.isDirectory()) throw new Error(`policySyncPathPrefix ${prefix} is not a directory`);
    await access(prefix, constants.W_OK);
  } catch (err) {
    throw prefixError(prefix, layout, err);
  }
}

function prefixError(prefix: string, layout: SocketLayout, err: unknown): Error {
  const code = (err as NodeJS.ErrnoException).code;
  const what = `policySyncPathPrefix ${prefix}`;
  switch (code) {
    case 'ENOENT':
      return new Error(
        layout === 'csi'
          ? `${what}: the directory is missing (mount the host directory Calico's CSI driver uses, or set ALP_POLICY_SYNC_LAYOUT=driverless)`
          : `${what}: the directory is missing`,
        { cause: err },
      );
    case 'ENOTDIR':
      return new Error(`${what}: part of the path is not a directory`, { cause: err });
    case 'EROFS':
      return new Error(`${what}: the directory is on a read-only file system`, { cause: err });
    case 'EACCES':
    case 'EPERM':
      return new Error(`${what}: the directory is not writable by alp-node`, { cause: err });
    default:
      return err instanceof Error && code === undefined
        ? err
        : new Error(`${what}: ${String(err)}`, { cause: err });
  }
}

// A uid becomes a path component: refuse anything that could climb out of the tree.
const SAFE_UID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/;

export function isSafeUid(uid: string): boolean {
  return SAFE_UID.test(uid) && uid !== '..';
}

/**
 * Driverless layout: makes <prefix>/mount/<uid>/ ours and not writable by the pod that mounts it,
 * unlike the CSI driver's 0777 directories. An existing directory (an earlier run's, perhaps 0777)
 * is opened without following symbolic links and fixed through that descriptor, never by path;
 * a symbolic link, or a directory that another user owns, is refused.
 */
export async function prepareDriverlessMountDir(dir: string): Promise<void> {
  await mkdir(dirname(dir), { recursive: true, mode: DRIVERLESS_DIR_MODE });
  await mkdir(dir, { mode: DRIVERLESS_DIR_MODE }).catch((err: unknown) => {
    if (!(err instanceof Error && (err as NodeJS.ErrnoException).code === 'EEXIST')) throw err;
  });
  const handle = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW).catch(
    (err: unknown) => {
      const code = err instanceof Error ? (err as NodeJS.ErrnoException).code : undefined;
      if (code === 'ELOOP' || code === 'ENOTDIR')
        throw new Error(`refusing to use ${dir}: it is not a directory (a symbolic link or a file)`, {
          cause: err,
        });
      throw err;
    },
  );
  try {
    const st = await handle.stat();
    if (st.uid !== process.geteuid?.()) {
      throw new Error(`refusing to use ${dir}: it belongs to uid ${st.uid}, not to this process`);
    }
    // The umask may have narrowed mkdir's mode, and an older alp-node made these 0777.
    if ((st.mode & 0o7777) !== DRIVERLESS_DIR_MODE) await handle.chmod(DRIVERLESS_DIR_MODE);
  } finally {
    await handle.close();
  }
}

/** Reads a CSI credentials file; null if it is not one (the file is then ignored, as Felix does). */
export function parseCredentials(text: string): PodIdentity | null {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return null;
  }
  if (!isRecord(raw)) return null;
  const field = (k: string) => (typeof raw[k] === 'string' ? raw[k] : '');
  const id = {
    uid: field('UID'),
    namespace: field('Namespace'),
    workload: field('Workload'),
    serviceAccount: field('ServiceAccount'),
  };
  if (!isSafeUid(id.uid) || id.namespace === '' || id.workload === '') return null;
  return id;
}

export interface CredentialsWatcherOptions {
  readonly prefix: string;
  readonly log: Logger;
  /** Felix's binder polls every 100 ms. */
  readonly intervalMs?: number;
  /** Called with the full set of identities whenever it changes. */
  readonly onChange: (identities: ReadonlyMap<string, PodIdentity>) => void;
}

/** Polls <prefix>/creds/ for the CSI driver's credential files. */
export class CredentialsWatcher {
  private timer: NodeJS.Timeout | null = null;
  private current = new Map<string, PodIdentity>();
  private fingerprint = '';
  private readonly bad = new Set<string>();
  private scanning = false;

  constructor(private readonly opts: CredentialsWatcherOptions) {}

  async start(): Promise<void> {
    await this.scan();
    this.timer = setInterval(() => void this.scan(), this.opts.intervalMs ?? 100);
    this.timer.unref();
  }

  close(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  private async scan(): Promise<void> {
    if (this.scanning) return;
    this.scanning = true;
    try {
      const dir = credsDir(this.opts.prefix);
      const names = (await readdir(dir).catch(() => [] as string[]))
        .filter((n) => n.endsWith('.json'))
        .sort();
      const next = new Map<string, PodIdentity>();
      for (const name of names) {
        const text = await readFile(join(dir, name), 'utf8').catch(() => null);
        const id = text === null ? null : parseCredentials(text);
        if (id === null || `${id.uid}.json` !== name) {
          if (text !== null && !this.bad.has(name))
            this.opts.log.warn({ file: name }, 'ignoring malformed credentials file');
          this.bad.add(name);
          continue;
        }
        this.bad.delete(name);
        next.set(id.uid, id);
      }
      const fp = JSON.stringify([...next.values()]);
      if (fp !== this.fingerprint) {
        this.fingerprint = fp;
        this.current = next;
        this.opts.onChange(this.current);
      }
    } finally {
      this.scanning = false;
    }
  }
}
