// Keeps our nftables table equal to the latest desired state. The first apply replaces whatever
// table an earlier alp-node left, in one transaction (never delete first: the old rules protect
// the pods until the new ones take over). After that, each change is one incremental transaction
// from the state last applied. A change after a quiet spell goes in at once; changes that follow
// within coalesceMs of a transaction wait for that window and go in together (one transaction per
// coalesceMs at most), so a lone policy edit does not pay the window and a burst pays it once.
// A transaction that fails, and a periodic check that finds the table changed behind our back
// (flushed, a chain deleted, rules edited), lead to a full replace. close() leaves the rules in
// force (a restarting alp-node must not open a window); only disable() removes the table.
import type { Registry } from 'prom-client';
import { Counter, Histogram } from 'prom-client';
import { backoffDelayMs } from '../../daemon/backoff.js';
import type { Logger } from '../../daemon/log.js';
import { NftError, nftUnavailableReason, type NftChannel } from './nft-channel.js';
import {
  contentDifference,
  readLiveTable,
  renderedShape,
  shapeDifference,
  touchedNames,
  type TableShape,
} from './table-shape.js';

/** The pure renderer's three entry points (dataplane/core), over its state type. */
export interface Renderer<S> {
  renderFull(state: S): string;
  renderChanges(prev: S, next: S): string;
  renderRemoveTable(): string;
}

export interface EnforcementOptions<S> {
  readonly channel: NftChannel;
  readonly renderer: Renderer<S>;
  /** Our table (family inet). */
  readonly tableName: string;
  readonly log: Logger;
  readonly registry: Registry;
  /** How often the live table is compared with what we applied (default 60 s; 0: never). */
  readonly resyncIntervalMs?: number;
  /** At most one transaction per this long while changes keep coming (default 20 ms). */
  readonly coalesceMs?: number;
  /** The clock coalescing reads, in ms (default performance.now; tests move it by hand). */
  readonly now?: () => number;
  /** Called after each successful apply (tests and metrics of rule counters). */
  readonly onApplied?: (state: S, kind: 'full' | 'incremental') => void;
  /**
   * nftUnavailableReason's answer, asked before the first state was there to render (default:
   * asked by start(), beside that render).
   */
  readonly nftAvailability?: Promise<string | null>;
}

const DEFAULT_RESYNC_MS = 60_000;
/**
 * How soon after a full replace the table is checked (and its contents learnt): soon, so that an
 * edit made after it is found, but not at once: after a start the machine is still busy with the
 * rest of it, and the listing costs nft ~150 ms at 500 policies.
 */
const CHECK_AFTER_FULL_MS = 1_000;
const DEFAULT_COALESCE_MS = 20;
const RETRY = { initialMs: 200, maxMs: 10_000, factor: 2, jitter: 0.3 };

const round = (ms: number): number => Math.round(ms * 100) / 100;

export class EnforcementUnavailableError extends Error {
  override readonly name = 'EnforcementUnavailableError';
}

interface Metrics {
  readonly seconds: Histogram<'kind'>;
  readonly errors: Counter<'kind'>;
  readonly resyncs: Counter<'reason'>;
}

function createMetrics(registry: Registry): Metrics {
  return {
    seconds: new Histogram({
      name: 'alp_dataplane_programming_seconds',
      help: 'Time from a policy or endpoint change reaching the dataplane to its nftables transaction being applied',
      labelNames: ['kind'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    errors: new Counter({
      name: 'alp_dataplane_programming_errors_total',
      help: 'nftables transactions that failed (each is followed by a full replace of our table)',
      labelNames: ['kind'] as const,
      registers: [registry],
    }),
    resyncs: new Counter({
      name: 'alp_dataplane_resyncs_total',
      help: 'Full replaces of our nftables table after start-up, by reason',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
  };
}

export class Enforcement<S> {
  private applied: S | null = null;
  private desired: S | null = null;
  /** When the oldest change not yet applied arrived (for the latency metric). */
  private changedAt: bigint | null = null;
  private needsFull = false;
  private isRunning = false;
  private isClosed = false;
  private timer: NodeJS.Timeout | null = null;
  private resyncTimer: NodeJS.Timeout | null = null;
  private failures = 0;
  private idleWaiters: (() => void)[] = [];
  private readonly metrics: Metrics;
  private readonly coalesceMs: number;
  private readonly now: () => number;
  /** When the last transaction ended (this.now()); the next may start coalesceMs later. */
  private lastEndedAt = -Infinity;
  /** The contents of each chain and set as the last check found them (null before one). */
  private contents: ReadonlyMap<string, string> | null = null;
  /**
   * Chains and sets our transactions changed since that check ('all' after a full replace):
   * their new contents are learnt at the next check rather than compared.
   */
  private touched: Set<string> | 'all' = 'all';
  /** Transactions applied so far: a check reads a table no transaction changed meanwhile. */
  private transactions = 0;
  private lastShape: { readonly state: S; readonly shape: TableShape } | null = null;

  constructor(private readonly opts: EnforcementOptions<S>) {
    this.metrics = createMetrics(opts.registry);
    this.coalesceMs = opts.coalesceMs ?? DEFAULT_COALESCE_MS;
    this.now = opts.now ?? (() => performance.now());
  }

  /**
   * Checks that nftables works here, then replaces our table with `initial` in one transaction.
   * Throws (with nothing programmed) when nft is missing, nf_tables is not in the kernel, or the
   * transaction is refused.
   */
  async start(initial: S, nftCommand?: readonly string[]): Promise<void> {
    const startedAt = process.hrtime.bigint();
    // The check's nft runs while the table is rendered (tens of ms each at scale).
    const checking = this.opts.nftAvailability ?? nftUnavailableReason(nftCommand);
    const renderStart = performance.now();
    const text = this.opts.renderer.renderFull(initial);
    const checkStart = performance.now();
    const why = await checking;
    if (why !== null) throw new EnforcementUnavailableError(`cannot enforce policy with nftables: ${why}`);
    const applyStart = performance.now();
    await this.opts.channel.apply(text);
    const seconds = this.observe('full', startedAt);
    this.opts.log.debug(
      {
        kind: 'first',
        bytes: text.length,
        totalMs: round(seconds * 1000),
        renderMs: round(checkStart - renderStart),
        checkWaitMs: round(applyStart - checkStart),
        nftMs: round(performance.now() - applyStart),
      },
      'nftables transaction applied',
    );
    this.applied = initial;
    this.desired = initial;
    this.opts.onApplied?.(initial, 'full');
    this.scheduleResync(CHECK_AFTER_FULL_MS);
  }

  /** The state the kernel holds (last applied), or null before start. */
  get appliedState(): S | null {
    return this.applied;
  }

  /**
   * The state to enforce from now on: applied at once (after the current tick, so updates of one
   * tick go together) when no transaction ended in the last coalesceMs, else when that window
   * ends, or after the transaction in flight.
   */
  update(next: S): void {
    if (this.isClosed) return;
    if (next === this.desired) return;
    this.desired = next;
    this.changedAt ??= process.hrtime.bigint();
    this.schedule(Math.max(0, this.lastEndedAt + this.coalesceMs - this.now()));
  }

  /** Resolves when everything handed to update() so far has been applied (or has failed). */
  settled(): Promise<void> {
    if (!this.isRunning && this.timer === null) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Compares the live table with the state last applied and replaces it in full when it differs.
   * Returns what differed, or null.
   */
  async checkNow(): Promise<string | null> {
    // A transaction applied while the table is read makes the live table newer than the state
    // it is compared with: a false alarm (and a needless full replace). Check only a quiet table.
    // After a failed transaction the table is not known to hold `applied` (nft may have applied
    // it and still failed, e.g. killed on its deadline) until the full replace already pending.
    const before = this.applied;
    const transactions = this.transactions;
    if (before === null || this.isClosed || this.isRunning || this.needsFull) return null;
    let json = '';
    try {
      json = await this.opts.channel.read(['-j', 'list', 'table', 'inet', this.opts.tableName]);
    } catch (err) {
      // "No such file or directory": the table is gone; anything else we cannot tell, so repair.
      if (!(err instanceof NftError)) throw err;
    }
    // Nothing applied, nor waiting to be, since the table was read.
    const isQuiet = () =>
      !this.isRunning &&
      this.transactions === transactions &&
      this.desired === before &&
      !this.isClosed &&
      !this.needsFull;
    if (!isQuiet()) return null;
    // Reading and digesting a large listing takes tens of ms on the event loop: let events that
    // arrived meanwhile run, and leave the rest to the next check if they brought a change.
    const live = readLiveTable(json);
    await new Promise((resolve) => setImmediate(resolve));
    if (!isQuiet()) return null;
    const expected = this.expectedShape(before);
    const difference =
      shapeDifference(expected, live?.shape ?? null) ??
      (live === null || this.contents === null || this.touched === 'all'
        ? null
        : contentDifference(this.contents, live.contents, this.touched));
    if (difference === null && live !== null) {
      this.contents = live.contents;
      this.touched = new Set();
      this.opts.log.debug(
        { table: this.opts.tableName, objects: live.contents.size },
        'nftables table checked',
      );
    }
    if (difference !== null) {
      this.opts.log.warn(
        { table: this.opts.tableName, difference },
        'our nftables table was changed; replacing it',
      );
      this.metrics.resyncs.inc({ reason: 'tampered' });
      this.needsFull = true;
      this.changedAt ??= process.hrtime.bigint();
      this.schedule(0);
      await this.settled();
    }
    return difference;
  }

  /** The shape a full rendering of `state` has; kept for the last state, which a quiet node keeps. */
  private expectedShape(state: S): TableShape {
    if (this.lastShape?.state !== state)
      this.lastShape = {
        state,
        shape: renderedShape(this.opts.renderer.renderFull(state), this.opts.tableName),
      };
    return this.lastShape.shape;
  }

  /** Stops programming and leaves the last rules in force (a restart replaces them atomically). */
  async close(): Promise<void> {
    this.isClosed = true;
    this.clearTimers();
    await this.settled();
    this.markIdle();
    await this.opts.channel.close();
  }

  /** Enforcement switched off: removes our table, then stops. */
  async disable(): Promise<void> {
    this.isClosed = true;
    this.clearTimers();
    await this.settled();
    this.markIdle();
    await this.opts.channel.apply(this.opts.renderer.renderRemoveTable());
    this.opts.log.info({ table: this.opts.tableName }, 'enforcement off: removed our nftables table');
    await this.opts.channel.close();
  }

  private clearTimers(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    if (this.resyncTimer !== null) clearTimeout(this.resyncTimer);
    this.timer = null;
    this.resyncTimer = null;
  }

  private schedule(delayMs: number): void {
    if (this.isClosed || this.isRunning) return; // run() looks again when it finishes
    if (this.timer !== null) {
      if (delayMs > 0) return;
      clearTimeout(this.timer);
    }
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.run();
    }, delayMs);
    this.timer.unref();
  }

  private async run(): Promise<void> {
    this.isRunning = true;
    try {
      while (!this.isClosed && this.desired !== null) {
        const next = this.desired;
        const full = this.needsFull || this.applied === null;
        if (!full && next === this.applied) break;
        const startedAt = this.changedAt ?? process.hrtime.bigint();
        this.changedAt = null;
        const renderStart = performance.now();
        const text = full
          ? this.opts.renderer.renderFull(next)
          : this.opts.renderer.renderChanges(this.applied as S, next);
        const applyStart = performance.now();
        try {
          await this.opts.channel.apply(text);
        } catch (err) {
          this.lastEndedAt = this.now();
          this.onFailure(err, full ? 'full' : 'incremental', startedAt);
          return;
        }
        this.lastEndedAt = this.now();
        this.failures = 0;
        this.needsFull = false;
        this.applied = next;
        this.transactions++;
        if (full) this.touched = 'all';
        else if (this.touched !== 'all')
          for (const name of touchedNames(text, this.opts.tableName)) this.touched.add(name);
        const seconds = this.observe(full ? 'full' : 'incremental', startedAt);
        // Where a slow change spent its time: waiting (coalescing, a transaction ahead of it),
        // rendering, or in nft.
        this.opts.log.debug(
          {
            kind: full ? 'full' : 'incremental',
            bytes: text.length,
            totalMs: round(seconds * 1000),
            renderMs: round(applyStart - renderStart),
            nftMs: round(performance.now() - applyStart),
          },
          'nftables transaction applied',
        );
        this.opts.onApplied?.(next, full ? 'full' : 'incremental');
        if (full) this.scheduleResync(CHECK_AFTER_FULL_MS);
        if (this.desired !== next) {
          // More arrived while this was applied: give the burst a moment to finish.
          this.changedAt ??= process.hrtime.bigint();
          await new Promise((r) => setTimeout(r, this.coalesceMs).unref());
        }
      }
    } finally {
      this.isRunning = false;
      if (this.timer === null) this.markIdle();
    }
  }

  private markIdle(): void {
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  private onFailure(err: unknown, kind: 'full' | 'incremental', startedAt: bigint): void {
    this.metrics.errors.inc({ kind });
    this.failures++;
    this.needsFull = true;
    this.changedAt ??= startedAt;
    const delay = kind === 'incremental' ? 0 : backoffDelayMs(this.failures - 1, RETRY, Math.random);
    this.opts.log.error(
      { kind, err: err instanceof Error ? err.message : String(err), retryInMs: delay },
      'nftables transaction failed; replacing our table in full',
    );
    this.metrics.resyncs.inc({ reason: 'error' });
    this.isRunning = false;
    this.schedule(delay);
  }

  /** Records the time since `startedAt` in the latency metric and returns it, in seconds. */
  private observe(kind: 'full' | 'incremental', startedAt: bigint): number {
    const seconds = Number(process.hrtime.bigint() - startedAt) / 1e9;
    this.metrics.seconds.observe({ kind }, seconds);
    return seconds;
  }

  /**
   * The next check, after `delayMs` (default: the interval). A full replace asks for one soon:
   * that check learns the new table's contents, so that an edit made after it is found; until it
   * runs, an edit would be learnt as ours.
   */
  private scheduleResync(delayMs?: number): void {
    const interval = this.opts.resyncIntervalMs ?? DEFAULT_RESYNC_MS;
    if (interval <= 0 || this.isClosed) return;
    if (this.resyncTimer !== null) clearTimeout(this.resyncTimer);
    this.resyncTimer = setTimeout(
      () => {
        this.checkNow()
          .catch((err: unknown) =>
            this.opts.log.warn(
              { err: err instanceof Error ? err.message : String(err) },
              'table check failed',
            ),
          )
          .finally(() => this.scheduleResync());
      },
      Math.min(delayMs ?? interval, interval),
    );
    this.resyncTimer.unref();
  }
}
