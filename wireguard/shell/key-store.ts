// Keeps each family's private key in a 0600 file in the state directory, so a restart or a
// reboot keeps the node's identity. Unlike Felix, whose key lives only in the kernel device and
// is regenerated whenever the device is recreated (spec §2.1), peers never have to relearn it.
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, readdir, readFile, rename, rm, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { IpFamily } from '../../calico/ip.js';
import { generateKeyPair, keyPairFromPrivate, type KeyPair } from '../core/keys.js';

export type KeyLoad =
  | { readonly kind: 'loaded'; readonly keyPair: KeyPair; readonly path: string }
  | {
      readonly kind: 'created';
      readonly keyPair: KeyPair;
      readonly path: string;
      readonly replaced?: string;
    };

export function keyFilePath(stateDir: string, family: IpFamily): string {
  return join(stateDir, family === 4 ? 'wireguard-v4.key' : 'wireguard-v6.key');
}

/**
 * Reads the family's key, or creates one when the file is missing or does not hold a valid key
 * (the bad file is replaced, and `replaced` says why). The file is written to a temporary name
 * with mode 0600 and renamed into place, so a crash never leaves a half-written key.
 */
export async function loadOrCreateKeyPair(stateDir: string, family: IpFamily): Promise<KeyLoad> {
  const path = keyFilePath(stateDir, family);
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  await removeLeftoverTempFiles(path);
  let replaced: string | undefined;
  try {
    const text = (await readFile(path, 'utf8')).trim();
    const keyPair = keyPairFromPrivate(text);
    if (keyPair !== null) {
      await chmod(path, 0o600);
      return { kind: 'loaded', keyPair, path };
    }
    replaced = 'file does not hold a valid WireGuard private key';
  } catch (err: unknown) {
    if (!isNotFound(err)) throw err;
  }
  const keyPair = generateKeyPair();
  await writeFileAtomically(path, `${keyPair.privateKey}\n`);
  return replaced === undefined
    ? { kind: 'created', keyPair, path }
    : { kind: 'created', keyPair, path, replaced };
}

/**
 * Writes a fresh 0600 file under a random name beside `path`, then renames it over `path`. The
 * exclusive create means the key never lands in a file someone else made (with their mode, or as
 * a symlink), even when a crashed run of the same pid left its temporary file behind.
 */
async function writeFileAtomically(path: string, contents: string): Promise<void> {
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
  const dir = await open(dirname(path), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

const TEMP_SUFFIX = '.tmp';

/** A crash between writing and renaming leaves a private key in a temporary file; not for long. */
async function removeLeftoverTempFiles(path: string): Promise<void> {
  const prefix = `${basename(path)}.`;
  const names = await readdir(dirname(path));
  const leftovers = names.filter((n) => n.startsWith(prefix) && n.endsWith(TEMP_SUFFIX));
  await Promise.all(leftovers.map((n) => rm(join(dirname(path), n), { force: true })));
}

function isNotFound(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 'ENOENT';
}
