// The key files on a real file system: rotation through `<key>.next`, the old key's bytes
// overwritten (seen through a descriptor opened before, which reaches the same inode), and a
// rotation interrupted by a crash finished at the next load.
import { link, mkdtemp, open, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  discardNextKeyPair,
  keyFilePath,
  loadOrCreateKeyPair,
  prepareNextKeyPair,
  promoteNextKeyPair,
  wipeFile,
} from './key-store.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'alp-keys-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const exists = (path: string): Promise<boolean> =>
  stat(path).then(
    () => true,
    () => false,
  );

describe('key rotation files', () => {
  it('promotes the next key over the old one (0600) and overwrites the old key’s bytes', async () => {
    const old = await loadOrCreateKeyPair(dir, 4);
    const path = keyFilePath(dir, 4);
    const oldInode = await open(path, 'r');
    try {
      const next = await prepareNextKeyPair(dir, 4);
      expect((await stat(`${path}.next`)).mode & 0o777).toBe(0o600);
      await promoteNextKeyPair(dir, 4);
      expect((await readFile(path, 'utf8')).trim()).toBe(next.privateKey);
      expect((await stat(path)).mode & 0o777).toBe(0o600);
      expect(await exists(`${path}.next`)).toBe(false);
      const leftover = await oldInode.readFile();
      expect(leftover.length).toBe(old.keyPair.privateKey.length + 1);
      expect(leftover.every((b) => b === 0)).toBe(true);
    } finally {
      await oldInode.close();
    }
  });

  it('discards a next key by overwriting it before unlinking', async () => {
    await prepareNextKeyPair(dir, 6);
    const next = `${keyFilePath(dir, 6)}.next`;
    // A second name for the same bytes: it sees what the disk now holds.
    await link(next, join(dir, 'witness'));
    await discardNextKeyPair(dir, 6);
    expect(await exists(next)).toBe(false);
    expect((await readFile(join(dir, 'witness'))).every((b) => b === 0)).toBe(true);
    await discardNextKeyPair(dir, 6);
  });

  it('finishes a rotation interrupted after the next key was written: the next key is loaded', async () => {
    await loadOrCreateKeyPair(dir, 4);
    const next = await prepareNextKeyPair(dir, 4);
    const load = await loadOrCreateKeyPair(dir, 4);
    expect(load).toEqual({
      kind: 'loaded',
      keyPair: next,
      path: keyFilePath(dir, 4),
      finishedRotation: true,
    });
    expect(await exists(`${keyFilePath(dir, 4)}.next`)).toBe(false);
  });

  it('drops an unreadable next key at load and keeps the current one', async () => {
    const current = await loadOrCreateKeyPair(dir, 4);
    await writeFile(`${keyFilePath(dir, 4)}.next`, 'not a key\n', { mode: 0o600 });
    const load = await loadOrCreateKeyPair(dir, 4);
    expect(load).toEqual({ kind: 'loaded', keyPair: current.keyPair, path: keyFilePath(dir, 4) });
    expect(await exists(`${keyFilePath(dir, 4)}.next`)).toBe(false);
  });

  it('wipeFile is a no-op for a missing file', async () => {
    await expect(wipeFile(join(dir, 'absent'))).resolves.toBeUndefined();
  });
});
