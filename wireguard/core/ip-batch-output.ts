// Reads what `ip -force -batch -` says on stderr, so one long-lived `ip` can carry many changes
// and still tell which line failed. With -force, ip keeps going after a failed line and ends
// what it printed for it with `Command failed <file>:<line>` (iproute2 6.1, ip/ip.c batch());
// lines that succeed print nothing on stderr. Line numbers count every line the child has read.
// A line that ip cannot run at all ("Object … is unknown") fails the same way, which makes a
// sentinel: an unknown object sent after a batch marks, by its line number, the batch's end.
// Pure; never throws on odd text.

export interface BatchFailure {
  /** 1-based over the child's whole life. */
  readonly lineNo: number;
  /** What ip printed about this line (empty when it printed only the marker). */
  readonly message: string;
}

/** The object name of the sentinel line; ip answers `Object "…" is unknown`. */
export const BATCH_SENTINEL = 'alp-batch-end';

const MARKER = /^Command failed [^\n]*:(\d+)$/;

/**
 * Splits accumulated stderr into complete failures and the text not yet ended by a marker
 * (kept for the next chunk, or reported as the reason when ip dies).
 */
export function splitBatchStderr(text: string): { failures: BatchFailure[]; rest: string } {
  const failures: BatchFailure[] = [];
  const lines = text.split('\n');
  // The last element is an incomplete line (or '' after a trailing newline).
  const partial = lines.pop() ?? '';
  let message: string[] = [];
  for (const line of lines) {
    const m = MARKER.exec(line);
    if (m === null) {
      message.push(line);
      continue;
    }
    failures.push({ lineNo: Number(m[1]), message: message.join('\n').trim() });
    message = [];
  }
  const rest = message.length === 0 ? partial : `${message.join('\n')}\n${partial}`;
  return { failures, rest };
}

/**
 * Why a line cannot go into a batch: ip reads one command per line, treats `#` as a comment and
 * `\` at the end as a continuation, so such a line would change the line numbering or hide part
 * of the command. Our lines come from validated addresses and names; this guards the channel.
 */
export function unsafeBatchLine(line: string): string | null {
  if (line.trim() === '') return 'empty line';
  if (/[\n\r\0#\\"']/.test(line)) return 'line holds a newline, NUL, quote, # or backslash';
  return null;
}
