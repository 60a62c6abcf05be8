// The userspace fallback: when the kernel has no WireGuard (`ip link add … type wireguard` says
// "Unknown device type", common in managed and nested environments), a `wireguard-go -f <iface>`
// child provides the device, as wg-quick falls back. Felix has no such fallback (spec §9.2).
//
// Supervision: when a child dies unexpectedly its tun device vanishes with it; we report the
// death (after a back-off if it keeps dying young) and the controller's full resync recreates the
// device and its configuration. Stopping a child removes its device.
import type { ChildProcess } from 'node:child_process';
import type { Logger } from '../../daemon/log.js';
import { backoffDelayMs } from '../../daemon/backoff.js';
import { CommandError } from './command-error.js';
import type { Runner } from './runner.js';

/** A child that lived at least this long is healthy again; shorter lives grow the back-off. */
const HEALTHY_AFTER_MS = 10_000;
const STOP_GRACE_MS = 3_000;
const READY_TIMEOUT_MS = 10_000;

interface Child {
  readonly process: ChildProcess;
  readonly startedAt: number;
  readonly exited: Promise<void>;
  stopping: boolean;
  stderrTail: string;
}

export class UserspaceDevices {
  private readonly children = new Map<string, Child>();
  private readonly youngDeaths = new Map<string, number>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private closed = false;

  constructor(
    private readonly runner: Runner,
    private readonly log: Logger,
    /** Called when a child dies unexpectedly (already delayed by the back-off). */
    private readonly onDeath: (iface: string) => void,
    /** Probe that the device exists and answers `wg` (resolves true when ready). */
    private readonly isReady: (iface: string) => Promise<boolean>,
  ) {}

  isRunning(iface: string): boolean {
    return this.children.has(iface);
  }

  /** Starts wireguard-go for `iface` (replacing a child we already have) and waits until it answers. */
  async start(iface: string): Promise<void> {
    await this.stop(iface);
    const proc = this.runner.spawnDaemon(['wireguard-go', '-f', iface], { LOG_LEVEL: 'error' });
    let resolveExit!: () => void;
    const child: Child = {
      process: proc,
      startedAt: Date.now(),
      exited: new Promise((r) => (resolveExit = r)),
      stopping: false,
      stderrTail: '',
    };
    this.children.set(iface, child);
    const keepTail = (chunk: Buffer): void => {
      child.stderrTail = (child.stderrTail + chunk.toString('utf8')).slice(-2000);
    };
    proc.stdout?.on('data', keepTail);
    proc.stderr?.on('data', keepTail);
    proc.on('error', (err) => {
      child.stderrTail += err.message;
    });
    proc.on('exit', (code, signal) => {
      resolveExit();
      if (this.children.get(iface) === child) this.children.delete(iface);
      if (child.stopping || this.closed) return;
      this.handleDeath(iface, child, code, signal);
    });
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (this.children.get(iface) !== child) {
        throw new CommandError(
          'wireguard-go',
          `wireguard-go -f ${iface}`,
          proc.exitCode,
          CommandError.tail(child.stderrTail),
        );
      }
      if (await this.isReady(iface)) {
        this.log.info({ iface, pid: proc.pid }, 'started wireguard-go (userspace WireGuard)');
        return;
      }
      await sleep(50);
    }
    await this.stop(iface);
    throw new CommandError('wireguard-go', `wireguard-go -f ${iface}`, null, 'device not ready in time');
  }

  /** Stops our child for `iface`, if any; its device disappears with it. */
  async stop(iface: string): Promise<void> {
    const child = this.children.get(iface);
    if (child === undefined) return;
    child.stopping = true;
    this.children.delete(iface);
    child.process.kill('SIGTERM');
    const timer = setTimeout(() => child.process.kill('SIGKILL'), STOP_GRACE_MS);
    await child.exited;
    clearTimeout(timer);
    this.log.info({ iface, pid: child.process.pid }, 'stopped wireguard-go');
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    await Promise.all([...this.children.keys()].map((iface) => this.stop(iface)));
  }

  private handleDeath(iface: string, child: Child, code: number | null, signal: NodeJS.Signals | null): void {
    const lived = Date.now() - child.startedAt;
    const deaths = lived >= HEALTHY_AFTER_MS ? 0 : (this.youngDeaths.get(iface) ?? 0) + 1;
    this.youngDeaths.set(iface, deaths);
    const delayMs =
      deaths === 0
        ? 0
        : backoffDelayMs(deaths - 1, { initialMs: 500, maxMs: 30_000, factor: 2, jitter: 0.2 }, Math.random);
    this.log.warn(
      {
        iface,
        pid: child.process.pid,
        exitCode: code,
        signal,
        livedMs: lived,
        restartInMs: delayMs,
        stderr: CommandError.tail(child.stderrTail),
      },
      'wireguard-go exited; the device will be recreated',
    );
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (!this.closed) this.onDeath(iface);
    }, delayMs);
    this.timers.add(timer);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
