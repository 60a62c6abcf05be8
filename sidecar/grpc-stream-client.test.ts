// The PolicySync client's gRPC layer against a real node:http2 server on a real Unix socket: the
// server writes frames cut and joined however a test says, and ends the call every way a server
// or a connection can.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  constants,
  createServer,
  type Http2Server,
  type IncomingHttpHeaders,
  type ServerHttp2Stream,
} from 'node:http2';
import type { Socket } from 'node:net';
import { MessageReader, PREFIX_BYTES } from './grpc-frames.js';
import { startServerStreamingCall, type CallStatus } from './grpc-stream-client.js';

const PATH = '/felix.PolicySync/Sync';

function frame(message: Buffer, flag = 0): Buffer {
  const out = Buffer.alloc(PREFIX_BYTES + message.length);
  out[0] = flag;
  out.writeUInt32BE(message.length, 1);
  message.copy(out, PREFIX_BYTES);
  return out;
}

const messages = [Buffer.from('first'), Buffer.alloc(0), Buffer.alloc(40_000, 7), Buffer.from('last')];

type Handler = (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, request: Buffer) => Promise<void>;

let dir: string;
let socketPath: string;
let server: Http2Server;
let handler: Handler = async () => {};
/** The server's accepted sockets, to cut connections. */
const sockets = new Set<Socket>();

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'grpc-stream-client-'));
  socketPath = join(dir, 'sync.sock');
  server = createServer();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('stream', (stream, headers) => {
    stream.on('error', () => {});
    const body: Buffer[] = [];
    stream.on('data', (c: Buffer) => body.push(c));
    stream.on('end', () => void handler(stream, headers, Buffer.concat(body)));
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  rmSync(dir, { recursive: true, force: true });
});

interface Outcome {
  readonly received: Buffer[];
  readonly status: CallStatus;
}

function call(opts: { maxReceiveBytes?: number; socket?: string } = {}): Promise<Outcome> {
  return new Promise((resolve) => {
    const received: Buffer[] = [];
    startServerStreamingCall({
      socketPath: opts.socket ?? socketPath,
      path: PATH,
      request: Buffer.from([0x0a, 0x00]),
      maxReceiveBytes: opts.maxReceiveBytes ?? 4 * 1024 * 1024,
      decode: (m) => Buffer.from(m), // a copy: what a decoder keeps must outlive the chunk
      onMessage: (m) => received.push(m),
      onStatus: (status) => resolve({ received, status }),
    });
  });
}

const tick = () => new Promise<void>((resolve) => setTimeout(resolve, 5));

function respond(stream: ServerHttp2Stream): void {
  stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
}

function endOk(stream: ServerHttp2Stream): void {
  stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0', 'grpc-message': 'OK' }));
  stream.end();
}

describe('MessageReader', () => {
  class Collect extends MessageReader {
    readonly got: [string, number][] = [];
    protected onMessage(message: Buffer, flag: number): void {
      this.got.push([message.toString('hex'), flag]);
    }
  }

  it('gives the same messages for every way of cutting the same bytes in two or three', () => {
    const all = Buffer.concat([
      frame(Buffer.from('ab')),
      frame(Buffer.alloc(0), 1),
      frame(Buffer.from('cdefgh')),
    ]);
    const expected = [
      ['6162', 0],
      ['', 1],
      ['636465666768', 0],
    ];
    for (let i = 0; i <= all.length; i++)
      for (let j = i; j <= all.length; j++) {
        const r = new Collect(100);
        r.push(all.subarray(0, i));
        r.push(all.subarray(i, j));
        r.push(all.subarray(j));
        expect(r.got, `cut at ${i}, ${j}`).toEqual(expected);
        expect(r.inMessage).toBe(false);
      }
  });

  it('refuses a prefix over the limit before the message arrives', () => {
    const r = new Collect(3);
    expect(() => r.push(frame(Buffer.from('abcd')).subarray(0, 5))).toThrow(
      'Received message larger than max (4 vs 3)',
    );
  });
});

describe('a server-streaming call on node:http2', () => {
  it('sends the request as grpc-js does and reads messages cut across DATA frames', async () => {
    let seen: IncomingHttpHeaders = {};
    let request: Buffer = Buffer.alloc(0);
    handler = async (stream, headers, body) => {
      seen = headers;
      request = body;
      respond(stream);
      const bytes = Buffer.concat(messages.map((m) => frame(m)));
      // Cuts inside a prefix, inside a message, and at a boundary, each its own DATA frame.
      for (const [from, to] of [
        [0, 2],
        [2, 7],
        [7, 11],
        [11, 20_000],
        [20_000, bytes.length],
      ] as const) {
        stream.write(bytes.subarray(from, to));
        await tick();
      }
      endOk(stream);
    };
    const { received, status } = await call();
    expect(seen[':method']).toBe('POST');
    expect(seen[':path']).toBe(PATH);
    expect(seen['content-type']).toBe('application/grpc');
    expect(seen.te).toBe('trailers');
    expect(request).toEqual(frame(Buffer.from([0x0a, 0x00])));
    expect(received).toEqual(messages);
    expect(status).toEqual({ code: 0, details: 'OK' });
  });

  it('reads several messages sharing one DATA frame', async () => {
    handler = async (stream) => {
      respond(stream);
      stream.write(
        Buffer.concat([frame(Buffer.from('a')), frame(Buffer.from('b')), frame(Buffer.from('c'))]),
      );
      endOk(stream);
    };
    const { received, status } = await call();
    expect(received.map(String)).toEqual(['a', 'b', 'c']);
    expect(status.code).toBe(0);
  });

  it('ends with the grpc-status and decoded grpc-message of the trailers', async () => {
    handler = async (stream) => {
      respond(stream);
      stream.write(frame(Buffer.from('one')));
      stream.on('wantTrailers', () =>
        stream.sendTrailers({ 'grpc-status': '14', 'grpc-message': encodeURI('Felix is restarting: ü') }),
      );
      stream.end();
    };
    const { received, status } = await call();
    expect(received.map(String)).toEqual(['one']);
    expect(status).toEqual({ code: 14, details: 'Felix is restarting: ü' });
  });

  it('ends with a trailers-only error', async () => {
    handler = async (stream) => {
      stream.respond(
        { ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '12', 'grpc-message': 'nope' },
        { endStream: true },
      );
    };
    expect((await call()).status).toEqual({ code: 12, details: 'nope' });
  });

  it('maps an HTTP status other than 200 as grpc-js does', async () => {
    handler = async (stream) => {
      stream.respond({ ':status': 503 }, { endStream: true });
    };
    expect((await call()).status).toEqual({ code: 14, details: 'Received HTTP status code 503' });
  });

  it('keeps the messages before a reset mid-message, then ends with the reset', async () => {
    handler = async (stream) => {
      respond(stream);
      stream.write(
        Buffer.concat([frame(Buffer.from('whole')), frame(Buffer.from('cut off')).subarray(0, 8)]),
      );
      await tick();
      stream.close(constants.NGHTTP2_INTERNAL_ERROR);
    };
    const { received, status } = await call();
    expect(received.map(String)).toEqual(['whole']);
    expect(status).toEqual({ code: 13, details: 'Received RST_STREAM with code 2 (Internal server error)' });
  });

  it('reports a dropped connection as UNAVAILABLE', async () => {
    handler = async (stream) => {
      respond(stream);
      stream.write(frame(Buffer.from('x')));
      await tick();
      for (const socket of sockets) socket.destroy();
    };
    const { received, status } = await call();
    expect(received.map(String)).toEqual(['x']);
    expect(status).toEqual({ code: 14, details: 'Connection dropped' });
  });

  it('reports a socket nobody listens on as UNAVAILABLE', async () => {
    const { status } = await call({ socket: join(dir, 'missing.sock') });
    expect(status.code).toBe(14);
    expect(status.details).toMatch(/^No connection established\. Last error: .*ENOENT/);
  });

  it('refuses a compressed message when no encoding was negotiated, and reads nothing after it', async () => {
    handler = async (stream) => {
      respond(stream);
      stream.write(
        Buffer.concat([
          frame(Buffer.from('plain')),
          frame(Buffer.from('zz'), 1),
          frame(Buffer.from('after')),
        ]),
      );
      endOk(stream);
    };
    const { received, status } = await call();
    expect(received.map(String)).toEqual(['plain']);
    expect(status).toEqual({
      code: 13,
      details: 'Received compressed message but "grpc-encoding" header was identity',
    });
  });

  it('refuses a message over the limit with RESOURCE_EXHAUSTED', async () => {
    handler = async (stream) => {
      respond(stream);
      stream.write(frame(Buffer.alloc(100)));
      endOk(stream);
    };
    expect((await call({ maxReceiveBytes: 99 })).status).toEqual({
      code: 8,
      details: 'Received message larger than max (100 vs 99)',
    });
  });

  it('does not take OK for an answer when the body ends inside a message', async () => {
    handler = async (stream) => {
      respond(stream);
      stream.write(frame(Buffer.from('truncated')).subarray(0, 6));
      endOk(stream);
    };
    expect((await call()).status).toEqual({ code: 13, details: 'Stream ended inside a message' });
  });

  it('ends with INTERNAL when a message cannot be decoded', async () => {
    handler = async (stream) => {
      respond(stream);
      stream.write(frame(Buffer.from('bad')));
      endOk(stream);
    };
    const status = await new Promise<CallStatus>((resolve) => {
      startServerStreamingCall({
        socketPath,
        path: PATH,
        request: Buffer.alloc(0),
        maxReceiveBytes: 100,
        decode: () => {
          throw new Error('index out of range');
        },
        onMessage: () => {},
        onStatus: resolve,
      });
    });
    expect(status).toEqual({ code: 13, details: 'Response message parsing error: index out of range' });
  });
});
