// bindWorldAccessible with real sockets: the socket shows up at its path only once it is 0777, and
// it serves there after the rename.
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bindWorldAccessible } from './unix-socket.js';

let dir: string;
let server: Server | null;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'alp-unix-socket-'));
  server = createServer((socket) => socket.end('hello\n'));
});

afterEach(async () => {
  await new Promise((resolve) => (server?.listening ? server.close(resolve) : resolve(undefined)));
  rmSync(dir, { recursive: true, force: true });
});

const listen = (path: string): Promise<void> =>
  new Promise((resolve, reject) => {
    server?.once('error', reject);
    server?.listen(path, () => resolve());
  });

function greeting(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const socket = connect(path);
    socket.on('data', (chunk) => (text += chunk.toString()));
    socket.on('end', () => resolve(text));
    socket.on('error', reject);
  });
}

describe('bindWorldAccessible', () => {
  it('puts the socket at its path only once it is open to every user, and serves there', async () => {
    const path = join(dir, 'socket');
    let seenWhileBinding: boolean | null = null;
    await bindWorldAccessible(path, async (tmp) => {
      await listen(tmp);
      seenWhileBinding = existsSync(path);
    });
    expect(seenWhileBinding).toBe(false);
    expect(lstatSync(path).isSocket()).toBe(true);
    expect(lstatSync(path).mode & 0o777).toBe(0o777);
    expect(readdirSync(dir)).toEqual(['socket']);
    expect(await greeting(path)).toBe('hello\n');
  });

  it('removes the temporary socket and fails when it cannot take the path', async () => {
    const path = join(dir, 'socket');
    mkdirSync(path);
    writeFileSync(join(path, 'in-the-way'), '');
    await expect(bindWorldAccessible(path, listen)).rejects.toThrow();
    expect(readdirSync(dir)).toEqual(['socket']);
  });
});
