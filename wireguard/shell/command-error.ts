// A failed `wg`, `ip` or `wireguard-go` run: which tool, what it was asked, how it ended and the
// end of what it said on stderr. Never carries stdin (which may hold a private key).

const STDERR_TAIL_CHARS = 600;

export class CommandError extends Error {
  override readonly name = 'CommandError';

  constructor(
    /** The tool, e.g. `wg` (never a wrapper such as `unshare`). */
    readonly argv0: string,
    /** What was attempted, e.g. `ip route replace (batch of 12)`; keys already masked. */
    readonly action: string,
    /** Exit code, or null when killed by a signal or never started. */
    readonly exitCode: number | null,
    readonly stderrTail: string,
    options?: { cause?: unknown },
  ) {
    super(
      `${action} failed${exitCode === null ? '' : ` (exit ${exitCode})`}${stderrTail ? `: ${stderrTail}` : ''}`,
      options,
    );
  }

  static tail(stderr: string): string {
    const trimmed = stderr.trim();
    return trimmed.length <= STDERR_TAIL_CHARS ? trimmed : `…${trimmed.slice(-STDERR_TAIL_CHARS)}`;
  }

  /** True when the tool said the thing it was asked about does not exist. */
  isNotFound(): boolean {
    return /does not exist|Cannot find device|No such device|No such process|FIB table does not exist/i.test(
      this.stderrTail,
    );
  }

  /** True when the kernel lacks what was asked for (no WireGuard module, `Unknown device type`). */
  isNotSupported(): boolean {
    return /Unknown device type|not supported|Protocol not supported/i.test(this.stderrTail);
  }
}
