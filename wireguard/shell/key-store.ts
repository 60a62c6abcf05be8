// Keeps each family's private key in a 0600 file in the state directory, so a restart or a
// reboot keeps the node's identity. Unlike Felix, whose key lives only in the kernel device and
// is regenerated whenever the device is recreated (spec §2.1), peers never have to relearn it.
//
// Rotation (key-rotation.ts) goes through a second file: the new key is written to
// `<key>.next` before anyone learns it, then promoted over the old one, whose bytes are
// overwritten before the last link to them goes. A rotation interrupted by a crash is finished
// at the next start (the published key may already be the new one).
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, readdir, readFile, rename, rm, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { IpFamily } from '../../calico/ip.js';
import { generateKeyPair, keyPairFromPrivate, type KeyPair } from '../core/keys.js';

export type KeyLoad =
  | {
      readonly kind: 'loaded';
      readonly keyPair: KeyPair;
      readonly path: string;
      /** A rotation was interrupted; its new key was promoted at load. */
      readonly finishedRotation?: boolean;
    }
  | {
      readonly kind: 'created';
      readonly keyPair: KeyPair;
      readonly path: string;
      readonly replaced?: string;
    };

export function keyFilePath(stateDir: string, family: IpFamily): string {
  return join(stateDir, family === 4 ? 'wireguard-v4.key' : 'wireguard-v6.key');
}

function nextKeyFilePath(stateDir: string, family: IpFamily): string {
  return `${keyFilePath(stateDir, family)}.next`;
}

/**
 * Reads the family's key, or creates one when the file is missing or does not hold a valid key
 * (the bad file is replaced, and `replaced` says why). The file is written to a temporary name
 * with mode 0600 and renamed into place, so a crash never leaves a half-written key.
 */
export async function loadOrCreateKeyPair(stateDir: string, family: IpFamily): Promise<KeyLoad> {
  const [load] = await loadOrCreateKeyPairs(stateDir, [family]);
  return load as KeyLoad;
}

/**
 * loadOrCreateKeyPair for several families at once. During a busy start each file-system call
 * waits for the event loop before the next one can begin, so the families share what they can:
 * one listing of the directory (which also says which files there are to read at all) and one
 * sync of it, once every new key file has been renamed into place.
 */
export async function loadOrCreateKeyPairs(
  stateDir: string,
  families: readonly IpFamily[],
): Promise<KeyLoad[]> {
  const names = new Set(await listOrCreateDirectory(stateDir));
  const loads = await Promise.all(families.map((family) => loadOrCreateListed(stateDir, family, names)));
  // Every rename is durable once the directory is on disk; until then no key has been used.
  if (loads.some((l) => l.kind === 'created')) await syncDirectory(stateDir);
  return loads;
}

/** The names in `dir`, which is created (0700) when missing. */
async function listOrCreateDirectory(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (err: unknown) {
    if (!isNotFound(err)) throw err;
  }
  await mkdir(dir, { recursive: true, mode: 0o700 });
  return [];
}

/** One family's key, given the names the state directory held; a new file's rename is not synced. */
async function loadOrCreateListed(
  stateDir: string,
  family: IpFamily,
  names: ReadonlySet<string>,
): Promise<KeyLoad> {
  const path = keyFilePath(stateDir, family);
  await removeLeftoverTempFiles(path, names);
  const finishedRotation =
    names.has(basename(nextKeyFilePath(stateDir, family))) &&
    (await finishInterruptedRotation(stateDir, family));
  let replaced: string | undefined;
  if (finishedRotation || names.has(basename(path))) {
    try {
      // Tightened while it is read: a file that turns out unusable is replaced (renamed over) anyway.
      const [keyPair] = await Promise.all([readKeyFile(path), chmod(path, 0o600)]);
      if (keyPair !== null) {
        return finishedRotation
          ? { kind: 'loaded', keyPair, path, finishedRotation }
          : { kind: 'loaded', keyPair, path };
      }
      replaced = 'file does not hold a valid WireGuard private key';
    } catch (err: unknown) {
      if (!isNotFound(err)) throw err;
    }
  }
  const keyPair = generateKeyPair();
  await writeFileAtomically(path, `${keyPair.privateKey}\n`, { isDirectorySynced: false });
  return replaced === undefined
    ? { kind: 'created', keyPair, path }
    : { kind: 'created', keyPair, path, replaced };
}

/** Step 1 of a rotation: a new key pair, durably in `<key>.next` (0600) before it is used. */
export async function prepareNextKeyPair(stateDir: string, family: IpFamily): Promise<KeyPair> {
  const keyPair = generateKeyPair();
  await writeKeyFile(nextKeyFilePath(stateDir, family), keyPair);
  return keyPair;
}

/**
 * Last step of a rotation: `<key>.next` becomes the key file, and the old key's bytes are
 * overwritten. The rename is atomic, so the key file always holds a whole key.
 */
export async function promoteNextKeyPair(stateDir: string, family: IpFamily): Promise<void> {
  const path = keyFilePath(stateDir, family);
  // Held open across the rename: afterwards it is the only way left to reach the old bytes.
  const old = await open(path, 'r+').catch((err: unknown) => {
    if (isNotFound(err)) return null;
    throw err;
  });
  try {
    await rename(nextKeyFilePath(stateDir, family), path);
    await syncDirectory(dirname(path));
    if (old !== null) await overwrite(old);
  } finally {
    await old?.close();
  }
}

/** A rotation that failed before anyone used its key: the new key goes, wiped. */
export async function discardNextKeyPair(stateDir: string, family: IpFamily): Promise<void> {
  await wipeFile(nextKeyFilePath(stateDir, family));
}

/** When the newest key file was written: the last rotation (or creation) of the node's keys. */
export async function lastKeyChangeMs(stateDir: string): Promise<number | null> {
  const times = await Promise.all(
    ([4, 6] as const).map((f) =>
      stat(keyFilePath(stateDir, f)).then(
        (s) => s.mtimeMs,
        () => null,
      ),
    ),
  );
  const known = times.filter((t): t is number => t !== null);
  return known.length === 0 ? null : Math.max(...known);
}

/**
 * Overwrites a file's bytes with zeros, syncs, and unlinks it; a missing file is fine.
 * This makes the old key unreadable through the file system and from the disk blocks on
 * filesystems that write in place (ext4 with the default data=ordered, xfs). It cannot reach
 * copies the storage keeps elsewhere: a copy-on-write filesystem (btrfs, zfs) or a snapshot
 * writes the zeros to new blocks, ext4 with data=journal may hold the bytes in its journal, and
 * an SSD remaps blocks internally. Put the state directory on tmpfs, or on an encrypted volume,
 * where that matters.
 */
export async function wipeFile(path: string): Promise<void> {
  const handle = await open(path, 'r+').catch((err: unknown) => {
    if (isNotFound(err)) return null;
    throw err;
  });
  if (handle === null) return;
  try {
    await overwrite(handle);
  } finally {
    await handle.close();
  }
  await unlink(path).catch((err: unknown) => {
    if (!isNotFound(err)) throw err;
  });
}

async function overwrite(handle: Awaited<ReturnType<typeof open>>): Promise<void> {
  const { size } = await handle.stat();
  if (size > 0) await handle.write(Buffer.alloc(size), 0, size, 0);
  await handle.sync();
}

/** A `.next` file left by a crash: promote it if it holds a key, else remove it. */
async function finishInterruptedRotation(stateDir: string, family: IpFamily): Promise<boolean> {
  const next = nextKeyFilePath(stateDir, family);
  let keyPair: KeyPair | null;
  try {
    keyPair = await readKeyFile(next);
  } catch (err: unknown) {
    if (isNotFound(err)) return false;
    throw err;
  }
  if (keyPair === null) {
    await wipeFile(next);
    return false;
  }
  await promoteNextKeyPair(stateDir, family);
  return true;
}

async function readKeyFile(path: string): Promise<KeyPair | null> {
  return keyPairFromPrivate((await readFile(path, 'utf8')).trim());
}

async function writeKeyFile(path: string, keyPair: KeyPair): Promise<void> {
  await writeFileAtomically(path, `${keyPair.privateKey}\n`);
}

/**
 * Writes a fresh 0600 file under a random name beside `path`, then renames it over `path`. The
 * exclusive create means the key never lands in a file someone else made (with their mode, or as
 * a symlink), even when a crashed run of the same pid left its temporary file behind. Unless the
 * caller syncs the directory itself, the rename is synced before this returns.
 */
async function writeFileAtomically(
  path: string,
  contents: string,
  { isDirectorySynced = true }: { isDirectorySynced?: boolean } = {},
): Promise<void> {
  const tmp = `${path}.${randomBytes(6).toString('hex')}${TEMP_SUFFIX}`;
  try {
    const handle = await open(tmp, 'wx', 0o600);
    try {
      await handle.writeFile(contents);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, path);
  } catch (err: unknown) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  // The rename is only durable once the directory is on disk too.
  if (isDirectorySynced) await syncDirectory(dirname(path));
}

const TEMP_SUFFIX = '.tmp';

/** A crash between writing and renaming leaves a private key in a temporary file; not for long. */
async function removeLeftoverTempFiles(path: string, names: ReadonlySet<string>): Promise<void> {
  const prefix = `${basename(path)}.`;
  const leftovers = [...names].filter((n) => n.startsWith(prefix) && n.endsWith(TEMP_SUFFIX));
  await Promise.all(leftovers.map((n) => rm(join(dirname(path), n), { force: true })));
}

async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function isNotFound(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 'ENOENT';
}
