// Runs one of our executables as a real child process, collecting its output lines, and stops it
// by pid. Every process started here is killed when the test process exits.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export { REPO_ROOT } from './repo-root.js';
import { REPO_ROOT } from './repo-root.js';

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

export interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export class ChildRun {
  readonly stdoutLines: string[] = [];
  readonly stderrLines: string[] = [];
  readonly exited: Promise<number | null>;
  private readonly child: ChildProcess;

  constructor(bin: string, args: readonly string[], env: Record<string, string> = {}) {
    this.child = spawn(process.execPath, [join(REPO_ROOT, 'bin', bin), ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    live.add(this.child);
    const collect = (stream: NodeJS.ReadableStream | null, into: string[]) => {
      let buf = '';
      stream?.setEncoding('utf8');
      stream?.on('data', (chunk: string) => {
        buf += chunk;
        const parts = buf.split('\n');
        buf = parts.pop() ?? '';
        into.push(...parts);
      });
    };
    collect(this.child.stdout, this.stdoutLines);
    collect(this.child.stderr, this.stderrLines);
    this.exited = new Promise((resolve) =>
      this.child.on('exit', (code) => {
        live.delete(this.child);
        resolve(code);
      }),
    );
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** Parsed JSON log records from stderr (non-JSON lines are skipped). */
  logs(): Record<string, unknown>[] {
    return this.stderrLines.flatMap((line) => {
      try {
        return [JSON.parse(line) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
  }

  signal(sig: NodeJS.Signals): void {
    this.child.kill(sig);
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code. */
  async stop(graceMs = 5_000): Promise<number | null> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return this.child.exitCode;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }
}

/** Runs a command to completion. */
export async function runToEnd(
  bin: string,
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<RunResult> {
  const run = new ChildRun(bin, args, env);
  const code = await run.exited;
  await new Promise((r) => setImmediate(r));
  return { code, stdout: run.stdoutLines.join('\n'), stderr: run.stderrLines.join('\n') };
}

/**
 * Polls `condition` until it holds or `timeoutMs` passes. The default is generous: it only bounds
 * a wait that has already failed, and a loaded two-core CI machine can take many seconds for what
 * takes one here (a sidecar decoding a 19 MiB snapshot, a process starting).
 */
export async function waitFor(
  what: string,
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await condition()) return;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export function fileExists(path: string): boolean {
  return existsSync(path);
}
