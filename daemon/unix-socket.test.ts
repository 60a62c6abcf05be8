import * as grpc from '@grpc/grpc-js';
import {
  chmodSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import type { Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadHealthz } from '../proto/load.js';
import { listenUnixSocket, removeStaleSocket, serveGrpcOnUnixSocket, unixTarget } from './unix-socket.js';

let dir: string;
const open: Server[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'alp-unix-socket-'));
});
afterEach(() => {
  for (const s of open.splice(0)) s.close();
  rmSync(dir, { recursive: true, force: true });
});

const modeOf = (path: string): number => lstatSync(path).mode & 0o777;

describe('listenUnixSocket', () => {
  it.each([
    ['0777', 0o777],
    ['0660', 0o660],
  ])(
    'bind itself gives the socket mode %s, whatever the umask, which is left as it was',
    async (_octal, mode) => {
      const before = process.umask(0o077);
      try {
        const path = join(dir, 's.sock');
        open.push(await listenUnixSocket(path, mode));
        expect(lstatSync(path).isSocket()).toBe(true);
        expect(modeOf(path)).toBe(mode);
        expect(process.umask()).toBe(0o077);
      } finally {
        process.umask(before);
      }
    },
  );

  it('names a missing directory instead of libuv’s "permission denied"', async () => {
    await expect(listenUnixSocket(join(dir, 'absent', 's.sock'), 0o777)).rejects.toThrow(
      `directory ${join(dir, 'absent')} does not exist`,
    );
  });

  it('fails on a live socket rather than taking it over', async () => {
    const path = join(dir, 's.sock');
    open.push(await listenUnixSocket(path, 0o777));
    await expect(listenUnixSocket(path, 0o777)).rejects.toThrow(/EADDRINUSE/);
  });
});

describe('removeStaleSocket', () => {
  it('removes a socket, and is content when nothing is there', async () => {
    const path = join(dir, 's.sock');
    // Any socket counts as stale, as in Dikastes: a live one is replaced too.
    const server = await listenUnixSocket(path, 0o777);
    removeStaleSocket(path);
    expect(lstatSync(path, { throwIfNoEntry: false })).toBeUndefined();
    server.close();
    expect(() => removeStaleSocket(join(dir, 'never-there'))).not.toThrow();
  });

  it('refuses a symbolic link, without following it: the link stays and its target is untouched', () => {
    const target = join(dir, 'host-file');
    writeFileSync(target, 'secret');
    chmodSync(target, 0o600);
    const path = join(dir, 's.sock');
    symlinkSync(target, path);
    expect(() => removeStaleSocket(path)).toThrow(
      `refusing to replace ${path}: it is a symbolic link, not a socket`,
    );
    expect(readlinkSync(path)).toBe(target);
    expect(statSync(target).mode & 0o777).toBe(0o600);
  });

  it.each([
    ['a regular file', (p: string) => writeFileSync(p, 'data')],
    ['a directory', (p: string) => mkdirSync(p)],
  ])('refuses %s and leaves it in place', (kind, make) => {
    const path = join(dir, 's.sock');
    make(path);
    expect(() => removeStaleSocket(path)).toThrow(`it is a ${kind.replace(/^an? /, '')}, not a socket`);
    expect(lstatSync(path, { throwIfNoEntry: false })).toBeDefined();
  });
});

describe('serveGrpcOnUnixSocket', () => {
  it('serves gRPC calls on the socket; close removes the socket file', async () => {
    const server = new grpc.Server();
    server.addService(loadHealthz().dikastes.Healthz.service, {
      CheckLiveness: (_call: unknown, cb: grpc.sendUnaryData<{ healthy: boolean }>) =>
        cb(null, { healthy: true }),
      CheckReadiness: (_call: unknown, cb: grpc.sendUnaryData<{ healthy: boolean }>) =>
        cb(null, { healthy: false }),
    });
    const path = join(dir, 'grpc.sock');
    const listener = await serveGrpcOnUnixSocket(server, path, 0o777);
    expect(modeOf(path)).toBe(0o777);
    const { Healthz } = loadHealthz().dikastes;
    const client = new Healthz(unixTarget(path), grpc.credentials.createInsecure());
    try {
      const answer = await new Promise((resolve, reject) =>
        client.CheckLiveness({}, (err, res) => (err ? reject(err) : resolve(res))),
      );
      expect(answer).toEqual({ healthy: true });
    } finally {
      client.close();
      listener.close();
      server.forceShutdown();
    }
    expect(lstatSync(path, { throwIfNoEntry: false })).toBeUndefined();
  });
});
