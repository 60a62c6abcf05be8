// gRPC's message framing on HTTP/2 (PROTOCOL-HTTP2.md "Length-Prefixed-Message"): a 1-byte
// compressed flag, a 4-byte big-endian length, then the message. Shared by the Check server
// (unary-grpc.ts) and the PolicySync client (grpc-stream-client.ts), so both read and write
// frames the same way. Messages come out as views of the received chunks, copied only when one
// spans chunks: a PolicySync snapshot is thousands of messages, most several to a DATA frame.

/** Bytes before each message: the compressed flag and the length. */
export const PREFIX_BYTES = 5;

/** gRPC status codes used by our server and client. */
export const Status = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  DEADLINE_EXCEEDED: 4,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;

/** `message` with its uncompressed prefix, in a buffer of its own. */
export function frameMessage(message: Buffer): Buffer {
  const out = Buffer.allocUnsafe(PREFIX_BYTES + message.length);
  out[0] = 0;
  out.writeUInt32BE(message.length, 1);
  message.copy(out, PREFIX_BYTES);
  return out;
}

/** A message's prefix declares more than the receive limit; text as grpc-js's. */
export class MessageTooLargeError extends Error {
  constructor(length: number, max: number) {
    super(`Received message larger than max (${length} vs ${max})`);
  }
}

/**
 * Splits a stream of DATA chunks into messages, in order, however the chunks cut them: a message
 * may span chunks and a chunk may hold several. `push` throws MessageTooLargeError as soon as a
 * prefix declares more than `maxBytes`, and lets what `onMessage` throws through. A subclass (a
 * call's own state object, so a call allocates nothing more) says what to do with each message.
 */
export abstract class MessageReader {
  /** Received bytes of an incomplete message (its prefix, maybe partial, first); null if none. */
  #pending: Buffer[] | null = null;
  #pendingBytes = 0;
  /** Length of the pending message once its whole prefix is in; -1 before. */
  #length = -1;

  constructor(protected readonly maxBytes: number) {}

  /** Each whole message, as a view of the received bytes; `flag` is its compressed-flag byte. */
  protected abstract onMessage(message: Buffer, flag: number): void;

  /** True while part of a message has been received but not all of it. */
  get inMessage(): boolean {
    return this.#pendingBytes > 0;
  }

  push(chunk: Buffer): void {
    if (this.#pending !== null) {
      this.#pending.push(chunk);
      this.#pendingBytes += chunk.length;
      if (this.#length < 0) {
        if (this.#pendingBytes < PREFIX_BYTES) return;
        const joined = Buffer.concat(this.#pending, this.#pendingBytes);
        this.#pending = [joined];
        this.#length = this.#checkedLength(joined, 0);
      }
      const end = PREFIX_BYTES + this.#length;
      if (this.#pendingBytes < end) return;
      const whole =
        this.#pending.length === 1 ? this.#pending[0]! : Buffer.concat(this.#pending, this.#pendingBytes);
      this.#pending = null;
      this.#pendingBytes = 0;
      this.#length = -1;
      this.onMessage(whole.subarray(PREFIX_BYTES, end), whole[0]!);
      chunk = whole.subarray(end);
    }
    let pos = 0;
    while (chunk.length - pos >= PREFIX_BYTES) {
      const length = this.#checkedLength(chunk, pos);
      const end = pos + PREFIX_BYTES + length;
      if (end > chunk.length) {
        this.#length = length;
        break;
      }
      this.onMessage(chunk.subarray(pos + PREFIX_BYTES, end), chunk[pos]!);
      pos = end;
    }
    if (pos < chunk.length) {
      this.#pending = [pos === 0 ? chunk : chunk.subarray(pos)];
      this.#pendingBytes = chunk.length - pos;
    }
  }

  /** Drops any partial message (the call is over). */
  protected dropPending(): void {
    this.#pending = null;
    this.#pendingBytes = 0;
    this.#length = -1;
  }

  #checkedLength(buf: Buffer, pos: number): number {
    const length = buf.readUInt32BE(pos + 1);
    if (length > this.maxBytes) throw new MessageTooLargeError(length, this.maxBytes);
    return length;
  }
}
