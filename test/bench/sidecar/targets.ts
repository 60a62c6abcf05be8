// The sidecars a benchmark can measure, started the same way: `<binary> server -l <socket> -d
// <felix socket>`, output to a log file (not to the benchmark, which would then spend its own CPU
// on every denial's log line), measured through /proc/<pid> of the sidecar process itself.
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, waitFor } from '../../harness/process.js';

export interface SidecarTarget {
  /** What the tables call it. */
  readonly name: string;
  /** argv[0..] before `server -l … -d …`. */
  readonly command: readonly string[];
  /** Serves no policy (the node:http2 floor): answers every call OK, needs no Felix. */
  readonly answersOkOnly?: boolean;
  /** Runs on Node.js (so NODE_OPTIONS reaches it): alp-mesh's builds, not Calico's Dikastes. */
  readonly isNode?: boolean;
}

/**
 * alp-mesh's sidecar as deployed: bin/dikastes executed, so its launcher's V8 flags apply. With
 * `nodeFlags`, `node <nodeFlags> bin/dikastes` instead (those flags in place of the launcher's).
 */
export function alpMeshTarget(nodeFlags: readonly string[] = []): SidecarTarget {
  const launcher = join(REPO_ROOT, 'bin', 'dikastes');
  return {
    name: 'alp-mesh',
    isNode: true,
    command: nodeFlags.length === 0 ? [launcher] : [process.execPath, ...nodeFlags, launcher],
  };
}

export function floorTarget(): SidecarTarget {
  return {
    name: 'node:http2 floor',
    command: [process.execPath, join(REPO_ROOT, 'dist-test', 'test', 'bench', 'sidecar', 'floor-server.js')],
    answersOkOnly: true,
    isNode: true,
  };
}

export function binaryTarget(name: string, path: string): SidecarTarget {
  return { name, command: [path] };
}

export interface RunningSidecar {
  readonly pid: number;
  readonly logFile: string;
  stop(): Promise<void>;
}

export async function startTarget(
  target: SidecarTarget,
  listen: string,
  felixSocket: string,
  logFile: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<RunningSidecar> {
  const fd = openSync(logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(
      target.command[0]!,
      [...target.command.slice(1), 'server', '-l', listen, '-d', felixSocket],
      {
        stdio: ['ignore', fd, fd],
        env,
      },
    );
  } finally {
    closeSync(fd);
  }
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const kill = () => child.kill('SIGKILL');
  process.once('exit', kill);
  await waitFor(`${target.name}'s socket`, () => {
    if (child.exitCode !== null) throw new Error(`${target.name} exited; see ${logFile}`);
    try {
      return statSync(listen).isSocket();
    } catch {
      return false;
    }
  });
  return {
    pid: child.pid ?? -1,
    logFile,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(kill, 10_000);
        await exited;
        clearTimeout(timer);
      }
      process.off('exit', kill);
    },
  };
}
