// Every change to our nftables table goes through one long-lived `nft -i` process: a transaction
// is one input line (nft runs each line it reads as one batch, all or nothing), so a change costs
// a pipe write instead of an `nft` process start. nft prints nothing for a line that worked, so
// each transaction is followed by a sentinel line that can never parse; nft echoes a failing line
// on stderr, so seeing the sentinel echoed says the transaction is done, and any `Error:` before
// it says it failed and why (nothing of it was applied). Transactions are pipelined and answered
// in order.
//
// nft's line editor (libedit) reads its input one byte per read(2), about 1.5 µs a byte here, so a
// long transaction (a full table of 500 policies is ~300 KB) is faster through its own `nft -f -`
// (one process start, ~20 ms): above LARGE_TRANSACTION_BYTES that is what runs, still in order
// with the channel's transactions (BENCHMARKS.md has the figures). Such a text goes to nft as it
// is, never through transactionLine: `nft -f -` reads the file syntax itself, so a large text
// needs no one-line form and no check that the channel could carry it.
//
// A child that dies fails every transaction still in flight (the caller resyncs); the next one
// starts a new child. A child that keeps dying (three times in a minute) sends transactions to
// one `nft -f -` process each for a minute, which needs no long-lived state. `mode: 'process'`
// does that always (for comparison in the benchmark).
import { spawn, type ChildProcess } from 'node:child_process';
import { setPriority } from 'node:os';
import { trackChild } from '../../daemon/child-processes.js';
import type { Logger } from '../../daemon/log.js';

export type NftMode = 'channel' | 'process';

/** nft refused a transaction (nothing of it applied), died, hung, or is not there at all. */
export class NftError extends Error {
  override readonly name = 'NftError';
  constructor(
    message: string,
    /** What nft said, trimmed to its last lines. */
    readonly output: string,
  ) {
    super(output === '' ? message : `${message}: ${output}`);
  }
}

const DEFAULT_TIMEOUT_MS = 30_000;
const DEATHS_BEFORE_FALLBACK = 3;
const DEATH_WINDOW_MS = 60_000;
const CLOSE_GRACE_MS = 3_000;
const OUTPUT_TAIL_CHARS = 2_000;
/** Above this, a transaction runs in its own `nft -f -` (see the top of the file). */
export const LARGE_TRANSACTION_BYTES = 16 * 1024;
const SENTINEL_PREFIX = 'alp-nft-ack-';
/** Read-only, and cheap to print: makes nft read the ruleset (see refreshChildCache). */
const CACHE_REFRESH_LINE = 'list tables';
/**
 * nft's nice value for a transaction: a policy change waiting to take effect, and short. On a
 * busy node, nft at the default priority waited for the CPU: a one-chain edit took nft 4 ms at the
 * median but 24 ms at p99 in the dataplane benchmark, 10.5 ms at nice -10 (BENCHMARKS.md, session 12).
 */
export const NFT_NICE = -10;
/** Lines of nft's caret markup under an echoed input line. */
const CARETS = /^\s*[\^~]+\s*$/;

/**
 * One line that nft reads as the same transaction as `text` (nft's file syntax, several lines).
 * nft treats a newline and `;` alike between statements and commands, so lines are joined with
 * `;` (after a `,` or `{` with a space: set elements span lines); comment lines are dropped (a `#` would hide the rest of the line). Throws on what cannot
 * be carried safely: a `#` outside a string or a comment line, a backslash, NUL or carriage return.
 */
export function transactionLine(text: string): string {
  // Parts joined once at the end: asking a growing string for its last character would flatten
  // it on every line, which made a full table's text (20,000 lines) take seconds.
  const parts: string[] = [];
  let last = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (!isCarriable(raw)) throw new Error(`nft text holds a character the channel cannot carry: ${line}`);
    // Inside `{ a,\n b }` (set elements) a newline is only white space; elsewhere it ends a statement.
    if (parts.length > 0) parts.push(last === ',' || last === '{' ? ' ' : '; ');
    parts.push(line);
    last = line[line.length - 1] as string;
  }
  return parts.join('');
}

/** No CR, NUL or backslash anywhere, and no `#` outside a double-quoted string (it starts a comment). */
function isCarriable(line: string): boolean {
  // Regular expressions first: a full table is checked once at start-up, before the JIT has
  // compiled this function, and a loop over its characters in the interpreter takes tens of ms.
  if (/[\r\0\\]/.test(line)) return false;
  if (!line.includes('#')) return true;
  let isQuoted = false;
  for (const c of line) {
    if (c === '"') isQuoted = !isQuoted;
    else if (c === '#' && !isQuoted) return false;
  }
  return true;
}

interface Pending {
  readonly sentinel: string;
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
  readonly timer: NodeJS.Timeout;
  output: string[];
}

function tail(lines: readonly string[]): string {
  const text = lines.join('\n').trim();
  return text.length <= OUTPUT_TAIL_CHARS ? text : `…${text.slice(-OUTPUT_TAIL_CHARS)}`;
}

/** One `nft -i` child and the transactions it has been sent but not yet answered. */
class NftChild {
  private readonly pending: Pending[] = [];
  private stderrRest = '';
  private sent = 0;
  private endReason: string | null = null;
  readonly exited: Promise<void>;

  constructor(
    private readonly proc: ChildProcess,
    private readonly timeoutMs: number,
    onExit: (child: NftChild, code: number | null) => void,
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
    proc.stdin?.on('error', () => undefined);
    proc.on('error', (err) => finish(null, err.message));
    proc.on('close', (code) => finish(code, null));
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  send(line: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const sentinel = `${SENTINEL_PREFIX}${++this.sent}`;
      const timer = setTimeout(() => {
        this.endReason = `no answer within ${this.timeoutMs} ms`;
        this.proc.kill('SIGKILL');
      }, this.timeoutMs);
      this.pending.push({ sentinel, resolve, reject, timer, output: [] });
      this.proc.stdin?.write(`${line}\n${sentinel}\n`);
    });
  }

  endInput(): void {
    this.proc.stdin?.end();
  }

  kill(): void {
    this.proc.kill('SIGKILL');
  }

  private onStderr(chunk: string): void {
    const lines = (this.stderrRest + chunk).split('\n');
    this.stderrRest = lines.pop() ?? '';
    for (const line of lines) {
      const head = this.pending[0];
      if (CARETS.test(line) || head === undefined) continue;
      if (line !== head.sentinel) {
        head.output.push(line);
        continue;
      }
      // The sentinel's own complaint is the `Error:` line just before its echo.
      const lastError = head.output.findLastIndex((l) => l.startsWith('Error:'));
      if (lastError >= 0) head.output.splice(lastError, 1);
      this.pending.shift();
      clearTimeout(head.timer);
      // The echoed transaction can be long; keep what nft said, not the whole input back.
      const said = head.output.map((l) => (l.length > 300 ? `${l.slice(0, 300)}…` : l));
      if (head.output.some((l) => l.startsWith('Error:')))
        head.reject(new NftError('nft refused the transaction', tail(said)));
      else head.resolve();
    }
  }

  private failAll(code: number | null, reason: string | null): void {
    const said = tail([this.endReason ?? reason ?? '', this.stderrRest]);
    for (const p of this.pending.splice(0)) {
      clearTimeout(p.timer);
      p.reject(
        new NftError(
          `nft exited${code === null ? '' : ` (exit ${code})`} before confirming the transaction`,
          tail([...p.output, said]),
        ),
      );
    }
  }
}

export interface NftChannelOptions {
  readonly log: Logger;
  readonly mode?: NftMode;
  readonly timeoutMs?: number;
  /** How to start nft (default `['nft']`; tests prefix `ip netns exec <ns>`). */
  readonly nftCommand?: readonly string[];
}

export class NftChannel {
  private current: NftChild | null = null;
  private readonly deaths: number[] = [];
  private isClosed = false;
  private isFallbackLogged = false;
  private readonly mode: NftMode;
  private readonly timeoutMs: number;
  private readonly nft: readonly string[];
  /** Children started so far (tests and benchmarks check that transactions reuse one). */
  childrenStarted = 0;
  /** Settles when every transaction issued so far has been answered. */
  private lastIssued: Promise<unknown> = Promise.resolve();
  /** While a transaction runs in its own process: settles when it is done (the channel waits). */
  private gate: Promise<unknown> | null = null;

  constructor(private readonly opts: NftChannelOptions) {
    this.mode = opts.mode ?? 'channel';
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.nft = opts.nftCommand ?? ['nft'];
  }

  /** The long-lived `nft -i` child's pid, if one runs (benchmarks read its CPU time). */
  get childPid(): number | undefined {
    return this.current?.pid;
  }

  /** Applies `text` (nft file syntax) as one transaction; rejects with an NftError if nft refused it. */
  apply(text: string): Promise<void> {
    if (this.isClosed) return Promise.reject(new Error('nft channel is closed'));
    // The one-line form only for what may go through the channel: at start the whole table's
    // text (~600 KB) would cost a ~30 ms pass for nothing (our text is ASCII: length = bytes).
    const isLarge = text.length > LARGE_TRANSACTION_BYTES;
    let line = '';
    if (!isLarge) {
      try {
        line = transactionLine(text);
      } catch (err) {
        return Promise.reject(err instanceof Error ? err : new Error(String(err)));
      }
      if (line === '') return Promise.resolve();
    }
    let result: Promise<void>;
    if (isLarge || this.mode === 'process' || this.isDyingTooOften()) {
      // In order: after everything issued before it, and before anything issued after it.
      const run = (): Promise<void> => this.runInOwnProcess(text);
      result = this.lastIssued.then(run, run);
      const gate = result.catch(() => undefined);
      this.gate = gate;
      void gate.then(() => {
        if (this.gate === gate) this.gate = null;
      });
      if (isLarge && this.mode === 'channel') void gate.then(() => this.refreshChildCache());
    } else if (this.gate !== null) {
      // Callbacks on one promise run in the order they were added, so these stay in order too.
      result = this.gate.then(() => this.send(line));
    } else {
      // Pipelined: the child answers in order.
      result = this.send(line);
    }
    this.lastIssued = result.catch(() => undefined);
    return result;
  }

  /**
   * `nft -i` reads the whole ruleset from the kernel at its first command and again at the first
   * one after a change it did not make itself: 170-260 ms at issue 11's scale, which the next
   * policy edit or pod change would wait for. After a transaction in its own process (the first
   * full table, a resync) the child is asked for a read-only listing (its output is discarded),
   * so that it reads the ruleset then instead.
   */
  private refreshChildCache(): void {
    if (this.isClosed || this.isDyingTooOften()) return;
    void this.apply(CACHE_REFRESH_LINE).catch(() => undefined);
  }

  private send(line: string): Promise<void> {
    if (this.isClosed) return Promise.reject(new Error('nft channel is closed'));
    this.current ??= this.startChild();
    return this.current.send(line);
  }

  /** Runs `nft <args>` once and returns its stdout (for reads such as `-j list table`). */
  read(args: readonly string[]): Promise<string> {
    return runNft(this.nft, args, '', this.timeoutMs);
  }

  async close(): Promise<void> {
    this.isClosed = true;
    const child = this.current;
    this.current = null;
    if (child === null) return;
    child.endInput();
    const timer = setTimeout(() => child.kill(), CLOSE_GRACE_MS);
    await child.exited;
    clearTimeout(timer);
  }

  private runInOwnProcess(text: string): Promise<void> {
    return runNft(this.nft, ['-f', '-'], text, this.timeoutMs, true).then(() => undefined);
  }

  private startChild(): NftChild {
    this.childrenStarted++;
    const [file, ...args] = this.nft;
    const proc = trackChild(spawn(file as string, [...args, '-i'], { stdio: ['pipe', 'ignore', 'pipe'] }));
    prioritize(proc);
    const child = new NftChild(proc, this.timeoutMs, (c, code) => {
      if (this.current !== c) return;
      this.current = null;
      if (this.isClosed) return;
      this.deaths.push(Date.now());
      this.opts.log.warn({ pid: c.pid, exitCode: code }, 'nft child exited');
    });
    this.opts.log.debug({ pid: child.pid }, 'started nft child');
    return child;
  }

  private isDyingTooOften(): boolean {
    const now = Date.now();
    while (this.deaths.length > 0 && now - (this.deaths[0] as number) > DEATH_WINDOW_MS) this.deaths.shift();
    const dying = this.deaths.length >= DEATHS_BEFORE_FALLBACK;
    if (dying && !this.isFallbackLogged) {
      this.opts.log.warn(
        { deaths: this.deaths.length },
        'nft child keeps dying; using one nft process per transaction for a while',
      );
    }
    this.isFallbackLogged = dying;
    return dying;
  }
}

/**
 * Runs nft once with `stdin`; resolves with stdout, rejects with an NftError. A transaction runs
 * at NFT_NICE; a read (the periodic check's listing, counters for a scrape) is background work and
 * runs at our own priority.
 */
export function runNft(
  nft: readonly string[],
  args: readonly string[],
  stdin: string,
  timeoutMs: number,
  isTransaction = false,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const [file, ...prefix] = nft;
    const child = trackChild(
      spawn(file as string, [...prefix, ...args], { stdio: ['pipe', 'pipe', 'pipe'] }),
    );
    if (isTransaction) prioritize(child);
    const out: Buffer[] = [];
    let err = '';
    let settled = false;
    const finish = (error: NftError | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error === null) resolve(Buffer.concat(out).toString('utf8'));
      else reject(error);
    };
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      finish(new NftError(`nft ${args.join(' ')} timed out after ${timeoutMs} ms`, ''));
    }, timeoutMs);
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (c: string) => {
      err = (err + c).slice(-16_384);
    });
    child.on('error', (cause) => finish(new NftError(`cannot run ${nft.join(' ')}`, cause.message)));
    child.on('close', (code) =>
      finish(
        code === 0
          ? null
          : new NftError(
              `nft ${args.join(' ')} failed (exit ${code})`,
              tail(err.split('\n').filter((l) => !CARETS.test(l))),
            ),
      ),
    );
    child.stdin.on('error', () => undefined);
    child.stdin.end(stdin);
  });
}

/**
 * Why nftables cannot be used here (no `nft`, or a kernel without nf_tables), or null when it
 * can: one clear sentence, checked before anything is programmed.
 */
export async function nftUnavailableReason(
  nftCommand: readonly string[] = ['nft'],
  timeoutMs = 10_000,
): Promise<string | null> {
  try {
    await runNft(nftCommand, ['list', 'tables'], '', timeoutMs);
    return null;
  } catch (err) {
    const text = err instanceof Error ? err.message : String(err);
    if (/ENOENT/.test(text))
      return `cannot run "${nftCommand.join(' ')}": not installed (apt-get install nftables) or not on PATH`;
    if (/not supported|Protocol not supported|Operation not supported/i.test(text))
      return `the kernel has no nf_tables support (load the nf_tables module): ${text}`;
    if (/Operation not permitted|Permission denied/i.test(text))
      return `nft needs CAP_NET_ADMIN in this network namespace: ${text}`;
    return `nft does not work here: ${text}`;
  }
}

/** Runs nft at NFT_NICE; without the privilege to (no CAP_SYS_NICE) it runs at ours. */
function prioritize(proc: ChildProcess): void {
  if (proc.pid === undefined) return; // it did not start: the spawn error says why
  try {
    setPriority(proc.pid, NFT_NICE);
  } catch {
    // Not allowed, or already gone: either way nothing to do.
  }
}
