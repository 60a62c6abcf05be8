import { chmodSync, lstatSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  isSafeUid,
  mountDir,
  parseCredentials,
  prepareDriverlessMountDir,
  socketPath,
} from './pod-sockets.js';

describe('parseCredentials (the CSI driver’s <prefix>/creds/<uid>.json)', () => {
  it('reads UID, Workload, Namespace and ServiceAccount', () => {
    expect(
      parseCredentials('{"UID":"1d2c","Workload":"web-1","Namespace":"prod","ServiceAccount":"web"}'),
    ).toEqual({ uid: '1d2c', workload: 'web-1', namespace: 'prod', serviceAccount: 'web' });
  });
  it.each([
    ['not JSON', 'nope'],
    ['no workload', '{"UID":"a","Namespace":"ns"}'],
    ['a UID that would leave the directory', '{"UID":"../etc","Workload":"w","Namespace":"ns"}'],
    ['a UID with a slash', '{"UID":"a/b","Workload":"w","Namespace":"ns"}'],
  ])('ignores a file with %s', (_rule, text) => {
    expect(parseCredentials(text)).toBeNull();
  });
});

describe('socket layout', () => {
  it('puts the socket where the CSI driver bind-mounts the pod’s directory', () => {
    expect(socketPath('/var/run/nodeagent', 'abc')).toBe('/var/run/nodeagent/mount/abc/socket');
  });
  it.each([
    ['a Kubernetes UID is safe', '6b1d2c4e-0001-4000-8000-00000000c001', true],
    ['.. is not', '..', false],
    ['an empty string is not', '', false],
  ])('%s', (_rule, uid, safe) => {
    expect(isSafeUid(uid)).toBe(safe);
  });
});

describe('prepareDriverlessMountDir (driverless: the directory is ours, not the pod’s)', () => {
  let prefix: string;
  beforeEach(() => {
    prefix = mkdtempSync(join(tmpdir(), 'alp-pod-sockets-'));
  });
  afterEach(() => rmSync(prefix, { recursive: true, force: true }));
  const modeOf = (path: string): number => lstatSync(path).mode & 0o7777;

  it('creates <prefix>/mount/<uid>/ with mode 0755, whatever the umask', async () => {
    const before = process.umask(0o077);
    try {
      await prepareDriverlessMountDir(mountDir(prefix, 'pod-a'));
    } finally {
      process.umask(before);
    }
    expect(modeOf(mountDir(prefix, 'pod-a'))).toBe(0o755);
  });

  it('takes back a directory an earlier alp-node left writable by everyone (0777 → 0755)', async () => {
    mkdirSync(mountDir(prefix, 'pod-a'), { recursive: true });
    chmodSync(mountDir(prefix, 'pod-a'), 0o777);
    await prepareDriverlessMountDir(mountDir(prefix, 'pod-a'));
    expect(modeOf(mountDir(prefix, 'pod-a'))).toBe(0o755);
  });

  it('refuses a symbolic link in place of the directory, and leaves the directory it names alone', async () => {
    const elsewhere = join(prefix, 'host-dir');
    mkdirSync(elsewhere, { mode: 0o700 });
    chmodSync(elsewhere, 0o700);
    mkdirSync(join(prefix, 'mount'));
    symlinkSync(elsewhere, mountDir(prefix, 'pod-a'));
    await expect(prepareDriverlessMountDir(mountDir(prefix, 'pod-a'))).rejects.toThrow(
      /refusing to use .*pod-a: it is not a directory/,
    );
    expect(modeOf(elsewhere)).toBe(0o700);
    expect(lstatSync(mountDir(prefix, 'pod-a')).isSymbolicLink()).toBe(true);
  });

  it('refuses a file in place of the directory', async () => {
    mkdirSync(join(prefix, 'mount'));
    writeFileSync(mountDir(prefix, 'pod-a'), '');
    await expect(prepareDriverlessMountDir(mountDir(prefix, 'pod-a'))).rejects.toThrow(/not a directory/);
  });
});
