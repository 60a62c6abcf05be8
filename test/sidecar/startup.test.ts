// `dikastes server` starts completely or not at all: each start-up failure exits non-zero by
// itself with a message naming the problem and leaves no socket file behind, and a stop signal is
// obeyed in every state, including while the PolicySync source never answers.
import {
  chmodSync,
  lstatSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ChildRun, fileExists, runToEnd, waitFor } from '../harness/process.js';

let dir: string;
let listen: string;
let felixPath: string;
const servers: Server[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'alp-startup-'));
  listen = join(dir, 'dikastes.sock');
  felixPath = join(dir, 'felix.sock');
});
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A TCP port on 127.0.0.1 that this test process holds, so dikastes cannot have it. */
async function portInUse(): Promise<number> {
  const server = createServer();
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('no port');
  return addr.port;
}

const server = (...extra: string[]) => ['server', '-l', listen, '-d', felixPath, ...extra];

describe('dikastes server refuses bad listen addresses before starting anything (exit 2)', () => {
  it.each([
    [['--metrics-addr', 'nonsense'], 'invalid --metrics-addr "nonsense"'],
    [['--metrics-addr', '127.0.0.1:70000'], 'invalid --metrics-addr "127.0.0.1:70000"'],
    [['--listen-tcp', 'localhost'], 'invalid --listen-tcp "localhost"'],
    [['--listen-tcp', '[not-v6]:80'], 'invalid --listen-tcp "[not-v6]:80"'],
  ])('%j', async (flags, message) => {
    const run = await runToEnd('dikastes', server(...flags));
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(message);
    expect(fileExists(listen)).toBe(false);
  });
});

describe('dikastes server start-up failures close what had started and exit 1', () => {
  /** The fatal log line's message. */
  function fatal(stderr: string): string {
    const line = stderr
      .split('\n')
      .map((l) => {
        try {
          return JSON.parse(l) as { level?: number; msg?: string };
        } catch {
          return {};
        }
      })
      .find((l) => l.level === 60);
    return line?.msg ?? `(no fatal log line in: ${stderr})`;
  }

  it('--listen-tcp on a port already in use: the Unix socket it had opened is removed', async () => {
    const port = await portInUse();
    const run = await runToEnd('dikastes', server('--listen-tcp', `127.0.0.1:${port}`));
    expect(run.code).toBe(1);
    expect(fatal(run.stderr)).toMatch(
      new RegExp(`^dikastes cannot start: --listen-tcp 127\\.0\\.0\\.1:${port}: .*address already in use`),
    );
    expect(fileExists(listen)).toBe(false);
  });

  it('--listen-tcp with a host name that does not resolve', async () => {
    const run = await runToEnd('dikastes', server('--listen-tcp', 'no-such-host.invalid:9000'));
    expect(run.code).toBe(1);
    expect(fatal(run.stderr)).toMatch(/^dikastes cannot start: --listen-tcp no-such-host\.invalid:9000: /);
    expect(fileExists(listen)).toBe(false);
  });

  it('--metrics-addr on a port already in use', async () => {
    const port = await portInUse();
    const run = await runToEnd('dikastes', server('--metrics-addr', `127.0.0.1:${port}`));
    expect(run.code).toBe(1);
    expect(fatal(run.stderr)).toMatch(
      new RegExp(`^dikastes cannot start: --metrics-addr 127\\.0\\.0\\.1:${port}: .*address already in use`),
    );
    expect(fileExists(listen)).toBe(false);
  });

  it('the /terminate endpoint on a port already in use (after gRPC and metrics had started)', async () => {
    const port = await portInUse();
    const run = await runToEnd(
      'dikastes',
      server('--listen-tcp', '127.0.0.1:0', '--metrics-addr', '127.0.0.1:0'),
      {
        DIKASTES_HTTP_BIND_PORT: String(port),
      },
    );
    expect(run.code).toBe(1);
    expect(fatal(run.stderr)).toMatch(
      /\/terminate endpoint on 127\.0\.0\.1 port \d+ .*address already in use/,
    );
    expect(fatal(run.stderr)).toContain('DIKASTES_HTTP_BIND_PORT');
    expect(fileExists(listen)).toBe(false);
  });

  it('--listen in a directory that does not exist says so', async () => {
    listen = join(dir, 'absent', 'dikastes.sock');
    const run = await runToEnd('dikastes', server());
    expect(run.code).toBe(1);
    expect(fatal(run.stderr)).toContain(`directory ${join(dir, 'absent')} does not exist`);
  });

  it('--listen naming a symbolic link: refused and not followed; the link and its target stay as they were', async () => {
    const target = join(dir, 'host-file');
    writeFileSync(target, 'keep me');
    chmodSync(target, 0o600);
    symlinkSync(target, listen);
    const run = await runToEnd('dikastes', server());
    expect(run.code).toBe(1);
    expect(fatal(run.stderr)).toContain(`refusing to replace ${listen}: it is a symbolic link, not a socket`);
    expect(readlinkSync(listen)).toBe(target);
    expect(statSync(target).mode & 0o777).toBe(0o600);
    expect(readFileSync(target, 'utf8')).toBe('keep me');
  });

  it('--listen naming a regular file: refused, the file left alone (Calico would delete it)', async () => {
    writeFileSync(listen, 'not a socket');
    const run = await runToEnd('dikastes', server());
    expect(run.code).toBe(1);
    expect(fatal(run.stderr)).toContain('it is a regular file, not a socket');
    expect(readFileSync(listen, 'utf8')).toBe('not a socket');
  });
});

describe('dikastes server obeys a stop signal in every state', () => {
  it('replaces the socket a killed dikastes left behind, creating it with mode 0777 at bind', async () => {
    const first = new ChildRun('dikastes', server());
    await waitFor('the first socket', () => fileExists(listen));
    first.signal('SIGKILL');
    await first.exited;
    expect(lstatSync(listen).isSocket()).toBe(true); // stale: nobody removed it
    const second = new ChildRun('dikastes', server());
    try {
      await waitFor('the new server', () => second.logs().some((l) => l.msg === 'dikastes serving'));
      expect(lstatSync(listen).isSocket()).toBe(true);
      expect(lstatSync(listen).mode & 0o777).toBe(0o777);
    } finally {
      await second.stop();
    }
  });

  it('while reconnecting to a PolicySync socket that is not there: exit 0, socket removed', async () => {
    const run = new ChildRun('dikastes', server());
    await waitFor('a reconnect', () => run.logs().some((l) => l.msg === 'reconnecting to policy sync'));
    run.signal('SIGTERM');
    expect(await run.exited).toBe(0);
    expect(fileExists(listen)).toBe(false);
  });

  it.each(['SIGTERM', 'SIGINT'] as const)(
    '%s while the PolicySync socket accepts but never answers: exit 0, socket removed',
    async (signal) => {
      const silent = createServer((socket: Socket) => socket.on('error', () => undefined));
      servers.push(silent);
      let connected = false;
      silent.on('connection', () => (connected = true));
      await new Promise<void>((resolve) => silent.listen(felixPath, resolve));
      const run = new ChildRun('dikastes', server());
      await waitFor('dikastes to dial the silent PolicySync socket', () => connected && fileExists(listen));
      run.signal(signal);
      expect(await run.exited).toBe(0);
      expect(fileExists(listen)).toBe(false);
      expect(run.logs().find((l) => l.msg === 'dikastes stopped')).toMatchObject({ why: signal });
    },
  );
});
