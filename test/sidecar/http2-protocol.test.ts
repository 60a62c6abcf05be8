// The sidecar's own HTTP/2 server (sidecar/http2/server-connection.ts under unary-grpc.ts) at the
// protocol's edges a user can reach: Envoy, gRPC clients, or a broken or hostile peer. The server
// runs in this process on a Unix socket; the tests write frames by hand and read the answers frame
// by frame, and use node:http2 and grpc-js where a real client is the point. Frame types, flags,
// error codes and settings are written out here from RFC 9113 rather than imported from the
// server, so a wrong constant there fails here. Answers' header blocks are read with the server's
// HPACK decoder, which sidecar/http2/hpack.test.ts checks against nghttp2's encoder.
//
// "Nothing more was sent" is asserted without sleeping: the test sends a PING and reads up to its
// ACK. The server handles a read's frames in order and writes what it answers in that order, so
// whatever it would send in answer to the frames before the PING comes before the ACK.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { rmSync } from 'node:fs';
import { connect as h2Connect, type IncomingHttpHeaders } from 'node:http2';
import { connect as netConnect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import * as grpc from '@grpc/grpc-js';
import { HpackDecoder } from '../../sidecar/http2/hpack.js';
import { createUnaryGrpcServer, type UnaryGrpcServer } from '../../sidecar/unary-grpc.js';
import { seededRandom, type SeededRandom } from '../../testing/seeded-random.js';
import { makeTempDir } from '../harness/temp-dirs.js';

// RFC 9113 §6 and §7.
const T = {
  DATA: 0x0,
  HEADERS: 0x1,
  PRIORITY: 0x2,
  RST_STREAM: 0x3,
  SETTINGS: 0x4,
  PUSH_PROMISE: 0x5,
  PING: 0x6,
  GOAWAY: 0x7,
  WINDOW_UPDATE: 0x8,
  CONTINUATION: 0x9,
} as const;
const END_STREAM = 0x1;
const ACK = 0x1;
const END_HEADERS = 0x4;
const PADDED = 0x8;
const PRIORITY = 0x20;
const E = {
  NO_ERROR: 0x0,
  PROTOCOL_ERROR: 0x1,
  FLOW_CONTROL_ERROR: 0x3,
  STREAM_CLOSED: 0x5,
  FRAME_SIZE_ERROR: 0x6,
  REFUSED_STREAM: 0x7,
  CANCEL: 0x8,
  COMPRESSION_ERROR: 0x9,
  ENHANCE_YOUR_CALM: 0xb,
} as const;
const S = {
  ENABLE_PUSH: 0x2,
  INITIAL_WINDOW_SIZE: 0x4,
  MAX_FRAME_SIZE: 0x5,
  MAX_HEADER_LIST_SIZE: 0x6,
} as const;
const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
const MAX_FRAME = 16_384;
const MAX_WINDOW = 2 ** 31 - 1;
const MiB = 1024 * 1024;

const ECHO = '/test.Echo/Echo';
const THROW = '/test.Echo/Throw';
/** How long a test waits for a frame before failing with what it did receive (not a timing assertion). */
const WAIT_MS = 10_000;

// Frames out.

function frame(type: number, flags: number, id: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const out = Buffer.alloc(9 + payload.length);
  out.writeUIntBE(payload.length, 0, 3);
  out[3] = type;
  out[4] = flags;
  out.writeUInt32BE(id, 5);
  payload.copy(out, 9);
  return out;
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

function settings(pairs: readonly (readonly [number, number])[] = []): Buffer {
  const payload = Buffer.alloc(6 * pairs.length);
  pairs.forEach(([key, value], i) => {
    payload.writeUInt16BE(key, 6 * i);
    payload.writeUInt32BE(value, 6 * i + 2);
  });
  return frame(T.SETTINGS, 0, 0, payload);
}

const windowUpdate = (id: number, increment: number) => frame(T.WINDOW_UPDATE, 0, id, u32(increment));
const rstStream = (id: number, code: number) => frame(T.RST_STREAM, 0, id, u32(code));

/** A gRPC length-prefixed message (uncompressed unless `flag` says otherwise). */
function grpcMessage(message: Buffer, flag = 0): Buffer {
  const out = Buffer.alloc(5 + message.length);
  out[0] = flag;
  out.writeUInt32BE(message.length, 1);
  message.copy(out, 5);
  return out;
}

// HPACK for requests (RFC 7541): literals with plain strings; the server must decode any form.

function hpackInteger(value: number, prefixBits: number, first: number): number[] {
  const max = (1 << prefixBits) - 1;
  if (value < max) return [first | value];
  const out = [first | max];
  let rest = value - max;
  while (rest >= 0x80) {
    out.push((rest % 0x80) | 0x80);
    rest = Math.floor(rest / 0x80);
  }
  out.push(rest);
  return out;
}

/** A literal field with a new name: without indexing (0x00) or with incremental indexing (0x40). */
function literal(name: string, value: string, representation = 0x00): Buffer {
  const n = Buffer.from(name, 'latin1');
  const v = Buffer.from(value, 'latin1');
  return Buffer.concat([
    Buffer.from([representation, ...hpackInteger(n.length, 7, 0)]),
    n,
    Buffer.from(hpackInteger(v.length, 7, 0)),
    v,
  ]);
}

type Fields = readonly (readonly [string, string])[];

function block(fields: Fields): Buffer {
  return Buffer.concat(fields.map(([name, value]) => literal(name, value)));
}

function requestFields(path = ECHO, extra: Fields = []): Fields {
  return [
    [':method', 'POST'],
    [':scheme', 'http'],
    [':path', path],
    [':authority', 'localhost'],
    ['content-type', 'application/grpc'],
    ['te', 'trailers'],
    ...extra,
  ];
}

const requestBlock = (path = ECHO, extra: Fields = []) => block(requestFields(path, extra));

// Frames in.

interface Frame {
  readonly type: number;
  readonly flags: number;
  readonly id: number;
  readonly payload: Buffer;
}

interface Answer {
  readonly headers: Record<string, string>;
  readonly body: Buffer;
  readonly trailers: Record<string, string> | null;
}

function decodeBlock(payload: Buffer): Record<string, string> {
  const out: string[] = [];
  new HpackDecoder().decode(payload, out);
  const fields: Record<string, string> = {};
  for (let i = 0; i < out.length; i += 2) fields[out[i]!] = out[i + 1]!;
  return fields;
}

/** grpc-status and grpc-message, from the trailers or a trailers-only answer. */
function grpcStatus(a: Answer): { code: number; message: string } {
  const h = a.trailers ?? a.headers;
  return { code: Number(h['grpc-status']), message: decodeURI(h['grpc-message'] ?? '') };
}

function goAwayOf(f: Frame): { lastStreamId: number; code: number } {
  return { lastStreamId: f.payload.readUInt32BE(0) & 0x7fffffff, code: f.payload.readUInt32BE(4) };
}

function describeFrames(frames: readonly Frame[]): string {
  const names = Object.fromEntries(Object.entries(T).map(([k, v]) => [v, k]));
  return (
    frames
      .map((f) => `${names[f.type] ?? f.type}(id ${f.id}, flags ${f.flags}, ${f.payload.length} B)`)
      .join(' ') || 'nothing'
  );
}

function within<V>(promise: Promise<V>, what: string): Promise<V> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`waited ${WAIT_MS} ms for ${what}`)), WAIT_MS);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

const openPeers = new Set<RawPeer>();

/** A client on a raw socket: writes bytes as given, parses what comes back into frames. */
class RawPeer {
  /** Every frame received, in order. */
  readonly frames: Frame[] = [];
  readonly closed: Promise<void>;
  isClosed = false;
  #input: Buffer = Buffer.alloc(0);
  #wake: (() => void) | null = null;
  /** Index in `frames` after the last PING ACK `sync` read. */
  #mark = 0;
  #pings = 0;
  // Our send windows (RFC 9113 §6.9), as the server's SETTINGS and WINDOW_UPDATEs set them.
  #connectionWindow = 65_535;
  #initialWindow = 65_535;
  readonly #streamWindows = new Map<number, number>();

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => this.#read(chunk));
    socket.on('error', () => {}); // 'close' follows; how the server ends a connection is checked
    this.closed = new Promise((resolve) =>
      socket.on('close', () => {
        this.isClosed = true;
        openPeers.delete(this);
        this.#notify();
        resolve();
      }),
    );
    openPeers.add(this);
  }

  static async connect(path: string): Promise<RawPeer> {
    const peer = new RawPeer(netConnect(path));
    await new Promise<void>((resolve, reject) => {
      peer.socket.once('connect', resolve);
      void peer.closed.then(() => reject(new Error(`could not connect to ${path}`)));
    });
    return peer;
  }

  /** Connects, sends the preface and SETTINGS, and reads up to the server's ACK of them. */
  static async open(path: string, pairs: readonly (readonly [number, number])[] = []): Promise<RawPeer> {
    const peer = await RawPeer.connect(path);
    peer.write(PREFACE, settings(pairs));
    const ack = await peer.find((f) => f.type === T.SETTINGS && (f.flags & ACK) !== 0, 'the SETTINGS ACK');
    peer.#mark = peer.frames.indexOf(ack) + 1;
    return peer;
  }

  write(...parts: Buffer[]): void {
    this.socket.write(Buffer.concat(parts));
  }

  /** HEADERS (and END_HEADERS) for a new stream, opening our send window for it. */
  headers(id: number, headerBlock: Buffer, flags = 0): void {
    this.#streamWindows.set(id, this.#initialWindow);
    this.write(frame(T.HEADERS, END_HEADERS | flags, id, headerBlock));
  }

  /** A whole unary request: HEADERS, then `message` framed as gRPC in one DATA with END_STREAM. */
  request(id: number, message: Buffer, path = ECHO, extra: Fields = []): void {
    this.headers(id, requestBlock(path, extra));
    void this.sendData(id, grpcMessage(message), true);
  }

  /** DATA frames of at most 16,384 bytes, waiting for the server's WINDOW_UPDATEs when a window is spent. */
  async sendData(id: number, data: Buffer, endStream: boolean): Promise<void> {
    let pos = 0;
    do {
      const window = Math.min(this.#connectionWindow, this.#streamWindows.get(id) ?? 0);
      const n = Math.min(MAX_FRAME, data.length - pos, window);
      if (n <= 0 && pos < data.length) {
        if (this.isClosed) throw new Error('the connection closed while DATA was waiting for a window');
        await this.#arrival(`a WINDOW_UPDATE for stream ${id}`);
        continue;
      }
      const last = pos + n === data.length;
      this.write(frame(T.DATA, last && endStream ? END_STREAM : 0, id, data.subarray(pos, pos + n)));
      this.#connectionWindow -= n;
      this.#streamWindows.set(id, (this.#streamWindows.get(id) ?? 0) - n);
      pos += n;
    } while (pos < data.length);
  }

  /** The first frame received that `match` accepts, waiting for it if need be. */
  async find(match: (f: Frame) => boolean, what: string, from = 0): Promise<Frame> {
    for (;;) {
      for (let i = from; i < this.frames.length; i++) if (match(this.frames[i]!)) return this.frames[i]!;
      if (this.isClosed) {
        throw new Error(`the connection closed before ${what}; received: ${describeFrames(this.frames)}`);
      }
      await this.#arrival(what);
    }
  }

  /** Sends a PING and reads up to its ACK; returns the frames received since the last `sync`. */
  async sync(): Promise<Frame[]> {
    const data = Buffer.alloc(8);
    data.writeUInt32BE(0x5eed, 0);
    data.writeUInt32BE(++this.#pings, 4);
    this.write(frame(T.PING, 0, 0, data));
    const ack = await this.find(
      (f) => f.type === T.PING && (f.flags & ACK) !== 0 && f.payload.equals(data),
      `the ACK of PING ${this.#pings}`,
      this.#mark,
    );
    const at = this.frames.indexOf(ack);
    const since = this.frames.slice(this.#mark, at);
    this.#mark = at + 1;
    return since;
  }

  /** Stream `id`'s whole answer, once a frame of it with END_STREAM has arrived. */
  async answer(id: number): Promise<Answer> {
    await this.find(
      (f) => f.id === id && (f.type === T.HEADERS || f.type === T.DATA) && (f.flags & END_STREAM) !== 0,
      `the end of stream ${id}'s answer`,
    );
    const mine = this.frames.filter((f) => f.id === id);
    const blocks = mine.filter((f) => f.type === T.HEADERS);
    return {
      headers: decodeBlock(blocks[0]!.payload),
      body: Buffer.concat(mine.filter((f) => f.type === T.DATA).map((f) => f.payload)),
      trailers: blocks.length > 1 ? decodeBlock(blocks[1]!.payload) : null,
    };
  }

  /** The connection error the server ends with: its GOAWAY's code and last stream id. */
  async connectionError(): Promise<{ lastStreamId: number; code: number }> {
    const goAway = await this.find((f) => f.type === T.GOAWAY, 'GOAWAY');
    await within(this.closed, 'the server to close the connection after its GOAWAY');
    expect(this.frames.at(-1), 'nothing is sent after a GOAWAY for an error').toBe(goAway);
    return goAwayOf(goAway);
  }

  destroy(): void {
    this.socket.destroy();
  }

  #read(chunk: Buffer): void {
    this.#input = this.#input.length === 0 ? chunk : Buffer.concat([this.#input, chunk]);
    let pos = 0;
    while (this.#input.length - pos >= 9) {
      const length = this.#input.readUIntBE(pos, 3);
      if (this.#input.length - pos < 9 + length) break;
      const f: Frame = {
        type: this.#input[pos + 3]!,
        flags: this.#input[pos + 4]!,
        id: this.#input.readUInt32BE(pos + 5) & 0x7fffffff,
        payload: Buffer.from(this.#input.subarray(pos + 9, pos + 9 + length)),
      };
      this.#track(f);
      this.frames.push(f);
      pos += 9 + length;
    }
    this.#input = this.#input.subarray(pos);
    this.#notify();
  }

  #track(f: Frame): void {
    if (f.type === T.SETTINGS && (f.flags & ACK) === 0) {
      for (let pos = 0; pos + 6 <= f.payload.length; pos += 6) {
        if (f.payload.readUInt16BE(pos) !== S.INITIAL_WINDOW_SIZE) continue;
        const value = f.payload.readUInt32BE(pos + 2);
        for (const [id, window] of this.#streamWindows)
          this.#streamWindows.set(id, window + value - this.#initialWindow);
        this.#initialWindow = value;
      }
    } else if (f.type === T.WINDOW_UPDATE && f.payload.length === 4) {
      const increment = f.payload.readUInt32BE(0) & 0x7fffffff;
      if (f.id === 0) this.#connectionWindow += increment;
      else this.#streamWindows.set(f.id, (this.#streamWindows.get(f.id) ?? 0) + increment);
    }
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }

  /** Resolves when a frame arrives or the connection closes. */
  #arrival(what: string): Promise<void> {
    return within(
      new Promise<void>((resolve) => (this.#wake = resolve)),
      `${what}; received: ${describeFrames(this.frames)}`,
    );
  }
}

// The server.

interface Fixture {
  readonly path: string;
  readonly grpc: UnaryGrpcServer;
  /** What the server's onInternalError hook was given: a fault of ours, never the client's. */
  readonly internalErrors: unknown[];
  close(): Promise<void>;
}

async function startServer(): Promise<Fixture> {
  const dir = makeTempDir('h2-protocol');
  const path = join(dir, 'grpc.sock');
  const internalErrors: unknown[] = [];
  const grpcServer = createUnaryGrpcServer(
    new Map([
      [ECHO, (request: Buffer) => request],
      [
        THROW,
        () => {
          throw new Error('cannot decode');
        },
      ],
    ]),
    undefined,
    (err) => internalErrors.push(err),
  );
  const server: Server = createServer((socket) => grpcServer.accept(socket));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, resolve);
  });
  return {
    path,
    grpc: grpcServer,
    internalErrors,
    async close() {
      for (const peer of openPeers) peer.destroy();
      await grpcServer.stop(1000);
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A new connection is served: an echo call on raw frames comes back whole. */
async function expectServes(fx: Fixture): Promise<void> {
  const peer = await RawPeer.open(fx.path);
  const message = Buffer.from('still serving');
  peer.request(1, message);
  const a = await peer.answer(1);
  expect(a.headers[':status']).toBe('200');
  expect(a.body).toEqual(grpcMessage(message));
  expect(grpcStatus(a)).toEqual({ code: 0, message: 'OK' });
  peer.destroy();
}

let fx: Fixture;

beforeAll(async () => {
  fx = await startServer();
});

afterEach(() => {
  for (const peer of openPeers) peer.destroy();
  expect(fx.internalErrors).toEqual([]);
});

afterAll(async () => {
  await fx?.close();
});

describe('connection start', () => {
  it('sends SETTINGS (1 MiB stream window, 64 KiB header list) and a 16 MiB connection window, ACKs SETTINGS, answers PING with its 8 bytes', async () => {
    const peer = await RawPeer.connect(fx.path);
    peer.write(PREFACE, settings([[S.MAX_FRAME_SIZE, 32_768]]));
    await peer.find((f) => f.type === T.SETTINGS && (f.flags & ACK) !== 0, 'the SETTINGS ACK');
    const [first, second] = peer.frames;
    expect(first!.type).toBe(T.SETTINGS);
    expect(first!.flags).toBe(0);
    const advertised = new Map<number, number>();
    for (let pos = 0; pos < first!.payload.length; pos += 6)
      advertised.set(first!.payload.readUInt16BE(pos), first!.payload.readUInt32BE(pos + 2));
    expect(advertised.get(S.INITIAL_WINDOW_SIZE)).toBe(MiB);
    expect(advertised.get(S.MAX_HEADER_LIST_SIZE)).toBe(64 * 1024);
    expect(second).toMatchObject({ type: T.WINDOW_UPDATE, id: 0, payload: u32(16 * MiB - 65_535) });

    const data = Buffer.from('8 bytes!');
    peer.write(frame(T.PING, 0, 0, data));
    const pong = await peer.find((f) => f.type === T.PING, 'the PING ACK');
    expect(pong).toEqual({ type: T.PING, flags: ACK, id: 0, payload: data });
    await peer.sync();

    // A PING ACK from the client is not answered; a later SETTINGS is ACKed again.
    peer.write(frame(T.PING, ACK, 0, Buffer.from('an ack..')), settings([[S.ENABLE_PUSH, 0]]));
    const between = await peer.sync();
    expect(between.map((f) => [f.type, f.flags])).toEqual([[T.SETTINGS, ACK]]);
  });

  it('closes a connection that does not start with the HTTP/2 preface, and serves the next one', async () => {
    const peer = await RawPeer.connect(fx.path);
    peer.write(Buffer.from('GET / HTTP/1.1\r\nHost: localhost\r\n\r\n'));
    await within(peer.closed, 'the server to close an HTTP/1.1 connection');
    expect(peer.frames.filter((f) => f.type !== T.SETTINGS && f.type !== T.WINDOW_UPDATE)).toEqual([]);
    await expectServes(fx);
  });

  it.each([
    ['PING', frame(T.PING, 0, 0, Buffer.alloc(8))],
    ['HEADERS', frame(T.HEADERS, END_HEADERS | END_STREAM, 1, requestBlock())],
    ['WINDOW_UPDATE', windowUpdate(0, 1000)],
    ['a SETTINGS ACK', frame(T.SETTINGS, ACK, 0)],
  ])('answers %s as the first frame with GOAWAY PROTOCOL_ERROR, last stream 0', async (_, first) => {
    const peer = await RawPeer.connect(fx.path);
    peer.write(PREFACE, first, settings());
    expect(await peer.connectionError()).toEqual({ lastStreamId: 0, code: E.PROTOCOL_ERROR });
    expect(peer.frames.some((f) => f.type === T.HEADERS)).toBe(false);
    await expectServes(fx);
  });
});

describe('answers', () => {
  it('answers an echo call, and a method that throws INTERNAL, on one connection', async () => {
    const peer = await RawPeer.open(fx.path);
    peer.request(1, Buffer.from('hello'));
    peer.request(3, Buffer.from('x'), THROW);
    const echo = await peer.answer(1);
    expect(echo.headers).toMatchObject({ ':status': '200', 'content-type': 'application/grpc+proto' });
    expect(echo.body).toEqual(grpcMessage(Buffer.from('hello')));
    expect(grpcStatus(echo)).toEqual({ code: 0, message: 'OK' });
    const thrown = await peer.answer(3);
    expect(thrown.trailers).toBe(null);
    expect(grpcStatus(thrown)).toEqual({ code: 13, message: 'Error deserializing request' });
  });

  it('decodes a header block split over HEADERS and CONTINUATIONs, with PADDED and PRIORITY, and padded DATA', async () => {
    const peer = await RawPeer.open(fx.path);
    const headerBlock = requestBlock();
    const padding = Buffer.alloc(7);
    const priority = Buffer.from([0, 0, 0, 0, 15]); // depends on stream 0, weight 16
    peer.write(
      frame(
        T.HEADERS,
        PADDED | PRIORITY,
        1,
        Buffer.concat([Buffer.from([padding.length]), priority, headerBlock.subarray(0, 10), padding]),
      ),
      frame(T.CONTINUATION, 0, 1, headerBlock.subarray(10, 11)),
      frame(T.CONTINUATION, 0, 1, Buffer.alloc(0)),
      frame(T.CONTINUATION, END_HEADERS, 1, headerBlock.subarray(11)),
      frame(
        T.DATA,
        PADDED | END_STREAM,
        1,
        Buffer.concat([Buffer.from([3]), grpcMessage(Buffer.from('padded')), Buffer.alloc(3)]),
      ),
    );
    const a = await peer.answer(1);
    expect(a.body).toEqual(grpcMessage(Buffer.from('padded')));
    expect(grpcStatus(a).code).toBe(0);

    // END_STREAM on a HEADERS whose block ends in a CONTINUATION ends the request: no message.
    peer.write(
      frame(T.HEADERS, END_STREAM | PRIORITY, 3, Buffer.concat([priority, headerBlock.subarray(0, 20)])),
      frame(T.CONTINUATION, END_HEADERS, 3, headerBlock.subarray(20)),
    );
    expect(grpcStatus(await peer.answer(3))).toEqual({
      code: 12,
      message: `Received no request message for server streaming method ${ECHO}`,
    });
  });

  it('accepts PRIORITY frames on any stream, and request trailers that end the request', async () => {
    const peer = await RawPeer.open(fx.path);
    peer.write(frame(T.PRIORITY, 0, 9, Buffer.from([0, 0, 0, 1, 200])));
    peer.headers(1, requestBlock());
    void peer.sendData(1, grpcMessage(Buffer.from('with trailers')), false);
    peer.write(frame(T.HEADERS, END_HEADERS | END_STREAM, 1, block([['x-trailer', 'yes']])));
    const a = await peer.answer(1);
    expect(a.body).toEqual(grpcMessage(Buffer.from('with trailers')));
    // Stream 9 was only named by PRIORITY: it is idle, so a new stream may take a lower id.
    peer.request(3, Buffer.from('three'));
    expect((await peer.answer(3)).body).toEqual(grpcMessage(Buffer.from('three')));
  });

  it('answers headers over 64 KiB with :status 431 on that stream, and serves on', async () => {
    const peer = await RawPeer.open(fx.path);
    const big = requestBlock(ECHO, [['x-big', 'a'.repeat(70_000)]]);
    const parts = [];
    for (let pos = 0; pos < big.length; pos += MAX_FRAME) parts.push(big.subarray(pos, pos + MAX_FRAME));
    peer.write(
      ...parts.map((part, i) =>
        frame(
          i === 0 ? T.HEADERS : T.CONTINUATION,
          (i === 0 ? END_STREAM : 0) | (i === parts.length - 1 ? END_HEADERS : 0),
          1,
          part,
        ),
      ),
    );
    const refused = await peer.answer(1);
    expect(refused.headers).toEqual({ ':status': '431' });
    expect(refused.body.length).toBe(0);

    // Just under the limit is served; and the connection goes on after the 431.
    const fits = requestBlock(ECHO, [['x-big', 'a'.repeat(60_000)]]);
    peer.write(
      frame(T.HEADERS, 0, 3, fits.subarray(0, MAX_FRAME)),
      frame(T.CONTINUATION, 0, 3, fits.subarray(MAX_FRAME, 2 * MAX_FRAME)),
      frame(T.CONTINUATION, 0, 3, fits.subarray(2 * MAX_FRAME, 3 * MAX_FRAME)),
      frame(T.CONTINUATION, END_HEADERS, 3, fits.subarray(3 * MAX_FRAME)),
      frame(T.DATA, END_STREAM, 3, grpcMessage(Buffer.from('fits'))),
    );
    expect((await peer.answer(3)).body).toEqual(grpcMessage(Buffer.from('fits')));
  });
});

describe('connection errors: GOAWAY with the code and last stream id, then close; others are served', () => {
  const opening = requestBlock().subarray(0, 12);
  const cases: [string, Buffer, number][] = [
    ['a frame over 16,384 bytes', frame(T.DATA, 0, 1, Buffer.alloc(MAX_FRAME + 1)), E.FRAME_SIZE_ERROR],
    [
      'a frame over 16,384 bytes (its header alone)',
      frame(T.DATA, 0, 1, Buffer.alloc(MAX_FRAME + 1)).subarray(0, 9),
      E.FRAME_SIZE_ERROR,
    ],
    ['HPACK index 0', frame(T.HEADERS, END_HEADERS, 3, Buffer.from([0x80])), E.COMPRESSION_ERROR],
    [
      'an HPACK index past the dynamic table',
      frame(T.HEADERS, END_HEADERS, 3, Buffer.from([0xbe])),
      E.COMPRESSION_ERROR,
    ],
    [
      'an HPACK name index past the dynamic table',
      frame(T.HEADERS, END_HEADERS, 3, Buffer.from([0x0f, 0x30, 0x01, 0x61])),
      E.COMPRESSION_ERROR,
    ],
    [
      'a Huffman string holding EOS',
      frame(T.HEADERS, END_HEADERS, 3, Buffer.from([0x00, 0x84, 0xff, 0xff, 0xff, 0xff, 0x00])),
      E.COMPRESSION_ERROR,
    ],
    [
      'a Huffman string padded with zeros',
      frame(T.HEADERS, END_HEADERS, 3, Buffer.from([0x00, 0x81, 0x18, 0x00])), // "a" is 00011
      E.COMPRESSION_ERROR,
    ],
    [
      'a Huffman string padded with 8 one-bits',
      frame(T.HEADERS, END_HEADERS, 3, Buffer.from([0x00, 0x82, 0x1f, 0xff, 0x00])),
      E.COMPRESSION_ERROR,
    ],
    [
      'an HPACK string past its block',
      frame(T.HEADERS, END_HEADERS, 3, Buffer.from([0x00, 0x05, 0x61])),
      E.COMPRESSION_ERROR,
    ],
    [
      'an HPACK integer too large',
      frame(T.HEADERS, END_HEADERS, 3, Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f])),
      E.COMPRESSION_ERROR,
    ],
    [
      'an HPACK table size over the 4,096 allowed',
      frame(T.HEADERS, END_HEADERS, 3, Buffer.from([0x3f, 0xe2, 0x1f])),
      E.COMPRESSION_ERROR,
    ],
    ['CONTINUATION without HEADERS', frame(T.CONTINUATION, END_HEADERS, 3, requestBlock()), E.PROTOCOL_ERROR],
    [
      'CONTINUATION on another stream than its HEADERS',
      Buffer.concat([
        frame(T.HEADERS, 0, 3, opening),
        frame(T.CONTINUATION, END_HEADERS, 5, requestBlock().subarray(12)),
      ]),
      E.PROTOCOL_ERROR,
    ],
    [
      'a header block interrupted by PING',
      Buffer.concat([frame(T.HEADERS, 0, 3, opening), frame(T.PING, 0, 0, Buffer.alloc(8))]),
      E.PROTOCOL_ERROR,
    ],
    [
      'a header block interrupted by DATA',
      Buffer.concat([frame(T.HEADERS, 0, 3, opening), frame(T.DATA, 0, 3, Buffer.alloc(5))]),
      E.PROTOCOL_ERROR,
    ],
    ['DATA on an idle stream', frame(T.DATA, END_STREAM, 5, grpcMessage(Buffer.from('x'))), E.PROTOCOL_ERROR],
    ['DATA on stream 0', frame(T.DATA, 0, 0, Buffer.alloc(5)), E.PROTOCOL_ERROR],
    ['HEADERS on an even stream', frame(T.HEADERS, END_HEADERS, 2, requestBlock()), E.PROTOCOL_ERROR],
    ['HEADERS on stream 0', frame(T.HEADERS, END_HEADERS, 0, requestBlock()), E.PROTOCOL_ERROR],
    ['a connection WINDOW_UPDATE of 0', windowUpdate(0, 0), E.PROTOCOL_ERROR],
    ['a connection window past 2^31-1', windowUpdate(0, MAX_WINDOW), E.FLOW_CONTROL_ERROR],
    ['WINDOW_UPDATE on an idle stream', windowUpdate(7, 100), E.PROTOCOL_ERROR],
    ['WINDOW_UPDATE of 3 bytes', frame(T.WINDOW_UPDATE, 0, 0, Buffer.alloc(3, 1)), E.FRAME_SIZE_ERROR],
    ['RST_STREAM on an idle stream', rstStream(7, E.CANCEL), E.PROTOCOL_ERROR],
    ['RST_STREAM on stream 0', rstStream(0, E.CANCEL), E.PROTOCOL_ERROR],
    ['RST_STREAM of 3 bytes', frame(T.RST_STREAM, 0, 1, Buffer.alloc(3)), E.FRAME_SIZE_ERROR],
    ['PUSH_PROMISE from a client', frame(T.PUSH_PROMISE, END_HEADERS, 1, u32(2)), E.PROTOCOL_ERROR],
    ['PING of 7 bytes', frame(T.PING, 0, 0, Buffer.alloc(7)), E.FRAME_SIZE_ERROR],
    ['PING on a stream', frame(T.PING, 0, 1, Buffer.alloc(8)), E.PROTOCOL_ERROR],
    ['PRIORITY on stream 0', frame(T.PRIORITY, 0, 0, Buffer.from([0, 0, 0, 1, 0])), E.PROTOCOL_ERROR],
    ['GOAWAY on a stream', frame(T.GOAWAY, 0, 1, Buffer.alloc(8)), E.PROTOCOL_ERROR],
    ['SETTINGS on a stream', frame(T.SETTINGS, 0, 1), E.PROTOCOL_ERROR],
    ['SETTINGS of 5 bytes', frame(T.SETTINGS, 0, 0, Buffer.alloc(5)), E.FRAME_SIZE_ERROR],
    ['a SETTINGS ACK with a payload', frame(T.SETTINGS, ACK, 0, Buffer.alloc(6)), E.FRAME_SIZE_ERROR],
    [
      'SETTINGS_INITIAL_WINDOW_SIZE past 2^31-1',
      settings([[S.INITIAL_WINDOW_SIZE, 2 ** 31]]),
      E.FLOW_CONTROL_ERROR,
    ],
    [
      "a SETTINGS_INITIAL_WINDOW_SIZE that takes open stream 1's window past 2^31-1",
      Buffer.concat([windowUpdate(1, MAX_WINDOW - 65_535), settings([[S.INITIAL_WINDOW_SIZE, 65_536]])]),
      E.FLOW_CONTROL_ERROR,
    ],
    ['SETTINGS_MAX_FRAME_SIZE under 16,384', settings([[S.MAX_FRAME_SIZE, 16_383]]), E.PROTOCOL_ERROR],
    ['SETTINGS_MAX_FRAME_SIZE over 2^24-1', settings([[S.MAX_FRAME_SIZE, 2 ** 24]]), E.PROTOCOL_ERROR],
    ['SETTINGS_ENABLE_PUSH of 2', settings([[S.ENABLE_PUSH, 2]]), E.PROTOCOL_ERROR],
    [
      'padding as long as the frame',
      frame(T.HEADERS, PADDED | END_HEADERS, 3, Buffer.from([5, 0x82, 0x86, 0x84, 0x41])),
      E.PROTOCOL_ERROR,
    ],
    ['a PADDED DATA frame with no pad length', frame(T.DATA, PADDED, 1, Buffer.alloc(0)), E.FRAME_SIZE_ERROR],
    [
      'HEADERS with PRIORITY too short for its fields',
      frame(T.HEADERS, PRIORITY | END_HEADERS, 3, Buffer.from([0, 0, 0])),
      E.FRAME_SIZE_ERROR,
    ],
    [
      'a header block over 256 KiB',
      Buffer.concat([
        frame(T.HEADERS, 0, 3, opening),
        ...Array.from({ length: 17 }, () => frame(T.CONTINUATION, 0, 3, Buffer.alloc(MAX_FRAME))),
      ]),
      E.ENHANCE_YOUR_CALM,
    ],
    [
      'a header block of endless empty CONTINUATION frames',
      Buffer.concat([
        frame(T.HEADERS, 0, 3, opening),
        ...Array.from({ length: 100_000 }, () => frame(T.CONTINUATION, 0, 3)),
      ]),
      E.ENHANCE_YOUR_CALM,
    ],
  ];

  it.each(cases)('%s', async (_, bad, code) => {
    // Stream 1 is open (headers and part of its message in), so the last stream id is 1.
    const peer = await RawPeer.open(fx.path);
    peer.headers(1, requestBlock());
    peer.write(frame(T.DATA, 0, 1, grpcMessage(Buffer.from('half')).subarray(0, 6)));
    await peer.sync();
    peer.write(bad);
    expect(await peer.connectionError()).toEqual({ lastStreamId: 1, code });
    expect(peer.frames.filter((f) => f.id === 1)).toEqual([]);
    await expectServes(fx);
  });
});

describe('stream errors: RST_STREAM on that stream only', () => {
  const malformed: [string, Fields][] = [
    ['an upper-case name', requestFields(ECHO, [['X-Upper', 'a']])],
    ['connection', requestFields(ECHO, [['connection', 'keep-alive']])],
    ['keep-alive', requestFields(ECHO, [['keep-alive', 'timeout=5']])],
    ['proxy-connection', requestFields(ECHO, [['proxy-connection', 'close']])],
    ['transfer-encoding', requestFields(ECHO, [['transfer-encoding', 'chunked']])],
    ['upgrade', requestFields(ECHO, [['upgrade', 'h2c']])],
    ['te: gzip', requestFields(ECHO, [['te', 'gzip']])],
    ['a pseudo-header after a regular one', [...requestFields(), [':authority', 'late']]],
    ['a response pseudo-header', requestFields(ECHO, [[':status', '200']])],
    ['an empty name', requestFields(ECHO, [['', 'x']])],
  ];

  it.each(malformed)(
    'a request with %s: PROTOCOL_ERROR; its block still counts for HPACK',
    async (_, fields) => {
      const peer = await RawPeer.open(fx.path);
      // The malformed block adds an entry to the dynamic table; the next request uses it (index 62),
      // which decodes only if the server decoded the refused block too.
      peer.write(
        frame(T.HEADERS, END_HEADERS, 1, Buffer.concat([block(fields), literal('x-request-id', 'r1', 0x40)])),
        frame(T.DATA, END_STREAM, 1, grpcMessage(Buffer.from('refused'))),
      );
      const rst = await peer.find((f) => f.id === 1, 'an answer on stream 1');
      expect(rst).toEqual({ type: T.RST_STREAM, flags: 0, id: 1, payload: u32(E.PROTOCOL_ERROR) });
      peer.write(
        frame(T.HEADERS, END_HEADERS, 3, Buffer.concat([requestBlock(), Buffer.from([0xbe])])),
        frame(T.DATA, END_STREAM, 3, grpcMessage(Buffer.from('served'))),
      );
      expect((await peer.answer(3)).body).toEqual(grpcMessage(Buffer.from('served')));
      expect(peer.frames.filter((f) => f.id === 1)).toEqual([rst]);
      expect(peer.frames.some((f) => f.type === T.GOAWAY)).toBe(false);
    },
  );

  it.each([
    ['WINDOW_UPDATE of 0', windowUpdate(1, 0), E.PROTOCOL_ERROR],
    ['a window past 2^31-1', windowUpdate(1, MAX_WINDOW), E.FLOW_CONTROL_ERROR],
    ['PRIORITY of 4 bytes', frame(T.PRIORITY, 0, 1, Buffer.alloc(4)), E.FRAME_SIZE_ERROR],
    [
      'trailers without END_STREAM',
      frame(T.HEADERS, END_HEADERS, 1, block([['x-t', '1']])),
      E.PROTOCOL_ERROR,
    ],
  ])('%s on an open stream resets it with its code; the connection serves on', async (_, bad, code) => {
    const peer = await RawPeer.open(fx.path);
    peer.headers(1, requestBlock());
    peer.write(bad);
    const rst = await peer.find((f) => f.id === 1, 'RST_STREAM on stream 1');
    expect(rst).toEqual({ type: T.RST_STREAM, flags: 0, id: 1, payload: u32(code) });
    // The rest of stream 1's request is dropped; stream 3 is answered.
    peer.write(frame(T.DATA, END_STREAM, 1, grpcMessage(Buffer.from('late'))));
    peer.request(3, Buffer.from('next'));
    expect((await peer.answer(3)).body).toEqual(grpcMessage(Buffer.from('next')));
    await peer.sync();
    expect(peer.frames.filter((f) => f.id === 1)).toEqual([rst]);
    expect(peer.frames.some((f) => f.type === T.GOAWAY)).toBe(false);
  });

  it('DATA after END_STREAM on a stream still being answered: STREAM_CLOSED', async () => {
    const peer = await RawPeer.open(fx.path, [[S.INITIAL_WINDOW_SIZE, 0]]);
    peer.request(1, Buffer.from('blocked'));
    await peer.find((f) => f.id === 1 && f.type === T.HEADERS, 'the answer headers');
    peer.write(frame(T.DATA, 0, 1, Buffer.from('more')));
    const rst = await peer.find((f) => f.type === T.RST_STREAM, 'RST_STREAM');
    expect(rst).toEqual({ type: T.RST_STREAM, flags: 0, id: 1, payload: u32(E.STREAM_CLOSED) });
    // Once reset, the stream's blocked answer is dropped: opening the window sends nothing for it.
    await peer.sync();
    peer.write(settings([[S.INITIAL_WINDOW_SIZE, 65_535]]));
    expect((await peer.sync()).filter((f) => f.id === 1)).toEqual([]);
  });
});

describe('flow control', () => {
  it('sends the answer to a client with an 8-byte stream window only as it sends WINDOW_UPDATEs', async () => {
    const peer = await RawPeer.open(fx.path, [[S.INITIAL_WINDOW_SIZE, 8]]);
    const message = Buffer.from('twenty bytes of echo');
    peer.request(1, message);
    const received: Frame[] = [];
    for (let round = 0; ; round++) {
      const sent = (await peer.sync()).filter((f) => f.id === 1);
      received.push(...sent);
      const data = sent.filter((f) => f.type === T.DATA);
      // Each window of 8 bytes releases 8 bytes of DATA, and nothing more until the next.
      expect(data.map((f) => f.payload.length)).toEqual(round < 3 ? [8] : [1]);
      if (round === 3) {
        expect(sent.at(-1)).toMatchObject({ type: T.HEADERS, flags: END_HEADERS | END_STREAM });
        break;
      }
      expect(sent.some((f) => (f.flags & END_STREAM) !== 0)).toBe(false);
      peer.write(windowUpdate(1, 8));
    }
    const a = await peer.answer(1);
    expect(a.body).toEqual(grpcMessage(message));
    expect(grpcStatus(a)).toEqual({ code: 0, message: 'OK' });
    expect(received.at(0)).toMatchObject({ type: T.HEADERS, flags: END_HEADERS });
  });

  it('sends a blocked answer when a new SETTINGS_INITIAL_WINDOW_SIZE opens the window', async () => {
    const peer = await RawPeer.open(fx.path, [[S.INITIAL_WINDOW_SIZE, 0]]);
    peer.request(1, Buffer.from('waiting for a window'));
    expect((await peer.sync()).filter((f) => f.id === 1).map((f) => f.type)).toEqual([T.HEADERS]);
    peer.write(settings([[S.INITIAL_WINDOW_SIZE, 1000]]));
    const a = await peer.answer(1);
    expect(a.body).toEqual(grpcMessage(Buffer.from('waiting for a window')));
  });

  it('holds DATA while the connection window is 0, until a connection WINDOW_UPDATE', async () => {
    const peer = await RawPeer.open(fx.path, [[S.INITIAL_WINDOW_SIZE, MiB]]);
    // An answer of exactly 65,535 bytes of DATA spends the whole default connection window.
    const big = Buffer.alloc(65_535 - 5, 'b');
    peer.headers(1, requestBlock());
    await peer.sendData(1, grpcMessage(big), true);
    const first = await peer.answer(1);
    expect(first.body).toEqual(grpcMessage(big));
    peer.request(3, Buffer.from('ten bytes!'));
    expect((await peer.sync()).filter((f) => f.id === 3).map((f) => f.type)).toEqual([T.HEADERS]);
    peer.write(windowUpdate(0, 14));
    const partial = (await peer.sync()).filter((f) => f.id === 3);
    expect(partial.map((f) => [f.type, f.payload.length])).toEqual([[T.DATA, 14]]);
    peer.write(windowUpdate(0, 1));
    const a = await peer.answer(3);
    expect(a.body).toEqual(grpcMessage(Buffer.from('ten bytes!')));
    expect(grpcStatus(a).code).toBe(0);
  });

  it('takes request messages larger than its 1 MiB stream window, opening windows as they come', async () => {
    const peer = await RawPeer.open(fx.path, [[S.INITIAL_WINDOW_SIZE, MAX_WINDOW]]);
    peer.write(windowUpdate(0, MAX_WINDOW - 65_535));
    const messages = [1, 3, 5].map((id) => Buffer.alloc(3 * MiB, id));
    for (const [i, message] of messages.entries()) {
      const id = 2 * i + 1;
      peer.headers(id, requestBlock());
      await peer.sendData(id, grpcMessage(message), true);
    }
    for (const [i, message] of messages.entries()) {
      const a = await peer.answer(2 * i + 1);
      expect(a.body.equals(grpcMessage(message)), `stream ${2 * i + 1}'s echo`).toBe(true);
      expect(grpcStatus(a).code).toBe(0);
    }
    const granted = (id: number) =>
      peer.frames
        .filter((f) => f.type === T.WINDOW_UPDATE && f.id === id)
        .reduce((sum, f) => sum + f.payload.readUInt32BE(0), 0);
    // Each stream sent 3 MiB + 5 into a 1 MiB window: the rest was granted as it came.
    for (const id of [1, 3, 5]) expect(granted(id)).toBeGreaterThanOrEqual(2 * MiB + 5);
    // 9 MiB spends more than half the 16 MiB connection window: it was opened again too.
    expect(granted(0)).toBeGreaterThan(16 * MiB - 65_535);
    expect(peer.frames.some((f) => f.type === T.RST_STREAM || f.type === T.GOAWAY)).toBe(false);
  });
});

describe('streams ending early', () => {
  it('sends nothing for a stream the client reset mid-request, and serves on', async () => {
    const peer = await RawPeer.open(fx.path);
    peer.headers(1, requestBlock());
    const message = grpcMessage(Buffer.from('cancelled'));
    peer.write(frame(T.DATA, 0, 1, message.subarray(0, 7)), rstStream(1, E.CANCEL));
    // What the client had in flight for the stream is dropped.
    peer.write(frame(T.DATA, END_STREAM, 1, message.subarray(7)));
    peer.request(3, Buffer.from('after the reset'));
    expect((await peer.answer(3)).body).toEqual(grpcMessage(Buffer.from('after the reset')));
    await peer.sync();
    expect(peer.frames.filter((f) => f.id === 1)).toEqual([]);
  });

  it('follows an answer sent before the request ended with RST_STREAM NO_ERROR', async () => {
    const peer = await RawPeer.open(fx.path);
    peer.headers(1, requestBlock('/test.Echo/Missing'));
    const rst = await peer.find((f) => f.type === T.RST_STREAM, 'RST_STREAM');
    const mine = peer.frames.filter((f) => f.id === 1);
    expect(mine.map((f) => [f.type, f.flags])).toEqual([
      [T.HEADERS, END_HEADERS | END_STREAM],
      [T.RST_STREAM, 0],
    ]);
    expect(rst.payload).toEqual(u32(E.NO_ERROR));
    expect(grpcStatus(await peer.answer(1))).toEqual({
      code: 12,
      message: 'The server does not implement the method /test.Echo/Missing',
    });
    // The rest of the request is dropped without complaint.
    peer.write(frame(T.DATA, END_STREAM, 1, grpcMessage(Buffer.from('late'))));
    peer.request(3, Buffer.from('next'));
    expect((await peer.answer(3)).body).toEqual(grpcMessage(Buffer.from('next')));
    expect(peer.frames.filter((f) => f.id === 1)).toHaveLength(2);
  });
});

describe('stop()', () => {
  it('sends GOAWAY NO_ERROR with the last stream begun, answers it, refuses new streams, then closes', async () => {
    const own = await startServer();
    try {
      const busy = await RawPeer.open(own.path);
      busy.headers(1, requestBlock());
      await busy.sync(); // stream 1 has begun
      const idle = await RawPeer.open(own.path);
      const stopped = own.grpc.stop(WAIT_MS);

      const goAway = await busy.find((f) => f.type === T.GOAWAY, 'GOAWAY');
      expect(goAwayOf(goAway)).toEqual({ lastStreamId: 1, code: E.NO_ERROR });
      expect(await idle.connectionError()).toEqual({ lastStreamId: 0, code: E.NO_ERROR });

      busy.request(3, Buffer.from('too late'));
      const refused = await busy.find((f) => f.id === 3, 'an answer on stream 3');
      expect(refused).toEqual({ type: T.RST_STREAM, flags: 0, id: 3, payload: u32(E.REFUSED_STREAM) });
      expect(busy.isClosed).toBe(false);

      await busy.sendData(1, grpcMessage(Buffer.from('begun before stop')), true);
      const a = await busy.answer(1);
      expect(a.body).toEqual(grpcMessage(Buffer.from('begun before stop')));
      expect(grpcStatus(a).code).toBe(0);
      await within(busy.closed, 'the server to close the connection once its streams are answered');
      await within(stopped, 'stop() to resolve');

      // A connection accepted while stopping is sent GOAWAY at once and closed.
      const late = await RawPeer.connect(own.path);
      late.write(PREFACE, settings());
      expect(await late.connectionError()).toEqual({ lastStreamId: 0, code: E.NO_ERROR });
      expect(own.internalErrors).toEqual([]);
    } finally {
      await own.close();
    }
  });
});

describe('real clients', () => {
  it('node:http2 gets concurrent echoes of up to 3 MiB and an error status on one session', async () => {
    const session = h2Connect('http://localhost', { createConnection: () => netConnect(fx.path) });
    try {
      const call = (path: string, body: Buffer) =>
        new Promise<{ body: Buffer; headers: IncomingHttpHeaders; trailers: IncomingHttpHeaders }>(
          (resolve, reject) => {
            const stream = session.request({
              ':method': 'POST',
              ':path': path,
              'content-type': 'application/grpc',
              te: 'trailers',
            });
            let headers: IncomingHttpHeaders = {};
            let trailers: IncomingHttpHeaders = {};
            const chunks: Buffer[] = [];
            stream.on('response', (h) => (headers = h));
            stream.on('trailers', (t) => (trailers = t));
            stream.on('data', (c: Buffer) => chunks.push(c));
            stream.on('end', () => resolve({ body: Buffer.concat(chunks), headers, trailers }));
            stream.on('error', reject);
            stream.end(body);
          },
        );
      const sizes = [0, 1, 100, 16_379, 16_380, 70_000, 3 * MiB];
      const answers = await Promise.all([
        ...sizes.map((n) => call(ECHO, grpcMessage(Buffer.alloc(n, n % 251)))),
        call(THROW, grpcMessage(Buffer.from('x'))),
      ]);
      sizes.forEach((n, i) => {
        expect(answers[i]!.body.equals(grpcMessage(Buffer.alloc(n, n % 251))), `echo of ${n}`).toBe(true);
        expect(answers[i]!.trailers['grpc-status']).toBe('0');
      });
      expect(answers.at(-1)!.headers['grpc-status']).toBe('13');
    } finally {
      session.destroy();
    }
  });

  it('grpc-js gets a 3 MiB echo and a thrown method as INTERNAL', async () => {
    const client = new grpc.Client(`unix:${fx.path}`, grpc.credentials.createInsecure());
    const call = (path: string, request: Buffer) =>
      new Promise<Buffer>((resolve, reject) =>
        client.makeUnaryRequest(
          path,
          (b: Buffer) => b,
          (b: Buffer) => b,
          request,
          (err, value) => (err ? reject(err) : resolve(value!)),
        ),
      );
    try {
      const big = Buffer.alloc(3 * MiB, 7);
      expect((await call(ECHO, big)).equals(big)).toBe(true);
      await expect(call(THROW, Buffer.from('x'))).rejects.toMatchObject({
        code: grpc.status.INTERNAL,
        details: 'Error deserializing request',
      });
    } finally {
      client.close();
    }
  });
});

describe('seeded fuzz', () => {
  /** A valid request's frames: headers (maybe split, padded, with priority), message, end. */
  function randomRequest(rng: SeededRandom, id: number): Buffer[] {
    const path = rng.pick([ECHO, ECHO, THROW, '/test.Echo/Missing', '']);
    const extra: [string, string][] = [];
    if (rng.int(4) === 0) extra.push(['grpc-timeout', rng.pick(['1n', '5m', 'soon', '99999999H'])]);
    const compressed = rng.int(5) === 0;
    if (compressed) extra.push(['grpc-encoding', rng.pick(['gzip', 'deflate', 'snappy'])]);
    let headerBlock = requestBlock(path, extra);
    if (rng.int(3) === 0) {
      // A field indexed into the dynamic table, then referenced.
      headerBlock = Buffer.concat([headerBlock, literal('x-seq', String(id), 0x40), Buffer.from([0xbe])]);
    }
    if (rng.int(4) === 0) {
      // A Huffman-coded value of random bytes: often invalid.
      const junk = Buffer.from(Array.from({ length: 1 + rng.int(6) }, () => rng.int(256)));
      headerBlock = Buffer.concat([headerBlock, Buffer.from([0x00, 0x01, 0x78, 0x80 | junk.length]), junk]);
    }
    const body = Buffer.from(Array.from({ length: rng.int(40) }, () => rng.int(256)));
    const message = compressed ? grpcMessage(rng.int(2) === 0 ? gzipSync(body) : body, 1) : grpcMessage(body);
    const out: Buffer[] = [];
    const split = rng.int(3) === 0 ? 1 + rng.int(headerBlock.length - 1) : headerBlock.length;
    const flagsOf = (end: boolean) => (end ? END_HEADERS : 0) | (rng.int(2) === 0 ? PRIORITY : 0);
    const headersFlags = flagsOf(split === headerBlock.length);
    const pad = rng.int(3) === 0 ? rng.int(10) : -1;
    out.push(
      frame(
        T.HEADERS,
        headersFlags | (pad >= 0 ? PADDED : 0),
        id,
        Buffer.concat([
          pad >= 0 ? Buffer.from([pad]) : Buffer.alloc(0),
          (headersFlags & PRIORITY) !== 0 ? Buffer.from([0, 0, 0, 0, rng.int(256)]) : Buffer.alloc(0),
          headerBlock.subarray(0, split),
          Buffer.alloc(Math.max(pad, 0)),
        ]),
      ),
    );
    if (split < headerBlock.length)
      out.push(frame(T.CONTINUATION, END_HEADERS, id, headerBlock.subarray(split)));
    const cut = rng.int(message.length + 1);
    const trailers = rng.int(4) === 0;
    out.push(frame(T.DATA, 0, id, message.subarray(0, cut)));
    out.push(frame(T.DATA, trailers ? 0 : END_STREAM, id, message.subarray(cut)));
    if (trailers) out.push(frame(T.HEADERS, END_HEADERS | END_STREAM, id, block([['x-done', '1']])));
    return out;
  }

  function randomFrames(rng: SeededRandom): Buffer[] {
    const pairs: [number, number][] = [];
    for (let i = rng.int(3); i > 0; i--) {
      pairs.push(
        rng.pick([
          [S.INITIAL_WINDOW_SIZE, rng.pick([0, 8, 100, 65_535, MAX_WINDOW])],
          [S.MAX_FRAME_SIZE, rng.pick([16_384, 65_536])],
          [S.ENABLE_PUSH, 0],
          [0x99, rng.int(1000)],
        ] as [number, number][]),
      );
    }
    const frames: Buffer[] = [settings(pairs)];
    let next = 1;
    for (let i = 1 + rng.int(12); i > 0; i--) {
      const open = Math.max(1, next - 2);
      switch (rng.int(10)) {
        case 0:
        case 1:
        case 2:
        case 3:
          frames.push(...randomRequest(rng, next));
          next += 2;
          break;
        case 4:
          frames.push(frame(T.PING, rng.int(2), 0, Buffer.alloc(8, rng.int(256))));
          break;
        case 5:
          frames.push(windowUpdate(rng.pick([0, open]), rng.pick([1, 8, 1000, 65_535, 0])));
          break;
        case 6:
          frames.push(rstStream(open, rng.pick([E.NO_ERROR, E.CANCEL, 0xff])));
          break;
        case 7:
          frames.push(settings([[S.INITIAL_WINDOW_SIZE, rng.pick([0, 8, 65_535])]]));
          break;
        case 8:
          frames.push(frame(T.PRIORITY, 0, rng.pick([open, next + 10]), Buffer.from([0, 0, 0, 1, 16])));
          break;
        default: {
          const payload = Buffer.from(Array.from({ length: rng.int(40) }, () => rng.int(256)));
          frames.push(frame(rng.int(12), rng.int(256), rng.int(10), payload));
        }
      }
    }
    for (let m = rng.int(4); m > 0; m--) {
      const k = rng.int(frames.length);
      const f = Buffer.from(frames[k]!);
      switch (rng.int(8)) {
        case 0: // a flipped byte anywhere, length field included
          {
            const at = rng.int(f.length);
            f[at] = f[at]! ^ (1 << rng.int(8));
          }
          frames[k] = f;
          break;
        case 1: // a shorter payload, its length field to match
          frames[k] = frame(f[3]!, f[4]!, f.readUInt32BE(5), f.subarray(9, 9 + rng.int(f.length - 8)));
          break;
        case 2:
          f[4] = rng.int(256);
          frames[k] = f;
          break;
        case 3:
          f[3] = rng.int(10);
          frames[k] = f;
          break;
        case 4:
          f.writeUInt32BE((rng.int(12) | (rng.int(2) << 31)) >>> 0, 5);
          frames[k] = f;
          break;
        case 5: // random payload bytes (a header block of noise, say)
          for (let i = 9; i < f.length; i++) if (rng.int(3) === 0) f[i] = rng.int(256);
          frames[k] = f;
          break;
        case 6:
          frames.splice(k, 0, f);
          break;
        default:
          frames.splice(k, 1);
      }
    }
    return frames;
  }

  it('survives 300 connections of random and mutated frames, then serves a normal call', async () => {
    const CONNECTIONS = 300;
    const PARALLEL = 10;
    for (let start = 0; start < CONNECTIONS; start += PARALLEL) {
      await Promise.all(
        Array.from({ length: PARALLEL }, async (_, j) => {
          const seed = 0x48320000 + start + j;
          const rng = seededRandom(seed);
          const peer = await RawPeer.connect(fx.path);
          peer.write(PREFACE, ...randomFrames(rng));
          // Half-closing makes the server close too, once it has read everything.
          peer.socket.end();
          await within(peer.closed, `connection of seed ${seed} to close`);
          const error = peer.frames.findIndex(
            (f) => f.type === T.GOAWAY && f.payload.length >= 8 && f.payload.readUInt32BE(4) !== E.NO_ERROR,
          );
          if (error >= 0) expect(error, `seed ${seed}: nothing after a GOAWAY`).toBe(peer.frames.length - 1);
          for (const f of peer.frames) {
            expect(f.payload.length, `seed ${seed}`).toBeLessThanOrEqual(MAX_FRAME);
            // Answers go only to streams a client may open (RST_STREAM may name any it sent on).
            if (f.type === T.HEADERS || f.type === T.DATA)
              expect(f.id % 2, `seed ${seed}: ${describeFrames(peer.frames)}`).toBe(1);
          }
        }),
      );
    }
    expect(fx.internalErrors).toEqual([]);
    await expectServes(fx);
  });
});
