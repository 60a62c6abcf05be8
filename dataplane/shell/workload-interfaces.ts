// Keeps the host side of each local workload as Felix keeps it: the route to the pod through its
// interface and Felix's sysctls on that interface (workload-plan.ts says what). Follows links with
// `ip -o monitor link`, so an interface that appears after its pod (or a pod that appears after
// its interface) is handled within moments, and checks everything again periodically. Each pass
// reads links and routes fresh (`ip -j`), so it is idempotent and never trusts a cache; sysctls
// are written only when they differ.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { trackChild } from '../../daemon/child-processes.js';
import type { Logger } from '../../daemon/log.js';
import {
  parseLinks,
  parseRoutes,
  planWorkloads,
  routeKey,
  workloadSysctls,
  type WorkloadEndpointNets,
} from './workload-plan.js';

const DEBOUNCE_MS = 20;
const DEFAULT_PERIOD_MS = 30_000;
const MONITOR_RESTART_MS = 1_000;

export interface WorkloadInterfacesOptions {
  /** FelixConfiguration interfacePrefix: links that may be workloads (`cali`). */
  readonly interfacePrefix: string;
  readonly log: Logger;
  /** Full pass interval (default 30 s). */
  readonly periodMs?: number;
  /** Called after each pass with the workload interfaces seen up (tests observe it). */
  readonly onPass?: (up: readonly string[]) => void;
}

function ip(args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      'ip',
      [...args],
      { maxBuffer: 64 * 1024 * 1024, timeout: 30_000 },
      (err, stdout, stderr) =>
        err ? reject(new Error(`ip ${args.join(' ')}: ${stderr.trim() || err.message}`)) : resolve(stdout),
    );
    trackChild(child);
  });
}

export class WorkloadInterfaces {
  private endpoints: readonly WorkloadEndpointNets[] = [];
  /** Route keys we added (only these are ever removed). */
  private readonly ours = new Set<string>();
  private monitor: ChildProcess | null = null;
  private timer: NodeJS.Timeout | null = null;
  private periodic: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private isAgain = false;
  private isClosed = false;
  private defaultRpFilter = '1';

  constructor(private readonly opts: WorkloadInterfacesOptions) {}

  async start(endpoints: readonly WorkloadEndpointNets[]): Promise<void> {
    this.endpoints = endpoints;
    this.defaultRpFilter = (
      await readFile('/proc/sys/net/ipv4/conf/default/rp_filter', 'utf8').catch(() => '1')
    ).trim();
    this.startMonitor();
    await this.pass();
    const period = this.opts.periodMs ?? DEFAULT_PERIOD_MS;
    this.periodic = setInterval(() => this.kick(0), period);
    this.periodic.unref();
  }

  /** The local endpoints from now on. */
  update(endpoints: readonly WorkloadEndpointNets[]): void {
    this.endpoints = endpoints;
    this.kick(DEBOUNCE_MS);
  }

  /** Resolves when the pass in flight (and any asked for meanwhile) has finished. */
  async settled(): Promise<void> {
    while (this.running !== null || this.timer !== null) {
      if (this.running !== null) await this.running;
      else await new Promise((r) => setTimeout(r, DEBOUNCE_MS));
    }
  }

  close(): void {
    this.isClosed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    if (this.periodic !== null) clearInterval(this.periodic);
    this.monitor?.kill('SIGTERM');
    this.monitor = null;
  }

  private kick(delayMs: number): void {
    if (this.isClosed) return;
    if (this.running !== null) {
      this.isAgain = true;
      return;
    }
    if (this.timer !== null) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.pass();
    }, delayMs);
    this.timer.unref();
  }

  private async pass(): Promise<void> {
    if (this.isClosed) return;
    const run = (async () => {
      do {
        this.isAgain = false;
        try {
          await this.passOnce();
        } catch (err) {
          this.opts.log.warn(
            { err: err instanceof Error ? err.message : String(err) },
            'workload interface pass failed',
          );
        }
      } while (this.isAgain && !this.isClosed);
    })();
    this.running = run;
    await run;
    this.running = null;
  }

  private async passOnce(): Promise<void> {
    const prefix = this.opts.interfacePrefix;
    const [linksJson, v4Json, v6Json] = await Promise.all([
      ip(['-j', 'link', 'show']),
      ip(['-4', '-j', 'route', 'show', 'table', 'main']),
      ip(['-6', '-j', 'route', 'show', 'table', 'main']).catch(() => '[]'),
    ]);
    const links = parseLinks(linksJson).filter((l) => l.name.startsWith(prefix));
    const routes = [...parseRoutes(v4Json), ...parseRoutes(v6Json)].filter((r) => r.dev.startsWith(prefix));
    const endpoints = this.endpoints.filter((e) => e.iface.startsWith(prefix));
    const plan = planWorkloads({ links, routes, endpoints, ours: this.ours });
    for (const iface of plan.configure) await this.configure(iface, endpoints);
    for (const r of plan.addRoutes) {
      try {
        await ip(['route', 'replace', r.dst, 'dev', r.dev, 'scope', 'link']);
        this.ours.add(routeKey(r));
        this.opts.log.debug({ dst: r.dst, dev: r.dev }, 'added workload route');
      } catch (err) {
        // The interface went away meanwhile: the next pass (from the monitor) sorts it out.
        this.opts.log.warn(
          { dst: r.dst, dev: r.dev, err: (err as Error).message },
          'cannot add workload route',
        );
      }
    }
    for (const r of plan.deleteRoutes) {
      await ip(['route', 'del', r.dst, 'dev', r.dev]).catch(() => undefined);
      this.ours.delete(routeKey(r));
      this.opts.log.debug({ dst: r.dst, dev: r.dev }, 'removed workload route');
    }
    // Forget routes of ours that are gone anyway (their interface was deleted).
    const present = new Set(routes.map(routeKey));
    for (const key of [...this.ours])
      if (!present.has(key) && !plan.addRoutes.some((r) => routeKey(r) === key)) this.ours.delete(key);
    this.opts.onPass?.(plan.configure);
  }

  private async configure(iface: string, endpoints: readonly WorkloadEndpointNets[]): Promise<void> {
    const nets = endpoints.find((e) => e.iface === iface)?.nets ?? [];
    const families = {
      v4: nets.some((n) => !n.includes(':')) || nets.length === 0,
      v6: nets.some((n) => n.includes(':')),
    };
    for (const { path, value } of workloadSysctls(iface, families, this.defaultRpFilter)) {
      const current = await readFile(path, 'utf8').catch(() => null);
      if (current === null) continue; // IPv6 off, or the interface just went away
      if (current.trim() === value) continue;
      await writeFile(path, value).catch((err: unknown) =>
        this.opts.log.warn({ path, err: (err as Error).message }, 'cannot set a workload interface sysctl'),
      );
    }
  }

  private startMonitor(): void {
    if (this.isClosed) return;
    const child = trackChild(spawn('ip', ['-o', 'monitor', 'link'], { stdio: ['ignore', 'pipe', 'ignore'] }));
    this.monitor = child;
    const prefix = this.opts.interfacePrefix;
    const linePattern = new RegExp(`^(?:Deleted )?\\d+: ${escapeRegExp(prefix)}`);
    let partial = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      // Any change to a link with our prefix (added, up, down, deleted): look again.
      if (lines.some((l) => linePattern.test(l))) this.kick(DEBOUNCE_MS);
    });
    child.on('error', (err) => this.opts.log.warn({ err: err.message }, 'ip monitor failed to start'));
    child.on('exit', () => {
      if (this.monitor === child) this.monitor = null;
      if (this.isClosed) return;
      this.opts.log.warn('ip monitor exited; restarting');
      setTimeout(() => this.startMonitor(), MONITOR_RESTART_MS).unref();
      this.kick(0);
    });
  }
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
