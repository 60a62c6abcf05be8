// Follows `ip -o monitor link` and reports events for the interfaces we care about, so a device
// deleted or downed behind our back is repaired within moments. Restarts the monitor if it dies.
import type { ChildProcess } from 'node:child_process';
import type { Logger } from '../../daemon/log.js';
import { parseLinkEvent, type LinkEvent } from '../core/ip-monitor.js';
import type { Runner } from './runner.js';

const RESTART_MS = 1_000;

export class LinkWatcher {
  private child: ChildProcess | null = null;
  private restartTimer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(
    private readonly runner: Runner,
    private readonly log: Logger,
    private readonly onEvent: (event: LinkEvent) => void,
  ) {}

  start(): void {
    if (this.closed) return;
    const child = this.runner.spawnDaemon(['ip', '-o', 'monitor', 'link']);
    this.child = child;
    let buffered = '';
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => {
      buffered += chunk;
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        const event = parseLinkEvent(line);
        if (event !== null) this.onEvent(event);
      }
    });
    child.on('error', (err) => this.log.warn({ err: err.message }, 'ip monitor failed to start'));
    child.on('exit', (code) => {
      if (this.child === child) this.child = null;
      if (this.closed) return;
      this.log.warn({ exitCode: code }, 'ip monitor exited; restarting');
      this.restartTimer = setTimeout(() => this.start(), RESTART_MS);
    });
  }

  close(): void {
    this.closed = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.child?.kill('SIGTERM');
  }
}
