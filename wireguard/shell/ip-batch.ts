// One long-lived `ip -force -batch -` per address family carries every route, rule, address and
// link change, so a change costs a pipe write instead of an `ip` process start (which took 10–140
// ms on a busy two-core node; BENCHMARKS.md). ip does not acknowledge lines, so each batch is
// followed by a sentinel line that ip rejects; its `Command failed -:<n>` on stderr says the
// batch is done, and the markers before it say which lines failed and why
// (core/ip-batch-output.ts). Batches are pipelined: several may be in flight, answered in order.
//
// ip caches interface indexes by name, so the child is replaced whenever links may have come or
// gone (see recycle()). Supervision: a child that dies fails every batch still in flight (the caller's step fails and
// the reconciler resyncs against the host, so nothing is lost silently); the next batch starts a
// new child. A child that keeps dying (three times in a minute) sends batches to one `ip` process
// each for a minute, the old way, which needs no long-lived state.
import type { ChildProcess } from 'node:child_process';
import type { Logger } from '../../daemon/log.js';
import { BATCH_SENTINEL, splitBatchStderr, unsafeBatchLine } from '../core/ip-batch-output.js';
import { CommandError } from './command-error.js';
import type { Runner } from './runner.js';

/** A line of a batch that ip refused; `index` is its position in the lines passed to run(). */
export interface BatchLineError {
  readonly index: number;
  readonly line: string;
  readonly message: string;
}

/** `channel`: one long-lived child; `process`: one `ip` per batch (for comparison and fallback). */
export type IpBatchMode = 'channel' | 'process';

const DEFAULT_TIMEOUT_MS = 30_000;
const DEATHS_BEFORE_FALLBACK = 3;
const DEATH_WINDOW_MS = 60_000;
const CLOSE_GRACE_MS = 3_000;

interface PendingBatch {
  readonly first: number;
  readonly sentinel: number;
  readonly lines: readonly string[];
  readonly errors: BatchLineError[];
  readonly resolve: (errors: BatchLineError[]) => void;
  readonly reject: (err: Error) => void;
  readonly timer: NodeJS.Timeout;
}

/** One `ip -force -batch -` child and the batches it has been sent but not yet finished. */
class BatchChild {
  private linesSent = 0;
  private readonly pending: PendingBatch[] = [];
  private stderrRest = '';
  private endReason: string | null = null;
  readonly exited: Promise<void>;

  constructor(
    private readonly proc: ChildProcess,
    private readonly action: string,
    private readonly timeoutMs: number,
    private readonly log: Logger,
    onExit: (child: BatchChild, code: number | null) => void,
  ) {
    let markExited!: () => void;
    this.exited = new Promise((r) => (markExited = r));
    let isDone = false;
    const finish = (code: number | null, reason: string | null): void => {
      if (isDone) return;
      isDone = true;
      this.failAll(code, reason);
      markExited();
      onExit(this, code);
    };
    proc.stderr?.setEncoding('utf8');
    proc.stderr?.on('data', (chunk: string) => this.onStderr(chunk));
    // A write after ip died fails with EPIPE; the exit below reports it.
    proc.stdin?.on('error', () => undefined);
    proc.on('error', (err) => finish(null, err.message));
    proc.on('close', (code) => finish(code, null));
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  send(lines: readonly string[]): Promise<BatchLineError[]> {
    return new Promise((resolve, reject) => {
      const first = this.linesSent + 1;
      const sentinel = first + lines.length;
      this.linesSent = sentinel;
      const timer = setTimeout(() => {
        this.endReason = `no answer within ${this.timeoutMs} ms`;
        this.proc.kill('SIGKILL');
      }, this.timeoutMs);
      this.pending.push({ first, sentinel, lines, errors: [], resolve, reject, timer });
      this.proc.stdin?.write(`${lines.join('\n')}\n${BATCH_SENTINEL}\n`);
    });
  }

  /** No more input: ip finishes what it has and exits. */
  endInput(): void {
    this.proc.stdin?.end();
  }

  kill(): void {
    this.proc.kill('SIGKILL');
  }

  private onStderr(chunk: string): void {
    const { failures, rest } = splitBatchStderr(this.stderrRest + chunk);
    this.stderrRest = rest.slice(-4096);
    for (const f of failures) {
      const batch = this.pending.find((b) => f.lineNo >= b.first && f.lineNo <= b.sentinel);
      if (batch === undefined) {
        this.log.warn({ line: f.lineNo, message: f.message }, 'ip batch reported a line we did not send');
        continue;
      }
      if (f.lineNo < batch.sentinel) {
        const index = f.lineNo - batch.first;
        batch.errors.push({ index, line: batch.lines[index] as string, message: f.message });
        continue;
      }
      // The sentinel: this batch, and (answers come in order) nothing before it, is pending.
      while (this.pending.length > 0) {
        const done = this.pending.shift() as PendingBatch;
        clearTimeout(done.timer);
        if (done === batch) {
          done.resolve(done.errors);
          break;
        }
        done.reject(new CommandError('ip', this.action, null, 'ip skipped the end of a batch'));
      }
    }
  }

  private failAll(code: number | null, reason: string | null): void {
    const said = CommandError.tail([this.endReason ?? reason ?? '', this.stderrRest].join('\n'));
    for (const b of this.pending.splice(0)) {
      clearTimeout(b.timer);
      const known = b.errors.map((e) => `line ${e.index + 1} (${e.line}): ${e.message}`);
      b.reject(
        new CommandError(
          'ip',
          `${this.action} (${b.lines.length} lines)`,
          code,
          CommandError.tail(
            [`ip exited before confirming the batch; it may be partly applied`, ...known, said]
              .filter((s) => s !== '')
              .join('\n'),
          ),
        ),
      );
    }
  }
}

export class IpBatch {
  private current: BatchChild | null = null;
  private readonly deaths: number[] = [];
  private isFallbackLogged = false;
  private isClosed = false;
  /** Children started so far (tests and benchmarks check that changes reuse one). */
  childrenStarted = 0;

  constructor(
    private readonly runner: Runner,
    private readonly log: Logger,
    private readonly familyFlag: '-4' | '-6',
    private readonly mode: IpBatchMode = 'channel',
    private readonly timeoutMs = DEFAULT_TIMEOUT_MS,
  ) {}

  /**
   * Runs the lines (ip's command syntax without the leading `ip`) in order, continuing past
   * failures. Resolves with the lines ip refused (empty when all succeeded); rejects with a
   * CommandError when ip died or hung before confirming the batch.
   */
  run(lines: readonly string[]): Promise<BatchLineError[]> {
    for (const line of lines) {
      const why = unsafeBatchLine(line);
      if (why !== null) return Promise.reject(new Error(`refusing ip batch line (${why}): ${line}`));
    }
    if (lines.length === 0) return Promise.resolve([]);
    if (this.isClosed) return Promise.reject(new Error('ip batch channel is closed'));
    if (this.mode === 'process' || this.isDyingTooOften()) return this.runInOwnProcess(lines);
    this.current ??= this.startChild(true);
    return this.current.send(lines);
  }

  /**
   * Lets the current child finish what it was sent and starts the next batch on a new one. ip
   * caches interface names → indexes for its whole life, so once a link has been deleted or
   * recreated (by us, or behind our back) a long-lived child would keep using the old index and
   * fail with "No such device" (never reach a different device: indexes are not reused at once).
   */
  recycle(): void {
    const child = this.current;
    if (child === null) return;
    this.current = null;
    child.endInput();
  }

  async close(): Promise<void> {
    this.isClosed = true;
    const child = this.current;
    if (child === null) return;
    child.endInput();
    const timer = setTimeout(() => child.kill(), CLOSE_GRACE_MS);
    await child.exited;
    clearTimeout(timer);
  }

  private async runInOwnProcess(lines: readonly string[]): Promise<BatchLineError[]> {
    const child = this.startChild(false);
    const result = child.send(lines);
    child.endInput();
    return result;
  }

  private startChild(isLongLived: boolean): BatchChild {
    const argv = ['ip', this.familyFlag, '-force', '-batch', '-'];
    this.childrenStarted++;
    const child = new BatchChild(
      this.runner.spawnCommandReader(argv),
      argv.join(' '),
      this.timeoutMs,
      this.log,
      (c, code) => {
        if (!isLongLived || this.current !== c) return;
        this.current = null;
        if (this.isClosed) return;
        this.deaths.push(Date.now());
        this.log.warn({ pid: c.pid, exitCode: code, family: this.familyFlag }, 'ip batch child exited');
      },
    );
    if (isLongLived) this.log.debug({ pid: child.pid, family: this.familyFlag }, 'started ip batch child');
    return child;
  }

  private isDyingTooOften(): boolean {
    const now = Date.now();
    while (this.deaths.length > 0 && now - (this.deaths[0] as number) > DEATH_WINDOW_MS) this.deaths.shift();
    const dying = this.deaths.length >= DEATHS_BEFORE_FALLBACK;
    if (dying && !this.isFallbackLogged) {
      this.log.warn(
        { family: this.familyFlag, deaths: this.deaths.length },
        'ip batch child keeps dying; using one ip process per change for a while',
      );
    }
    this.isFallbackLogged = dying;
    return dying;
  }
}
