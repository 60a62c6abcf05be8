// Keeps a list of the child processes alp-node started, so that none outlives it. Node cannot
// ask Linux to signal children when their parent dies (prctl PR_SET_PDEATHSIG), so the close
// paths stop children by pid, and whatever is still running when the process exits — also
// through process.exit() or an uncaught exception, both of which emit 'exit' — is killed by pid.
// (A SIGKILL of alp-node itself cannot be caught; then the children are orphaned.)
import type { ChildProcess } from 'node:child_process';

const live = new Set<ChildProcess>();
let isExitHookInstalled = false;

/** Records `child` until it exits; returns it. */
export function trackChild<T extends ChildProcess>(child: T): T {
  if (!isExitHookInstalled) {
    isExitHookInstalled = true;
    process.on('exit', killTrackedChildren);
  }
  live.add(child);
  const forget = (): void => {
    live.delete(child);
  };
  child.once('exit', forget);
  // A child that failed to spawn emits 'error' and never 'exit'.
  child.once('error', () => {
    if (child.pid === undefined) forget();
  });
  return child;
}

/** Pids of tracked children that are still running. */
export function trackedChildPids(): number[] {
  return [...live].flatMap((c) => (c.pid === undefined ? [] : [c.pid]));
}

/** SIGKILLs every tracked child still running; synchronous, so it works in an 'exit' handler. */
export function killTrackedChildren(): void {
  for (const child of live) {
    if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) continue;
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch {
      // it exited meanwhile
    }
  }
  live.clear();
}
