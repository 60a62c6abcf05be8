// Unary gRPC calls served on our own HTTP/2 connection (http2/server-connection.ts: framing,
// HPACK, flow control); this file speaks gRPC's layer on top, the way grpc-js's server does for a
// unary method: one length-prefixed message in, one out, then `grpc-status` / `grpc-message`
// trailers. It keeps grpc-js's answers for every edge: a content type that is not
// application/grpc* gets HTTP 415; an unknown path UNIMPLEMENTED; `grpc-timeout` a deadline
// (DEADLINE_EXCEEDED, or INTERNAL for a malformed value); a message over the limit
// RESOURCE_EXHAUSTED; a compressed message is inflated for gzip and deflate and UNIMPLEMENTED for
// other encodings; no message or a second one UNIMPLEMENTED; undecodable bytes INTERNAL. Errors
// before any answer are sent trailers-only. Built for the sidecar's Check, which answers
// synchronously from the bytes: every answer's header blocks are encoded once, at load.
import type { Socket } from 'node:net';
import { gunzip, inflate } from 'node:zlib';
import { frameMessage, MessageReader, MessageTooLargeError, Status } from './grpc-frames.js';
import { encodeHeaderBlock } from './http2/hpack.js';
import { ServerConnection, type ServerStream, type StreamListener } from './http2/server-connection.js';

/** A unary method: request bytes in, response bytes out; throws when the request cannot be decoded. */
export type UnaryMethod = (request: Buffer) => Buffer;

/** grpc-js's default limit for a received message. */
export const DEFAULT_MAX_RECEIVE_BYTES = 4 * 1024 * 1024;

const RESPONSE_HEADERS = encodeHeaderBlock([
  [':status', '200'],
  ['content-type', 'application/grpc+proto'],
  ['grpc-accept-encoding', 'identity,deflate,gzip'],
  ['grpc-encoding', 'identity'],
]);
const OK_TRAILERS = encodeHeaderBlock([
  ['grpc-status', '0'],
  ['grpc-message', 'OK'],
]);
const UNSUPPORTED_MEDIA_TYPE = encodeHeaderBlock([[':status', '415']]);
/** The longest delay setTimeout keeps (2^31 − 1 ms). */
const MAX_TIMER_MS = 2 ** 31 - 1;
const DEADLINE_REGEX = /(\d{1,8})\s*([HMSmun])/;
const DEADLINE_UNIT_MS: Readonly<Record<string, number>> = {
  H: 3_600_000,
  M: 60_000,
  S: 1000,
  m: 1,
  u: 0.001,
  n: 0.000001,
};

/** Length-prefixed gRPC frames of responses that repeat, made once. */
const framed = new WeakMap<Buffer, Buffer>();

function frame(message: Buffer): Buffer {
  let out = framed.get(message);
  if (out === undefined) {
    out = frameMessage(message);
    framed.set(message, out);
  }
  return out;
}

/** Answers sent with a status only (errors before any message). */
function trailersOnly(stream: ServerStream, code: number, message: string): void {
  stream.respond(
    encodeHeaderBlock([
      [':status', '200'],
      ['content-type', 'application/grpc+proto'],
      ['grpc-status', String(code)],
      ['grpc-message', encodeURI(message)],
    ]),
    null,
    null,
  );
}

/** One unary call: collects the request message, then answers exactly once. */
class UnaryCall extends MessageReader implements StreamListener {
  /** The request message once it is whole, and its compressed flag. */
  #message: Buffer | null = null;
  #flag = 0;
  #done = false;
  #timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly stream: ServerStream,
    private readonly path: string,
    private readonly method: UnaryMethod,
    private readonly encoding: string,
    maxReceiveBytes: number,
  ) {
    super(maxReceiveBytes);
  }

  start(timeoutHeader: string | undefined): void {
    if (timeoutHeader !== undefined) {
      const m = DEADLINE_REGEX.exec(timeoutHeader);
      if (m === null) {
        this.#fail(Status.INTERNAL, `Invalid grpc-timeout value "${timeoutHeader}"`);
        return;
      }
      // Up to 99,999,999 hours may be sent; Node's timers hold at most ~24.8 days (longer ones fire
      // at once), and grpc-js's `| 0` wraps them negative: a deadline beyond a timer's reach is none.
      const ms = Math.ceil(Number(m[1]) * DEADLINE_UNIT_MS[m[2]!]!);
      if (ms <= MAX_TIMER_MS)
        this.#timer = setTimeout(() => this.#fail(Status.DEADLINE_EXCEEDED, 'Deadline exceeded'), ms);
    }
    this.stream.listener = this;
  }

  onData(chunk: Buffer): void {
    if (this.#done) return;
    try {
      this.push(chunk);
    } catch (err) {
      if (!(err instanceof MessageTooLargeError)) throw err;
      this.#fail(Status.RESOURCE_EXHAUSTED, err.message);
    }
  }

  protected onMessage(message: Buffer, flag: number): void {
    if (this.#done) return;
    if (this.#message === null) {
      this.#message = message;
      this.#flag = flag;
      return;
    }
    // grpc-js refuses a second complete message of a unary call.
    this.#fail(
      Status.UNIMPLEMENTED,
      `Received a second request message for server streaming method ${this.path}`,
    );
  }

  onEnd(): void {
    if (this.#done) return;
    const message = this.#message;
    if (message === null) {
      this.#fail(
        Status.UNIMPLEMENTED,
        `Received no request message for server streaming method ${this.path}`,
      );
      return;
    }
    this.#message = null;
    if (this.#flag !== 1 || this.encoding === 'identity') {
      this.#answer(message);
      return;
    }
    if (this.encoding !== 'gzip' && this.encoding !== 'deflate') {
      this.#fail(
        Status.UNIMPLEMENTED,
        `Received message compressed with unsupported encoding "${this.encoding}"`,
      );
      return;
    }
    const unpack = this.encoding === 'gzip' ? gunzip : inflate;
    unpack(message, { maxOutputLength: this.maxBytes }, (err, plain) => {
      if (err === null) this.#answer(plain);
      else if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE')
        this.#fail(
          Status.RESOURCE_EXHAUSTED,
          `Received message that decompresses to a size larger than ${this.maxBytes}`,
        );
      else this.#fail(Status.INTERNAL, 'Failed to decompress message');
    });
  }

  #answer(request: Buffer): void {
    if (this.#done) return;
    let response: Buffer;
    try {
      response = this.method(request);
    } catch {
      this.#fail(Status.INTERNAL, 'Error deserializing request');
      return;
    }
    if (this.finish()) this.stream.respond(RESPONSE_HEADERS, frame(response), OK_TRAILERS);
  }

  #fail(code: number, message: string): void {
    if (this.finish()) trailersOnly(this.stream, code, message);
  }

  /** The stream was reset or its connection lost before the answer. */
  onAbort(): void {
    this.finish();
  }

  /** Marks the call answered; false if it already was. */
  finish(): boolean {
    if (this.#done) return false;
    this.#done = true;
    this.#message = null;
    this.dropPending();
    if (this.#timer !== null) clearTimeout(this.#timer);
    return true;
  }
}

export interface UnaryGrpcServer {
  /** Serves HTTP/2 (h2c with prior knowledge, as gRPC clients speak it) on an accepted socket. */
  accept(socket: Socket): void;
  /**
   * Graceful stop: GOAWAY on every connection (calls already started finish, new ones are
   * refused), then resolves when all have closed, or destroys them after `graceMs`.
   */
  stop(graceMs: number): Promise<void>;
}

/** Looks up a request header in the connection's name, value, name, value… list. */
function header(headers: readonly string[], name: string): string | undefined {
  for (let i = 0; i < headers.length; i += 2) if (headers[i] === name) return headers[i + 1];
  return undefined;
}

export function createUnaryGrpcServer(
  methods: ReadonlyMap<string, UnaryMethod>,
  maxReceiveBytes = DEFAULT_MAX_RECEIVE_BYTES,
  onInternalError: (err: unknown) => void = () => {},
): UnaryGrpcServer {
  const connections = new Set<ServerConnection>();
  let stopping = false;

  const onRequest = (stream: ServerStream, headers: readonly string[]): void => {
    const contentType = header(headers, 'content-type');
    if (contentType === undefined || !contentType.startsWith('application/grpc')) {
      stream.respond(UNSUPPORTED_MEDIA_TYPE, null, null);
      return;
    }
    const path = header(headers, ':path') ?? '';
    const method = methods.get(path);
    if (method === undefined) {
      trailersOnly(stream, Status.UNIMPLEMENTED, `The server does not implement the method ${path}`);
      return;
    }
    new UnaryCall(
      stream,
      path,
      method,
      header(headers, 'grpc-encoding') ?? 'identity',
      maxReceiveBytes,
    ).start(header(headers, 'grpc-timeout'));
  };

  return {
    accept(socket) {
      const connection = new ServerConnection(socket, onRequest);
      connection.onInternalError = onInternalError;
      connections.add(connection);
      connection.onClose = () => connections.delete(connection);
      if (stopping) connection.goAway();
    },
    stop: (graceMs) =>
      new Promise<void>((resolve) => {
        stopping = true;
        if (connections.size === 0) {
          resolve();
          return;
        }
        const timer = setTimeout(() => {
          for (const c of connections) c.destroy();
        }, graceMs);
        const closing = [...connections];
        let open = closing.length;
        for (const c of closing) {
          const previous = c.onClose;
          c.onClose = () => {
            previous();
            if (--open === 0) {
              clearTimeout(timer);
              resolve();
            }
          };
          c.goAway();
        }
      }),
  };
}
