// A server-streaming gRPC call on Node's own HTTP/2 over a Unix socket (h2c), for PolicySync's
// Sync: one request message out, then length-prefixed messages in until the trailers. grpc-js's
// client machinery (filters, interceptors, a message queue, a copy of every message) was about a
// quarter of the sidecar's CPU on a production snapshot. The call ends with the status grpc-js's
// client would report for the same wire events (the codes and texts grpc-js 1.14 gives, as facts of
// its behaviour), so callers log and retry as they did. Unlike grpc-js
// it offers only the identity encoding, so a compressed message is a protocol error (INTERNAL).
import {
  connect,
  constants,
  type ClientHttp2Session,
  type ClientHttp2Stream,
  type IncomingHttpHeaders,
} from 'node:http2';
import { connect as netConnect } from 'node:net';
import { frameMessage, MessageReader, MessageTooLargeError, Status } from './grpc-frames.js';

/** Receive window of the stream and of the connection. */
const RECEIVE_WINDOW_BYTES = 4 * 1024 * 1024;
/** Largest DATA frame the server may send us. */
const MAX_FRAME_BYTES = 256 * 1024;

export interface CallStatus {
  readonly code: number;
  readonly details: string;
}

export interface ServerStreamingCallOptions<T> {
  /** Path of the server's Unix socket. */
  readonly socketPath: string;
  /** `/package.Service/Method`. */
  readonly path: string;
  /** The request message, serialized. */
  readonly request: Buffer;
  readonly maxReceiveBytes: number;
  /** Response bytes to a message; what it throws ends the call with INTERNAL. */
  readonly decode: (message: Buffer) => T;
  readonly onMessage: (message: T) => void;
  /** Called exactly once, when the call is over (not after cancel()). */
  readonly onStatus: (status: CallStatus) => void;
}

export interface ServerStreamingCall {
  /** Ends the call and its connection; onStatus is not called afterwards. */
  cancel(): void;
}

/** grpc-js's status for an HTTP status other than 200 that came without a grpc-status. */
function httpStatusToGrpc(httpStatus: number): CallStatus {
  const details = `Received HTTP status code ${httpStatus}`;
  switch (httpStatus) {
    case 400:
      return { code: Status.INTERNAL, details };
    case 401:
      return { code: Status.UNAUTHENTICATED, details };
    case 403:
      return { code: Status.PERMISSION_DENIED, details };
    case 404:
      return { code: Status.UNIMPLEMENTED, details };
    case 429:
    case 502:
    case 503:
    case 504:
      return { code: Status.UNAVAILABLE, details };
    default:
      return { code: Status.UNKNOWN, details };
  }
}

/** The status in trailers (or a trailers-only response), as grpc-js reads it. */
function statusFromTrailers(trailers: IncomingHttpHeaders, httpStatus: number): CallStatus {
  const code = trailers['grpc-status'];
  if (typeof code === 'string') {
    const message = trailers['grpc-message'];
    let details = '';
    if (typeof message === 'string') {
      try {
        details = decodeURI(message);
      } catch {
        details = message;
      }
    }
    return { code: Number(code), details };
  }
  if (httpStatus !== 0) return httpStatusToGrpc(httpStatus);
  return { code: Status.UNKNOWN, details: 'No status information received' };
}

/** The status of a stream that closed without a usable status, from its RST_STREAM code. */
function statusFromReset(rstCode: number, httpStatus: number, connectionDropped: boolean): CallStatus {
  switch (rstCode) {
    case constants.NGHTTP2_NO_ERROR:
      if (httpStatus !== 0 && httpStatus !== 200) return httpStatusToGrpc(httpStatus);
      return {
        code: Status.INTERNAL,
        details: `Received RST_STREAM with code ${rstCode} (Call ended without gRPC status)`,
      };
    case constants.NGHTTP2_REFUSED_STREAM:
      return { code: Status.UNAVAILABLE, details: 'Stream refused by server' };
    case constants.NGHTTP2_CANCEL:
      return connectionDropped
        ? { code: Status.UNAVAILABLE, details: 'Connection dropped' }
        : { code: Status.CANCELLED, details: 'Call cancelled' };
    case constants.NGHTTP2_ENHANCE_YOUR_CALM:
      return { code: Status.RESOURCE_EXHAUSTED, details: 'Bandwidth exhausted or memory limit exceeded' };
    case constants.NGHTTP2_INADEQUATE_SECURITY:
      return { code: Status.PERMISSION_DENIED, details: 'Protocol not secure enough' };
    case constants.NGHTTP2_INTERNAL_ERROR:
      return {
        code: Status.INTERNAL,
        details: `Received RST_STREAM with code ${rstCode} (Internal server error)`,
      };
    default:
      return { code: Status.INTERNAL, details: `Received RST_STREAM with code ${rstCode}` };
  }
}

class StreamingCall<T> extends MessageReader implements ServerStreamingCall {
  readonly #opts: ServerStreamingCallOptions<T>;
  readonly #session: ClientHttp2Session;
  readonly #stream: ClientHttp2Stream;
  #httpStatus = 0;
  #encoding = 'identity';
  /** The status from trailers, reported once the body has been read. */
  #trailerStatus: CallStatus | null = null;
  #connected = false;
  #connectionError: Error | null = null;
  #connectionDropped = false;
  #done = false;

  constructor(opts: ServerStreamingCallOptions<T>) {
    super(opts.maxReceiveBytes);
    this.#opts = opts;
    // As grpc-js: no cap on the memory the session may buffer. Unlike grpc-js, windows and
    // frames large enough for a snapshot to come in a few large chunks rather than 16 KiB ones,
    // each a 'data' event and a WINDOW_UPDATE.
    const session = connect('http://localhost', {
      createConnection: () => netConnect(opts.socketPath),
      maxSessionMemory: Number.MAX_SAFE_INTEGER,
      settings: { initialWindowSize: RECEIVE_WINDOW_BYTES, maxFrameSize: MAX_FRAME_BYTES },
    });
    this.#session = session;
    session.on('connect', () => {
      this.#connected = true;
      session.setLocalWindowSize(RECEIVE_WINDOW_BYTES);
    });
    session.on('error', (err: Error) => (this.#connectionError ??= err));
    session.on('close', () => (this.#connectionDropped = true));
    const stream = session.request(
      {
        ':method': 'POST',
        ':path': opts.path,
        'content-type': 'application/grpc',
        te: 'trailers',
        'grpc-accept-encoding': 'identity',
      },
      { endStream: false },
    );
    this.#stream = stream;
    stream.on('response', (headers, flags) => {
      this.#httpStatus = Number(headers[':status'] ?? 0);
      const encoding = headers['grpc-encoding'];
      if (typeof encoding === 'string') this.#encoding = encoding;
      if (flags & constants.NGHTTP2_FLAG_END_STREAM) this.#onTrailers(headers);
    });
    stream.on('trailers', (trailers) => this.#onTrailers(trailers));
    stream.on('data', (chunk: Buffer) => this.#onData(chunk));
    stream.on('end', () => {
      if (this.#trailerStatus !== null) this.#finish(this.#trailerStatus);
    });
    stream.on('error', () => {}); // the status comes from 'close'
    stream.on('close', () => process.nextTick(() => this.#onClose()));
    stream.end(frameMessage(opts.request));
  }

  cancel(): void {
    if (this.#done) return;
    this.#done = true;
    this.#end();
  }

  #onTrailers(trailers: IncomingHttpHeaders): void {
    if (this.#done) return;
    const status = statusFromTrailers(trailers, this.#httpStatus);
    // A body that ends inside a message has lost part of it; grpc-js would drop the part silently.
    this.#trailerStatus =
      status.code === Status.OK && this.inMessage
        ? { code: Status.INTERNAL, details: 'Stream ended inside a message' }
        : status;
  }

  #onData(chunk: Buffer): void {
    if (this.#done) return;
    try {
      this.push(chunk);
    } catch (err) {
      if (this.#done) return;
      if (!(err instanceof MessageTooLargeError)) throw err;
      this.#finish(
        this.#httpStatus !== 200
          ? httpStatusToGrpc(this.#httpStatus)
          : { code: Status.RESOURCE_EXHAUSTED, details: err.message },
      );
    }
  }

  protected onMessage(message: Buffer, flag: number): void {
    if (this.#done) return;
    if (flag === 1) {
      this.#finish({
        code: Status.INTERNAL,
        details: `Received compressed message but "grpc-encoding" header was ${this.#encoding}`,
      });
      return;
    }
    let decoded: T;
    try {
      decoded = this.#opts.decode(message);
    } catch (err) {
      this.#finish({
        code: Status.INTERNAL,
        details: `Response message parsing error: ${err instanceof Error ? err.message : String(err)}`,
      });
      return;
    }
    this.#opts.onMessage(decoded);
  }

  #onClose(): void {
    if (this.#done) return;
    const stream = this.#stream;
    if (this.#trailerStatus !== null && (stream.rstCode ?? 0) === constants.NGHTTP2_NO_ERROR) {
      this.#finish(this.#trailerStatus);
      return;
    }
    if (!this.#connected && this.#connectionError !== null) {
      this.#finish({
        code: Status.UNAVAILABLE,
        details: `No connection established. Last error: ${this.#connectionError.message}`,
      });
      return;
    }
    this.#finish(
      statusFromReset(
        stream.rstCode ?? constants.NGHTTP2_CANCEL,
        this.#httpStatus,
        this.#connectionDropped || this.#connectionError !== null,
      ),
    );
  }

  #finish(status: CallStatus): void {
    if (this.#done) return;
    this.#done = true;
    this.#end();
    this.#opts.onStatus(status);
  }

  #end(): void {
    this.dropPending();
    if (!this.#stream.closed) this.#stream.close(constants.NGHTTP2_CANCEL);
    this.#session.destroy();
  }
}

/** Starts a server-streaming call on its own HTTP/2 connection to `socketPath`. */
export function startServerStreamingCall<T>(opts: ServerStreamingCallOptions<T>): ServerStreamingCall {
  return new StreamingCall(opts);
}
