// One supervised server binary (etcd or kube-apiserver): started with an argv array, its output
// appended to a log file, stopped by pid with SIGTERM and then SIGKILL. Every process started here
// is SIGKILLed when this Node process exits, so a failing or interrupted test run leaves none.
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync, readFileSync } from 'node:fs';

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

export class ServerProcess {
  readonly exited: Promise<number | null>;
  private readonly child: ChildProcess;

  private constructor(
    readonly name: string,
    readonly logPath: string,
    child: ChildProcess,
  ) {
    this.child = child;
    live.add(child);
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        live.delete(child);
        resolve(code ?? (signal === null ? null : -1));
      });
    });
  }

  static start(name: string, binary: string, args: readonly string[], logPath: string): ServerProcess {
    const log = openSync(logPath, 'a');
    try {
      const child = spawn(binary, args, { stdio: ['ignore', log, log], env: { ...process.env } });
      // A failed spawn (ENOENT) is reported through 'exit' with a null code, so callers see it as
      // an early exit rather than an unhandled 'error' event.
      child.on('error', () => child.emit('exit', null, null));
      return new ServerProcess(name, logPath, child);
    } finally {
      closeSync(log);
    }
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get hasExited(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null || !live.has(this.child);
  }

  /** The last lines of its log, for error messages. */
  logTail(lines = 20): string {
    try {
      return readFileSync(this.logPath, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
  async stop(graceMs = 10_000): Promise<void> {
    if (this.hasExited) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}
