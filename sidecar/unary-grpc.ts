// Unary gRPC calls served on Node's own HTTP/2 (node:http2 does the framing, HPACK and flow
// control); this file only speaks gRPC's layer on top, the way grpc-js's server does for a unary
// method: one length-prefixed message in, one out, then `grpc-status` / `grpc-message` trailers.
// It keeps grpc-js's answers for every edge: a content type that is not application/grpc* gets
// HTTP 415; an unknown path UNIMPLEMENTED; `grpc-timeout` a deadline (DEADLINE_EXCEEDED, or
// INTERNAL for a malformed value); a message over the limit RESOURCE_EXHAUSTED; a compressed
// message is inflated for gzip and deflate and UNIMPLEMENTED for other encodings; no message or
// a second one UNIMPLEMENTED; undecodable bytes INTERNAL. Errors before any answer are sent
// trailers-only. Built for the sidecar's Check, which answers synchronously from the bytes.
import {
  createServer,
  type Http2Server,
  type Http2Session,
  type IncomingHttpHeaders,
  type ServerHttp2Stream,
} from 'node:http2';
import { gunzip, inflate } from 'node:zlib';
import { frameMessage, MessageReader, MessageTooLargeError, Status } from './grpc-frames.js';

/** A unary method: request bytes in, response bytes out; throws when the request cannot be decoded. */
export type UnaryMethod = (request: Buffer) => Buffer;

/** grpc-js's default limit for a received message. */
export const DEFAULT_MAX_RECEIVE_BYTES = 4 * 1024 * 1024;

const RESPONSE_HEADERS = {
  ':status': 200,
  'content-type': 'application/grpc+proto',
  'grpc-accept-encoding': 'identity,deflate,gzip',
  'grpc-encoding': 'identity',
};
const OK_TRAILERS = { 'grpc-status': '0', 'grpc-message': 'OK' };
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
function trailersOnly(stream: ServerHttp2Stream, code: number, message: string): void {
  if (stream.destroyed || stream.closed || stream.headersSent) return;
  stream.respond(
    {
      ':status': 200,
      'content-type': 'application/grpc+proto',
      'grpc-status': String(code),
      'grpc-message': encodeURI(message),
    },
    RESPOND_END,
  );
}

// Options objects and listeners shared by every call: a call allocates its state object and
// nothing else per request (no closures, no Date header: gRPC does not use it).
const RESPOND_END = { endStream: true, sendDate: false };
const RESPOND_WITH_TRAILERS = { waitForTrailers: true, sendDate: false };
const kCall = Symbol('unary call');

interface CallStream extends ServerHttp2Stream {
  [kCall]?: UnaryCall;
}

function ignoreError(): void {} // a reset stream: its call is over
function sendOkTrailers(this: ServerHttp2Stream): void {
  this.sendTrailers(OK_TRAILERS);
}
function onCallData(this: CallStream, chunk: Buffer): void {
  this[kCall]!.onData(chunk);
}
function onCallEnd(this: CallStream): void {
  this[kCall]!.onEnd();
}
function onCallClose(this: CallStream): void {
  this[kCall]!.finish();
}

/** One unary call: collects the request message, then answers exactly once. */
class UnaryCall extends MessageReader {
  /** The request message once it is whole, and its compressed flag. */
  #message: Buffer | null = null;
  #flag = 0;
  #done = false;
  #timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly stream: ServerHttp2Stream,
    private readonly path: string,
    private readonly method: UnaryMethod,
    private readonly encoding: string,
    maxReceiveBytes: number,
  ) {
    super(maxReceiveBytes);
  }

  start(timeoutHeader: string | undefined): void {
    const stream = this.stream as CallStream;
    if (timeoutHeader !== undefined) {
      const m = DEADLINE_REGEX.exec(timeoutHeader);
      if (m === null) {
        this.#fail(Status.INTERNAL, `Invalid grpc-timeout value "${timeoutHeader}"`);
        return;
      }
      const ms = (Number(m[1]) * DEADLINE_UNIT_MS[m[2]!]!) | 0;
      this.#timer = setTimeout(() => this.#fail(Status.DEADLINE_EXCEEDED, 'Deadline exceeded'), ms);
      stream.on('close', onCallClose); // only a timer needs clearing when the stream goes early
    }
    stream[kCall] = this;
    stream.on('data', onCallData);
    stream.on('end', onCallEnd);
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
    const stream = this.stream;
    if (!this.finish() || stream.destroyed || stream.closed) return;
    stream.respond(RESPONSE_HEADERS, RESPOND_WITH_TRAILERS);
    stream.on('wantTrailers', sendOkTrailers);
    stream.end(frame(response));
  }

  #fail(code: number, message: string): void {
    if (this.finish()) trailersOnly(this.stream, code, message);
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
  /** The HTTP/2 server: listen() it on TCP, or emit('connection', socket) for accepted sockets. */
  readonly http2: Http2Server;
  /**
   * Graceful stop: GOAWAY on every session (calls already started finish, new ones are refused
   * as UNAVAILABLE), then resolves when all sessions have closed, or destroys them after `graceMs`.
   */
  stop(graceMs: number): Promise<void>;
}

export function createUnaryGrpcServer(
  methods: ReadonlyMap<string, UnaryMethod>,
  maxReceiveBytes = DEFAULT_MAX_RECEIVE_BYTES,
): UnaryGrpcServer {
  // As grpc-js: no cap on the memory a session may buffer (the default, 10 MB, makes Node refuse
  // streams under a burst of Checks with large headers).
  const http2 = createServer({ maxSessionMemory: Number.MAX_SAFE_INTEGER });
  const sessions = new Set<Http2Session>();
  http2.on('session', (session) => {
    sessions.add(session);
    session.on('close', () => sessions.delete(session));
    session.on('error', () => {}); // the session closes; nothing else to do
  });
  http2.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => {
    stream.on('error', ignoreError);
    const contentType = headers['content-type'];
    if (typeof contentType !== 'string' || !contentType.startsWith('application/grpc')) {
      stream.respond({ ':status': 415 }, RESPOND_END);
      return;
    }
    const path = headers[':path'] ?? '';
    const method = methods.get(path);
    if (method === undefined) {
      trailersOnly(stream, Status.UNIMPLEMENTED, `The server does not implement the method ${path}`);
      return;
    }
    const encoding = headers['grpc-encoding'];
    const timeout = headers['grpc-timeout'];
    new UnaryCall(
      stream,
      path,
      method,
      typeof encoding === 'string' ? encoding : 'identity',
      maxReceiveBytes,
    ).start(typeof timeout === 'string' ? timeout : undefined);
  });

  return {
    http2,
    stop: (graceMs) =>
      new Promise<void>((resolve) => {
        http2.close();
        if (sessions.size === 0) {
          resolve();
          return;
        }
        const timer = setTimeout(() => {
          for (const s of sessions) s.destroy();
        }, graceMs);
        let open = sessions.size;
        for (const s of sessions) {
          s.once('close', () => {
            if (--open === 0) {
              clearTimeout(timer);
              resolve();
            }
          });
          s.close();
        }
      }),
  };
}
