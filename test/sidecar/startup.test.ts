// `dikastes server` starts on its own socket or not at all: it replaces only a stale socket at the
// listen path, and refuses anything else there without following or changing it.
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
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ChildRun, fileExists, runToEnd, waitFor } from '../harness/process.js';

let dir: string;
let listen: string;
let felixPath: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'alp-startup-'));
  listen = join(dir, 'dikastes.sock');
  felixPath = join(dir, 'felix.sock');
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const server = (...extra: string[]) => ['server', '-l', listen, '-d', felixPath, ...extra];

describe('dikastes server and what it finds at the listen path', () => {
  it('--listen naming a symbolic link: refused and not followed; the link and its target stay as they were', async () => {
    const target = join(dir, 'host-file');
    writeFileSync(target, 'keep me');
    chmodSync(target, 0o600);
    symlinkSync(target, listen);
    const run = await runToEnd('dikastes', server());
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`refusing to replace ${listen}: it is a symbolic link, not a socket`);
    expect(readlinkSync(listen)).toBe(target);
    expect(statSync(target).mode & 0o777).toBe(0o600);
    expect(readFileSync(target, 'utf8')).toBe('keep me');
  });

  it('--listen naming a regular file: refused, the file left alone (Calico would delete it)', async () => {
    writeFileSync(listen, 'not a socket');
    const run = await runToEnd('dikastes', server());
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('it is a regular file, not a socket');
    expect(readFileSync(listen, 'utf8')).toBe('not a socket');
  });

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
});
