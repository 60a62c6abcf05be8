// The key files on a real file system: created 0600 in a 0700 directory, loaded again unchanged,
// and replaced only by renaming a fresh file over the old one, so no reader ever sees a partly
// written key and nothing the directory already held is written through.
import {
  chmodSync,
  linkSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { keyFilePath, loadOrCreateKeyPair } from './key-store.js';
import { generateKeyPair, keyPairFromPrivate } from '../core/keys.js';

let root: string;
let stateDir: string;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'alp-key-store-'));
  stateDir = join(root, 'state');
});

afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

const mode = (path: string): number => statSync(path).mode & 0o777;

describe('loadOrCreateKeyPair', () => {
  it('creates the key in a 0600 file inside a 0700 directory, leaving nothing else behind', async () => {
    const load = await loadOrCreateKeyPair(stateDir, 4);
    expect(load.kind).toBe('created');
    expect(load.path).toBe(keyFilePath(stateDir, 4));
    expect(mode(stateDir)).toBe(0o700);
    expect(mode(load.path)).toBe(0o600);
    expect(keyPairFromPrivate(readFileSync(load.path, 'utf8').trim())).toEqual(load.keyPair);
    expect(readdirSync(stateDir)).toEqual(['wireguard-v4.key']);
  });

  it('loads the same key on the next start and tightens a loosened mode back to 0600', async () => {
    const first = await loadOrCreateKeyPair(stateDir, 6);
    chmodSync(first.path, 0o644);
    const again = await loadOrCreateKeyPair(stateDir, 6);
    expect(again).toEqual({ kind: 'loaded', keyPair: first.keyPair, path: first.path });
    expect(mode(first.path)).toBe(0o600);
  });

  it('replaces an unusable file by renaming a new one over it, never rewriting it in place', async () => {
    mkdirSync(stateDir, { mode: 0o700 });
    const path = keyFilePath(stateDir, 4);
    writeFileSync(path, 'not a key\n', { mode: 0o644 });
    // A second name for the old file: an in-place rewrite would show through it, a rename does not.
    const oldFile = join(root, 'old-key-file');
    linkSync(path, oldFile);

    const load = await loadOrCreateKeyPair(stateDir, 4);
    expect(load).toMatchObject({ kind: 'created', replaced: expect.stringMatching(/not hold a valid/) });
    expect(statSync(path).ino).not.toBe(statSync(oldFile).ino);
    expect(readFileSync(oldFile, 'utf8')).toBe('not a key\n');
    expect(mode(path)).toBe(0o600);
    expect(keyPairFromPrivate(readFileSync(path, 'utf8').trim())).toEqual(load.keyPair);
    expect(readdirSync(stateDir)).toEqual(['wireguard-v4.key']);
  });

  it('removes temporary files a crashed run left, and never writes the key through one', async () => {
    mkdirSync(stateDir, { mode: 0o700 });
    const path = keyFilePath(stateDir, 4);
    const elsewhere = join(root, 'elsewhere');
    writeFileSync(elsewhere, 'untouched\n', { mode: 0o644 });
    // Names a writer of this pid, or of an earlier one, would have used for its temporary file.
    symlinkSync(elsewhere, `${path}.${process.pid}.tmp`);
    writeFileSync(`${path}.0a1b2c3d4e5f.tmp`, `${generateKeyPair().privateKey}\n`, { mode: 0o600 });

    const load = await loadOrCreateKeyPair(stateDir, 4);
    expect(load.kind).toBe('created');
    expect(readFileSync(elsewhere, 'utf8')).toBe('untouched\n');
    expect(lstatSync(path).isFile()).toBe(true);
    expect(mode(path)).toBe(0o600);
    expect(readdirSync(stateDir)).toEqual(['wireguard-v4.key']);
  });
});
