// Cleans up after envtest runs whose owning Node process died without stopping its servers
// (SIGKILL, a crashed runner). Each run dir records its owner pid and server pids; a server is
// killed only if its command line still names that run dir, so a reused pid is never touched.
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const RUN_DIR_PREFIX = 'alp-envtest-';
const OWNER_FILE = 'owner.json';

interface OwnerRecord {
  readonly ownerPid: number;
  readonly serverPids: readonly number[];
}

export function recordOwner(runDir: string, serverPids: readonly number[]): void {
  const record: OwnerRecord = { ownerPid: process.pid, serverPids };
  writeFileSync(join(runDir, OWNER_FILE), JSON.stringify(record));
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return '';
  }
}

function readOwner(runDir: string): OwnerRecord | undefined {
  try {
    const value: unknown = JSON.parse(readFileSync(join(runDir, OWNER_FILE), 'utf8'));
    if (typeof value !== 'object' || value === null) return undefined;
    const { ownerPid, serverPids } = value as Record<string, unknown>;
    if (typeof ownerPid !== 'number' || !Array.isArray(serverPids)) return undefined;
    return { ownerPid, serverPids: serverPids.filter((p): p is number => typeof p === 'number') };
  } catch {
    return undefined;
  }
}

/** Kills the servers of dead owners and removes their run dirs; returns the dirs removed. */
export function reapLeftovers(parent = tmpdir()): string[] {
  const removed: string[] = [];
  let entries: string[];
  try {
    entries = readdirSync(parent).filter((name) => name.startsWith(RUN_DIR_PREFIX));
  } catch {
    return removed;
  }
  for (const name of entries) {
    const runDir = join(parent, name);
    const owner = readOwner(runDir);
    // No record yet: a run that is still starting up. Leave it alone.
    if (owner === undefined || isAlive(owner.ownerPid)) continue;
    for (const pid of owner.serverPids) {
      if (commandLine(pid).includes(runDir)) process.kill(pid, 'SIGKILL');
    }
    if (existsSync(runDir)) rmSync(runDir, { recursive: true, force: true });
    removed.push(runDir);
  }
  return removed;
}
