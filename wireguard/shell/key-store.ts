// Keeps each family's private key in a 0600 file in the state directory, so a restart or a
// reboot keeps the node's identity. Unlike Felix, whose key lives only in the kernel device and
// is regenerated whenever the device is recreated (spec §2.1), peers never have to relearn it.
import { chmod, mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
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
  const tmp = `${path}.${process.pid}.tmp`;
  const handle = await open(tmp, 'w', 0o600);
  try {
    await handle.writeFile(`${keyPair.privateKey}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(tmp, path);
  } catch (err: unknown) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  return replaced === undefined
    ? { kind: 'created', keyPair, path }
    : { kind: 'created', keyPair, path, replaced };
}

function isNotFound(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 'ENOENT';
}
