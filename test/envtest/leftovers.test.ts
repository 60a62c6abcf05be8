// The reaper that cleans up after envtest runs whose owner died (see leftovers.ts), run against
// real processes: idle Node children whose command line names (or does not name) a run dir.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { reapLeftovers, RUN_DIR_PREFIX } from '../harness/envtest/leftovers.js';

const started: ChildProcess[] = [];
const parents: string[] = [];

afterEach(() => {
  for (const child of started.splice(0)) child.kill('SIGKILL');
  for (const dir of parents.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** An idle process whose argv carries `marker`, the way etcd's carries its data dir. */
function sleeper(marker: string): ChildProcess {
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 300_000)', marker], { stdio: 'ignore' });
  started.push(child);
  return child;
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
}

async function deadPid(): Promise<number> {
  const child = spawn('true', { stdio: 'ignore' });
  await exited(child);
  return child.pid ?? 0;
}

function runDir(parent: string, ownerPid: number, serverPids: number[]): string {
  const dir = join(parent, `${RUN_DIR_PREFIX}${serverPids.join('-') || 'none'}`);
  mkdirSync(dir);
  writeFileSync(join(dir, 'owner.json'), JSON.stringify({ ownerPid, serverPids }));
  return dir;
}

describe('reapLeftovers', () => {
  it('kills the servers of a dead owner and removes its run dir', async () => {
    const parent = mkdtempSync(join(tmpdir(), 'reap-test-'));
    parents.push(parent);
    const dir = join(parent, `${RUN_DIR_PREFIX}dead`);
    const server = sleeper(dir);
    mkdirSync(dir);
    writeFileSync(
      join(dir, 'owner.json'),
      JSON.stringify({ ownerPid: await deadPid(), serverPids: [server.pid] }),
    );

    expect(reapLeftovers(parent)).toEqual([dir]);
    await exited(server);
    expect(server.signalCode).toBe('SIGKILL');
    expect(existsSync(dir)).toBe(false);
  });

  it('leaves a run alone while its owner is alive', () => {
    const parent = mkdtempSync(join(tmpdir(), 'reap-test-'));
    parents.push(parent);
    const dir = runDir(parent, process.pid, []);
    expect(reapLeftovers(parent)).toEqual([]);
    expect(existsSync(dir)).toBe(true);
  });

  it('never kills a recorded pid whose command line does not name the run dir (pid reused)', async () => {
    const parent = mkdtempSync(join(tmpdir(), 'reap-test-'));
    parents.push(parent);
    const unrelated = sleeper('something-else');
    const dir = runDir(parent, await deadPid(), [unrelated.pid ?? 0]);
    expect(reapLeftovers(parent)).toEqual([dir]);
    // Our own SIGTERM after the reaper: the process dies of it only if the reaper sent nothing
    // (a SIGKILL, once sent, decides how it dies however late it is scheduled).
    unrelated.kill('SIGTERM');
    await exited(unrelated);
    expect(unrelated.signalCode).toBe('SIGTERM');
  });
});
