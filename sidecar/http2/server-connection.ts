// One HTTP/2 server connection (RFC 9113) over a socket, h2c with prior knowledge as gRPC
// clients speak it: frames, HPACK, flow control, stream states, PING, GOAWAY. It hands each
// request to a handler as headers and DATA chunks, and takes each answer whole (headers, an
// optional body, optional trailers), which is all a unary gRPC server needs. Frames out are
// written into one buffer and sent once per turn of the event loop, so the answers to a batch of
// requests that arrived in one read leave in one write. Node's own HTTP/2 makes a stream object
// with its events per request; that alone cost more CPU than Calico's whole Check in Go.
//
// Malformed input never throws out of here: a connection error sends GOAWAY and closes the
// socket, a stream error resets that stream, as the RFC says for each case.
import type { Socket } from 'node:net';
import {
  CONNECTION_PREFACE,
  DEFAULT_MAX_FRAME_SIZE,
  DEFAULT_WINDOW,
  ErrorCode,
  Flag,
  FRAME_HEADER_BYTES,
  FrameType,
  MAX_FRAME_SIZE_LIMIT,
  MAX_WINDOW,
  Setting,
  writeFrameHeader,
} from './frames.js';
import { encodeHeaderBlock, HpackDecoder, HpackError } from './hpack.js';

/** What a stream's request side tells its handler. */
export interface StreamListener {
  onData(chunk: Buffer): void;
  /** The client ended its request (END_STREAM). */
  onEnd(): void;
  /** The stream ended before it was answered: reset by the client, or the connection closed. */
  onAbort(): void;
}

/** Takes each new request: `headers` is name, value, name, value… (names lower-case). */
export type RequestHandler = (stream: ServerStream, headers: readonly string[]) => void;

export interface ConnectionLimits {
  /** SETTINGS_MAX_HEADER_LIST_SIZE we advertise and enforce (a larger request gets 431). */
  readonly maxHeaderListSize: number;
  /**
   * Bytes of one header block's HEADERS and CONTINUATION frames, their 9-byte frame headers
   * included (so endless empty CONTINUATIONs meet it too), before the connection is refused.
   */
  readonly maxHeaderBlockBytes: number;
  /** The receive window of each stream (SETTINGS_INITIAL_WINDOW_SIZE) and of the connection. */
  readonly streamWindow: number;
  readonly connectionWindow: number;
}

export const DEFAULT_LIMITS: ConnectionLimits = {
  maxHeaderListSize: 64 * 1024,
  maxHeaderBlockBytes: 256 * 1024,
  streamWindow: 1024 * 1024,
  connectionWindow: 16 * 1024 * 1024,
};

const STATUS_431 = encodeHeaderBlock([[':status', '431']]);
const CONNECTION_HEADERS = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
]);
const REQUEST_PSEUDO_HEADERS = new Set([':method', ':scheme', ':path', ':authority']);
/** Output is gathered in buffers of this size (larger when one answer needs it). */
const OUT_CHUNK = 64 * 1024;
const NOOP_LISTENER: StreamListener = { onData() {}, onEnd() {}, onAbort() {} };

/** One request/answer exchange. The handler sets `listener`, then answers once with `respond`. */
export class ServerStream {
  listener: StreamListener = NOOP_LISTENER;
  /** The client has sent END_STREAM. */
  remoteClosed = false;
  /** Our END_STREAM is sent or queued: nothing more may be answered. */
  answered = false;
  /** Bytes we may still send on this stream (the client's window for it). */
  sendWindow: number;
  /** Bytes the client may still send before we open the window again. */
  recvWindow: number;
  /** DATA (and then trailers) waiting for the client to open a window. */
  blocked: Buffer | null = null;
  blockedTrailers: Buffer | null = null;

  constructor(
    readonly id: number,
    private readonly connection: ServerConnection,
    sendWindow: number,
    recvWindow: number,
  ) {
    this.sendWindow = sendWindow;
    this.recvWindow = recvWindow;
  }

  /** False once the stream is over (answered, reset, or its connection gone). */
  get open(): boolean {
    return !this.answered && this.connection.hasStream(this);
  }

  /**
   * Answers the request: `headers` (a header block) and then, if given, `body` as DATA and
   * `trailers`; END_STREAM on the last. Headers alone make a headers-only (trailers-only) answer.
   */
  respond(headers: Buffer, body: Buffer | null, trailers: Buffer | null): void {
    if (!this.open) return;
    this.answered = true;
    this.connection.answer(this, headers, body, trailers);
  }
}

export class ServerConnection {
  readonly #socket: Socket;
  readonly #onRequest: RequestHandler;
  readonly #limits: ConnectionLimits;
  readonly #hpack = new HpackDecoder();
  readonly #streams = new Map<number, ServerStream>();
  /** Streams with DATA waiting for a window, in the order they blocked. */
  readonly #blocked = new Set<ServerStream>();
  /** Called once when the socket has closed. */
  onClose: () => void = () => {};
  /** Called with an error thrown by the handler or by this code (the connection is then closed). */
  onInternalError: (err: unknown) => void = () => {};

  // Input.
  #input: Buffer | null = null;
  #prefaceSeen = false;
  #settingsSeen = false;
  #lastStreamId = 0;
  /** A header block in progress (HEADERS without END_HEADERS): its stream and parts. */
  #headersStream = 0;
  #headersFlags = 0;
  #headerParts: Buffer[] = [];
  /** Counted against maxHeaderBlockBytes: the block's frames, headers and all. */
  #headerBytes = 0;
  /** DATA bytes received since we last opened the connection's window (its use, so to say). */
  #recvUnacked = 0;
  readonly #decoded: string[] = [];

  // Output.
  #out = Buffer.allocUnsafe(OUT_CHUNK);
  #outStart = 0;
  #outEnd = 0;
  #flushQueued = false;
  #sendWindow = DEFAULT_WINDOW;
  #peerStreamWindow = DEFAULT_WINDOW;
  #peerMaxFrame = DEFAULT_MAX_FRAME_SIZE;

  // Ending.
  /** GOAWAY sent: no new streams; the socket ends when the last open one is answered. */
  #goingAway = false;
  #goAwayLastId = 0;
  #dead = false;

  constructor(socket: Socket, onRequest: RequestHandler, limits: ConnectionLimits = DEFAULT_LIMITS) {
    this.#socket = socket;
    this.#onRequest = onRequest;
    this.#limits = limits;
    socket.setNoDelay?.(true);
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('drain', () => socket.resume());
    socket.on('error', () => {}); // 'close' follows
    socket.on('close', () => this.#closed());
    this.#sendSettings();
  }

  hasStream(stream: ServerStream): boolean {
    return this.#streams.get(stream.id) === stream;
  }

  /** Graceful stop: GOAWAY (streams already begun are answered), then close when none is open. */
  goAway(): void {
    if (this.#dead || this.#goingAway) return;
    this.#goingAway = true;
    this.#goAwayLastId = this.#lastStreamId;
    this.#writeGoAway(ErrorCode.NO_ERROR, '');
    this.#endIfIdle();
  }

  destroy(): void {
    this.#socket.destroy();
  }

  // Input.

  #onData(chunk: Buffer): void {
    if (this.#dead) return;
    let buf = chunk;
    if (this.#input !== null) {
      buf = Buffer.concat([this.#input, chunk]);
      this.#input = null;
    }
    let pos = 0;
    if (!this.#prefaceSeen) {
      const have = Math.min(buf.length, CONNECTION_PREFACE.length);
      if (buf.compare(CONNECTION_PREFACE, 0, have, 0, have) !== 0) {
        // Not HTTP/2 with prior knowledge (an HTTP/1.1 request, say): nothing to answer in.
        this.#dead = true;
        this.#socket.destroy();
        return;
      }
      if (have < CONNECTION_PREFACE.length) {
        this.#input = Buffer.from(buf);
        return;
      }
      this.#prefaceSeen = true;
      pos = CONNECTION_PREFACE.length;
    }
    while (!this.#dead && buf.length - pos >= FRAME_HEADER_BYTES) {
      const length = (buf[pos]! << 16) | (buf[pos + 1]! << 8) | buf[pos + 2]!;
      if (length > DEFAULT_MAX_FRAME_SIZE) {
        this.#connectionError(ErrorCode.FRAME_SIZE_ERROR, `frame of ${length} bytes`);
        return;
      }
      const end = pos + FRAME_HEADER_BYTES + length;
      if (end > buf.length) break;
      const type = buf[pos + 3]!;
      const flags = buf[pos + 4]!;
      const id = buf.readUInt32BE(pos + 5) & 0x7fffffff;
      try {
        this.#frame(type, flags, id, buf.subarray(pos + FRAME_HEADER_BYTES, end));
      } catch (err) {
        // A fault of ours, not the client's: this connection ends, the process serves on.
        this.onInternalError(err);
        this.#connectionError(ErrorCode.INTERNAL_ERROR, 'internal error');
        return;
      }
      pos = end;
    }
    // Keep only the unread tail, copied, so the read's buffer is not held by it.
    if (!this.#dead && pos < buf.length) this.#input = Buffer.from(buf.subarray(pos));
    this.#ackReceived();
    this.#scheduleFlush();
  }

  #frame(type: number, flags: number, id: number, payload: Buffer): void {
    if (this.#headersStream !== 0 && type !== FrameType.CONTINUATION) {
      this.#connectionError(ErrorCode.PROTOCOL_ERROR, 'a header block was interrupted');
      return;
    }
    // The client's own SETTINGS, not an ACK of ours: an ACK first is a peer not speaking HTTP/2.
    if (!this.#settingsSeen && (type !== FrameType.SETTINGS || (flags & Flag.ACK) !== 0)) {
      this.#connectionError(ErrorCode.PROTOCOL_ERROR, 'the client preface must start with SETTINGS');
      return;
    }
    switch (type) {
      case FrameType.DATA:
        this.#dataFrame(flags, id, payload);
        return;
      case FrameType.HEADERS:
        this.#headersFrame(flags, id, payload);
        return;
      case FrameType.CONTINUATION:
        this.#continuationFrame(flags, id, payload);
        return;
      case FrameType.PRIORITY:
        if (id === 0) this.#connectionError(ErrorCode.PROTOCOL_ERROR, 'PRIORITY on stream 0');
        else if (payload.length !== 5) this.#streamError(id, ErrorCode.FRAME_SIZE_ERROR);
        return;
      case FrameType.RST_STREAM:
        this.#rstStreamFrame(id, payload);
        return;
      case FrameType.SETTINGS:
        this.#settingsFrame(flags, id, payload);
        return;
      case FrameType.PING:
        if (id !== 0) this.#connectionError(ErrorCode.PROTOCOL_ERROR, 'PING on a stream');
        else if (payload.length !== 8) this.#connectionError(ErrorCode.FRAME_SIZE_ERROR, 'PING size');
        else if ((flags & Flag.ACK) === 0) this.#writeFrame(FrameType.PING, Flag.ACK, 0, payload);
        return;
      case FrameType.GOAWAY:
        if (id !== 0) this.#connectionError(ErrorCode.PROTOCOL_ERROR, 'GOAWAY on a stream');
        return; // the client will open no more streams; the ones open are still answered
      case FrameType.WINDOW_UPDATE:
        this.#windowUpdateFrame(id, payload);
        return;
      case FrameType.PUSH_PROMISE:
        this.#connectionError(ErrorCode.PROTOCOL_ERROR, 'a client may not push');
        return;
      default:
        return; // unknown frame types are ignored (RFC 9113 §4.1)
    }
  }

  /**
   * The payload without its pad length, `skip` bytes of fixed fields (HEADERS' priority) and
   * padding, or null after a connection error.
   */
  #unpadded(flags: number, payload: Buffer, skip: number): Buffer | null {
    const padded = (flags & Flag.PADDED) !== 0;
    const fixed = (padded ? 1 : 0) + skip;
    if (payload.length < fixed) {
      // RFC 9113 §4.2: too small for its mandatory fields, in a frame that changes connection state.
      this.#connectionError(ErrorCode.FRAME_SIZE_ERROR, 'frame too short for its fields');
      return null;
    }
    if (!padded) return skip === 0 ? payload : payload.subarray(skip);
    const padding = payload[0]!;
    if (fixed + padding > payload.length) {
      this.#connectionError(ErrorCode.PROTOCOL_ERROR, 'padding longer than the frame');
      return null;
    }
    return payload.subarray(fixed, payload.length - padding);
  }

  #dataFrame(flags: number, id: number, payload: Buffer): void {
    if (id === 0) {
      this.#connectionError(ErrorCode.PROTOCOL_ERROR, 'DATA on stream 0');
      return;
    }
    // Flow control counts the whole frame, padding included, whatever becomes of the stream.
    this.#recvUnacked += payload.length;
    if (this.#recvUnacked > this.#limits.connectionWindow) {
      this.#connectionError(ErrorCode.FLOW_CONTROL_ERROR, 'DATA beyond the connection window');
      return;
    }
    const data = this.#unpadded(flags, payload, 0);
    if (data === null) return;
    const stream = this.#streams.get(id);
    if (stream === undefined) {
      // Answered or reset already: what the client sent meanwhile is dropped (RFC 9113 §5.4.2).
      if (id > this.#lastStreamId) this.#connectionError(ErrorCode.PROTOCOL_ERROR, 'DATA on an idle stream');
      return;
    }
    if (stream.remoteClosed) {
      this.#streamError(id, ErrorCode.STREAM_CLOSED);
      return;
    }
    stream.recvWindow -= payload.length;
    if (stream.recvWindow < 0) {
      this.#streamError(id, ErrorCode.FLOW_CONTROL_ERROR);
      return;
    }
    const end = (flags & Flag.END_STREAM) !== 0;
    if (end) stream.remoteClosed = true;
    else if (stream.recvWindow < this.#limits.streamWindow / 2) {
      this.#writeWindowUpdate(id, this.#limits.streamWindow - stream.recvWindow);
      stream.recvWindow = this.#limits.streamWindow;
    }
    if (data.length > 0) stream.listener.onData(data);
    if (end && this.hasStream(stream)) {
      stream.listener.onEnd();
      this.#closeIfDone(stream);
    }
  }

  #headersFrame(flags: number, id: number, payload: Buffer): void {
    if (id === 0 || (id & 1) === 0) {
      this.#connectionError(ErrorCode.PROTOCOL_ERROR, `HEADERS on stream ${id}`);
      return;
    }
    const block = this.#unpadded(flags, payload, (flags & Flag.PRIORITY) !== 0 ? 5 : 0);
    if (block === null) return;
    if ((flags & Flag.END_HEADERS) !== 0) {
      this.#headerBlock(flags, id, block);
      return;
    }
    this.#headersStream = id;
    this.#headersFlags = flags;
    this.#headerParts = [Buffer.from(block)]; // copied: the read's buffer is not kept
    this.#headerBytes = FRAME_HEADER_BYTES + payload.length;
  }

  #continuationFrame(flags: number, id: number, payload: Buffer): void {
    if (this.#headersStream === 0 || id !== this.#headersStream) {
      this.#connectionError(ErrorCode.PROTOCOL_ERROR, 'CONTINUATION without a header block');
      return;
    }
    this.#headerBytes += FRAME_HEADER_BYTES + payload.length;
    if (this.#headerBytes > this.#limits.maxHeaderBlockBytes) {
      this.#connectionError(ErrorCode.ENHANCE_YOUR_CALM, 'header block too large');
      return;
    }
    if (payload.length > 0) this.#headerParts.push(Buffer.from(payload));
    if ((flags & Flag.END_HEADERS) === 0) return;
    const block = Buffer.concat(this.#headerParts);
    this.#headersStream = 0;
    this.#headerParts = [];
    this.#headerBytes = 0;
    this.#headerBlock(this.#headersFlags, id, block);
  }

  /** A whole header block: decoded always (HPACK state), then a new request or trailers. */
  #headerBlock(flags: number, id: number, block: Buffer): void {
    const headers = this.#decoded;
    headers.length = 0;
    let fits: boolean;
    try {
      fits = this.#hpack.decode(block, headers, this.#limits.maxHeaderListSize);
    } catch (err) {
      if (!(err instanceof HpackError)) throw err;
      this.#connectionError(ErrorCode.COMPRESSION_ERROR, err.message);
      return;
    }
    const endStream = (flags & Flag.END_STREAM) !== 0;
    const existing = this.#streams.get(id);
    if (existing !== undefined) {
      // Trailers: they must end the request.
      if (existing.remoteClosed || !endStream) {
        this.#streamError(id, existing.remoteClosed ? ErrorCode.STREAM_CLOSED : ErrorCode.PROTOCOL_ERROR);
        return;
      }
      existing.remoteClosed = true;
      existing.listener.onEnd();
      this.#closeIfDone(existing);
      return;
    }
    if (id <= this.#lastStreamId) return; // trailers of a stream answered or reset already
    this.#lastStreamId = id;
    if (this.#goingAway) {
      this.#writeRst(id, ErrorCode.REFUSED_STREAM);
      return;
    }
    if (!isWellFormedRequest(headers)) {
      this.#writeRst(id, ErrorCode.PROTOCOL_ERROR);
      return;
    }
    const stream = new ServerStream(id, this, this.#peerStreamWindow, this.#limits.streamWindow);
    stream.remoteClosed = endStream;
    this.#streams.set(id, stream);
    if (!fits) {
      stream.respond(STATUS_431, null, null);
      return;
    }
    this.#onRequest(stream, headers);
    if (endStream && this.hasStream(stream)) {
      stream.listener.onEnd();
      this.#closeIfDone(stream);
    }
  }

  #rstStreamFrame(id: number, payload: Buffer): void {
    if (id === 0) this.#connectionError(ErrorCode.PROTOCOL_ERROR, 'RST_STREAM on stream 0');
    else if (payload.length !== 4) this.#connectionError(ErrorCode.FRAME_SIZE_ERROR, 'RST_STREAM size');
    else if (id > this.#lastStreamId)
      this.#connectionError(ErrorCode.PROTOCOL_ERROR, 'RST_STREAM on an idle stream');
    else {
      const stream = this.#streams.get(id);
      if (stream !== undefined) this.#abort(stream);
    }
  }

  #settingsFrame(flags: number, id: number, payload: Buffer): void {
    if (id !== 0) {
      this.#connectionError(ErrorCode.PROTOCOL_ERROR, 'SETTINGS on a stream');
      return;
    }
    if ((flags & Flag.ACK) !== 0) {
      if (payload.length !== 0)
        this.#connectionError(ErrorCode.FRAME_SIZE_ERROR, 'SETTINGS ACK with a payload');
      return;
    }
    if (payload.length % 6 !== 0) {
      this.#connectionError(ErrorCode.FRAME_SIZE_ERROR, 'SETTINGS size');
      return;
    }
    this.#settingsSeen = true;
    for (let pos = 0; pos < payload.length; pos += 6) {
      const key = payload.readUInt16BE(pos);
      const value = payload.readUInt32BE(pos + 2);
      if (key === Setting.INITIAL_WINDOW_SIZE) {
        if (value > MAX_WINDOW) {
          this.#connectionError(ErrorCode.FLOW_CONTROL_ERROR, 'initial window too large');
          return;
        }
        const delta = value - this.#peerStreamWindow;
        this.#peerStreamWindow = value;
        for (const stream of this.#streams.values()) {
          stream.sendWindow += delta;
          if (stream.sendWindow > MAX_WINDOW) {
            // RFC 9113 §6.9.2: a change that takes a stream's window past the maximum.
            this.#connectionError(ErrorCode.FLOW_CONTROL_ERROR, 'a stream window passed 2^31 - 1');
            return;
          }
        }
      } else if (key === Setting.MAX_FRAME_SIZE) {
        if (value < DEFAULT_MAX_FRAME_SIZE || value > MAX_FRAME_SIZE_LIMIT) {
          this.#connectionError(ErrorCode.PROTOCOL_ERROR, 'invalid SETTINGS_MAX_FRAME_SIZE');
          return;
        }
        this.#peerMaxFrame = value;
      } else if (key === Setting.ENABLE_PUSH && value > 1) {
        this.#connectionError(ErrorCode.PROTOCOL_ERROR, 'invalid SETTINGS_ENABLE_PUSH');
        return;
      }
      // HEADER_TABLE_SIZE: our encoder never uses the dynamic table. Others: nothing to do.
    }
    this.#writeFrame(FrameType.SETTINGS, Flag.ACK, 0, null);
    this.#drainBlocked();
  }

  #windowUpdateFrame(id: number, payload: Buffer): void {
    if (payload.length !== 4) {
      this.#connectionError(ErrorCode.FRAME_SIZE_ERROR, 'WINDOW_UPDATE size');
      return;
    }
    const increment = payload.readUInt32BE(0) & 0x7fffffff;
    if (id === 0) {
      if (increment === 0 || this.#sendWindow + increment > MAX_WINDOW) {
        this.#connectionError(
          increment === 0 ? ErrorCode.PROTOCOL_ERROR : ErrorCode.FLOW_CONTROL_ERROR,
          'invalid connection WINDOW_UPDATE',
        );
        return;
      }
      this.#sendWindow += increment;
    } else {
      const stream = this.#streams.get(id);
      if (stream === undefined) {
        if (id > this.#lastStreamId)
          this.#connectionError(ErrorCode.PROTOCOL_ERROR, 'WINDOW_UPDATE on an idle stream');
        return;
      }
      if (increment === 0 || stream.sendWindow + increment > MAX_WINDOW) {
        this.#streamError(id, increment === 0 ? ErrorCode.PROTOCOL_ERROR : ErrorCode.FLOW_CONTROL_ERROR);
        return;
      }
      stream.sendWindow += increment;
    }
    this.#drainBlocked();
  }

  /** Opens the connection's receive window again once half of it is used. */
  #ackReceived(): void {
    if (this.#dead || this.#recvUnacked <= this.#limits.connectionWindow / 2) return;
    this.#writeWindowUpdate(0, this.#recvUnacked);
    this.#recvUnacked = 0;
  }

  // Streams.

  /** Called by ServerStream.respond. */
  answer(stream: ServerStream, headers: Buffer, body: Buffer | null, trailers: Buffer | null): void {
    const headersOnly = body === null && trailers === null;
    this.#writeHeaders(stream.id, headers, headersOnly);
    if (!headersOnly) {
      stream.blocked = body ?? Buffer.alloc(0);
      stream.blockedTrailers = trailers;
      this.#sendData(stream);
    }
    if (stream.blocked === null) this.#answered(stream);
    else this.#blocked.add(stream);
    this.#scheduleFlush();
  }

  /** Sends as much of the stream's pending body as the windows allow, then its trailers. */
  #sendData(stream: ServerStream): void {
    const body = stream.blocked!;
    const trailers = stream.blockedTrailers;
    let pos = 0;
    while (pos < body.length) {
      const n = Math.min(body.length - pos, this.#sendWindow, stream.sendWindow, this.#peerMaxFrame);
      if (n <= 0) break;
      const last = pos + n === body.length;
      const flags = last && trailers === null ? Flag.END_STREAM : 0;
      this.#writeFrame(FrameType.DATA, flags, stream.id, body.subarray(pos, pos + n));
      this.#sendWindow -= n;
      stream.sendWindow -= n;
      pos += n;
    }
    if (pos < body.length) {
      stream.blocked = body.subarray(pos);
      return;
    }
    stream.blocked = null;
    stream.blockedTrailers = null;
    if (trailers !== null) this.#writeHeaders(stream.id, trailers, true);
    else if (body.length === 0) this.#writeFrame(FrameType.DATA, Flag.END_STREAM, stream.id, null);
  }

  #drainBlocked(): void {
    for (const stream of this.#blocked) {
      if (this.#sendWindow <= 0) break;
      if (stream.sendWindow <= 0) continue;
      this.#sendData(stream);
      if (stream.blocked === null) {
        this.#blocked.delete(stream);
        this.#answered(stream);
      }
    }
  }

  /** Our END_STREAM is out: the stream closes, or, if the client is still sending, is reset. */
  #answered(stream: ServerStream): void {
    if (!stream.remoteClosed) {
      // RFC 9113 §8.1: a complete answer before the whole request; ask the client to stop.
      this.#writeRst(stream.id, ErrorCode.NO_ERROR);
    }
    this.#streams.delete(stream.id);
    this.#endIfIdle();
  }

  #closeIfDone(stream: ServerStream): void {
    if (stream.answered && stream.blocked === null) this.#streams.delete(stream.id);
  }

  #abort(stream: ServerStream): void {
    this.#streams.delete(stream.id);
    this.#blocked.delete(stream);
    if (!stream.answered) stream.listener.onAbort();
    this.#endIfIdle();
  }

  #streamError(id: number, code: number): void {
    this.#writeRst(id, code);
    const stream = this.#streams.get(id);
    if (stream !== undefined) this.#abort(stream);
  }

  #connectionError(code: number, debug: string): void {
    if (this.#dead) return;
    this.#writeGoAway(code, debug);
    this.#flush();
    this.#dead = true;
    this.#endSocket();
    this.#abortAll();
  }

  #abortAll(): void {
    const open = [...this.#streams.values()];
    this.#streams.clear();
    this.#blocked.clear();
    for (const stream of open) if (!stream.answered) stream.listener.onAbort();
  }

  #endIfIdle(): void {
    if (!this.#goingAway || this.#streams.size > 0 || this.#dead) return;
    this.#flush();
    this.#dead = true;
    this.#endSocket();
  }

  /** Ends our side and, once what we wrote is out, closes the socket whatever the client does. */
  #endSocket(): void {
    const socket = this.#socket;
    socket.end(() => socket.destroy());
  }

  #closed(): void {
    this.#dead = true;
    this.#abortAll();
    this.onClose();
  }

  // Output.

  #sendSettings(): void {
    const settings = Buffer.alloc(12);
    settings.writeUInt16BE(Setting.INITIAL_WINDOW_SIZE, 0);
    settings.writeUInt32BE(this.#limits.streamWindow, 2);
    settings.writeUInt16BE(Setting.MAX_HEADER_LIST_SIZE, 6);
    settings.writeUInt32BE(this.#limits.maxHeaderListSize, 8);
    this.#writeFrame(FrameType.SETTINGS, 0, 0, settings);
    this.#writeWindowUpdate(0, this.#limits.connectionWindow - DEFAULT_WINDOW);
    this.#scheduleFlush();
  }

  #writeHeaders(id: number, block: Buffer, endStream: boolean): void {
    const end = endStream ? Flag.END_STREAM : 0;
    if (block.length <= this.#peerMaxFrame) {
      this.#writeFrame(FrameType.HEADERS, end | Flag.END_HEADERS, id, block);
      return;
    }
    let pos = 0;
    while (pos < block.length) {
      const n = Math.min(this.#peerMaxFrame, block.length - pos);
      const last = pos + n === block.length;
      const type = pos === 0 ? FrameType.HEADERS : FrameType.CONTINUATION;
      this.#writeFrame(
        type,
        (pos === 0 ? end : 0) | (last ? Flag.END_HEADERS : 0),
        id,
        block.subarray(pos, pos + n),
      );
      pos += n;
    }
  }

  #writeRst(id: number, code: number): void {
    this.#writeFrame(FrameType.RST_STREAM, 0, id, null, code);
  }

  #writeWindowUpdate(id: number, increment: number): void {
    if (increment > 0) this.#writeFrame(FrameType.WINDOW_UPDATE, 0, id, null, increment);
  }

  #writeGoAway(code: number, debug: string): void {
    const text = Buffer.from(debug, 'utf8');
    const payload = Buffer.allocUnsafe(8 + text.length);
    payload.writeUInt32BE(this.#goingAway ? this.#goAwayLastId : this.#lastStreamId, 0);
    payload.writeUInt32BE(code, 4);
    text.copy(payload, 8);
    this.#writeFrame(FrameType.GOAWAY, 0, 0, payload);
    this.#scheduleFlush();
  }

  /** A frame whose payload is `payload`, or the one 32-bit number `u32` (RST_STREAM, WINDOW_UPDATE). */
  #writeFrame(type: number, flags: number, id: number, payload: Buffer | null, u32?: number): void {
    const length = payload !== null ? payload.length : u32 !== undefined ? 4 : 0;
    const need = FRAME_HEADER_BYTES + length;
    if (this.#out.length - this.#outEnd < need) {
      // Bytes handed to the socket stay where they are; what is pending moves to a new buffer.
      const pending = this.#outEnd - this.#outStart;
      const next = Buffer.allocUnsafe(Math.max(OUT_CHUNK, 2 * (pending + need)));
      this.#out.copy(next, 0, this.#outStart, this.#outEnd);
      this.#out = next;
      this.#outStart = 0;
      this.#outEnd = pending;
    }
    writeFrameHeader(this.#out, this.#outEnd, length, type, flags, id);
    if (payload !== null) payload.copy(this.#out, this.#outEnd + FRAME_HEADER_BYTES);
    else if (u32 !== undefined) this.#out.writeUInt32BE(u32, this.#outEnd + FRAME_HEADER_BYTES);
    this.#outEnd += need;
  }

  #scheduleFlush(): void {
    if (this.#flushQueued || this.#outEnd === this.#outStart) return;
    this.#flushQueued = true;
    process.nextTick(() => {
      this.#flushQueued = false;
      this.#flush();
    });
  }

  #flush(): void {
    if (this.#outEnd === this.#outStart || this.#socket.destroyed) return;
    const chunk = this.#out.subarray(this.#outStart, this.#outEnd);
    this.#outStart = this.#outEnd;
    // A client that does not read its answers is not read from either, until it catches up.
    if (!this.#socket.write(chunk)) this.#socket.pause();
  }
}

/**
 * RFC 9113 §8.2–8.3 for a request: lower-case names, pseudo-headers first and only the request
 * ones, no connection-specific fields, `te` only "trailers".
 */
function isWellFormedRequest(headers: readonly string[]): boolean {
  let regular = false;
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]!;
    if (name.length === 0 || name !== name.toLowerCase()) return false;
    if (name.charCodeAt(0) === 0x3a) {
      if (regular || !REQUEST_PSEUDO_HEADERS.has(name)) return false;
      continue;
    }
    regular = true;
    if (CONNECTION_HEADERS.has(name)) return false;
    if (name === 'te' && headers[i + 1] !== 'trailers') return false;
  }
  return true;
}
