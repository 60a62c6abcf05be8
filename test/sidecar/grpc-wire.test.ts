// The sidecar's gRPC layer on Node's HTTP/2 answers every wire edge as grpc-js's server did:
// raw HTTP/2 requests on the real `dikastes server` socket, checked header by header.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type ClientHttp2Session, type IncomingHttpHeaders } from 'node:http2';
import { connect as netConnect } from 'node:net';
import { gzipSync, deflateSync } from 'node:zlib';
import * as grpc from '@grpc/grpc-js';
import { loadExtAuthz } from '../../proto/load.js';
import { httpCheckRequest } from '../harness/ext-authz-client.js';
import { denyAdminSnapshot } from '../harness/felix-messages.js';
import { startSidecarFixture, type SidecarFixture } from '../harness/sidecar-fixture.js';

const CHECK = '/envoy.service.auth.v3.Authorization/Check';
const check = () => loadExtAuthz().envoy.service.auth.v3.Authorization.service.Check;

interface Answer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly trailers: IncomingHttpHeaders;
  readonly body: Buffer;
}

/** grpc-status and grpc-message, wherever they came (trailers, or a trailers-only answer). */
function grpcStatus(a: Answer): { code: number; message: string } {
  const h = a.trailers['grpc-status'] !== undefined ? a.trailers : a.headers;
  return { code: Number(h['grpc-status']), message: decodeURI(String(h['grpc-message'] ?? '')) };
}

function frame(message: Buffer, compressed = false): Buffer {
  const out = Buffer.alloc(5 + message.length);
  out[0] = compressed ? 1 : 0;
  out.writeUInt32BE(message.length, 1);
  message.copy(out, 5);
  return out;
}

let fixture: SidecarFixture;
let session: ClientHttp2Session;

function send(
  body: Buffer | null,
  headers: Record<string, string> = {},
  opts: { endStream?: boolean } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const stream = session.request({
      ':method': 'POST',
      ':path': CHECK,
      'content-type': 'application/grpc',
      te: 'trailers',
      ...headers,
    });
    let status = 0;
    let responseHeaders: IncomingHttpHeaders = {};
    let trailers: IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    stream.on('response', (h) => {
      status = Number(h[':status']);
      responseHeaders = h;
    });
    stream.on('trailers', (t) => (trailers = t));
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () =>
      resolve({ status, headers: responseHeaders, trailers, body: Buffer.concat(chunks) }),
    );
    stream.on('error', reject);
    if (body !== null) stream.write(body);
    if (opts.endStream !== false) stream.end();
  });
}

beforeAll(async () => {
  fixture = await startSidecarFixture({ snapshot: denyAdminSnapshot() });
  await fixture.waitForInSyncCount(1);
  session = connect('http://localhost', { createConnection: () => netConnect(fixture.listen) });
});

afterAll(async () => {
  session?.close();
  await fixture?.close();
});

describe('the sidecar on the wire (node:http2 with grpc-js answers)', () => {
  it('answers a Check with 200, grpc+proto headers, one framed CheckResponse and OK trailers', async () => {
    const a = await send(frame(check().requestSerialize(httpCheckRequest({ path: '/admin' }))));
    expect(a.status).toBe(200);
    expect(a.headers['content-type']).toBe('application/grpc+proto');
    expect(a.headers['grpc-encoding']).toBe('identity');
    expect(grpcStatus(a)).toEqual({ code: 0, message: 'OK' });
    expect(a.body.readUInt32BE(1)).toBe(a.body.length - 5);
    expect(check().responseDeserialize(a.body.subarray(5)).status?.code).toBe(7);
  });

  it('refuses a content type that is not application/grpc* with HTTP 415', async () => {
    const a = await send(frame(Buffer.alloc(0)), { 'content-type': 'application/json' });
    expect(a.status).toBe(415);
  });

  it('answers an unknown method UNIMPLEMENTED, trailers-only', async () => {
    const a = await send(frame(Buffer.alloc(0)), { ':path': '/envoy.service.auth.v2.Authorization/Check' });
    expect(a.status).toBe(200);
    expect(grpcStatus(a)).toEqual({
      code: 12,
      message: 'The server does not implement the method /envoy.service.auth.v2.Authorization/Check',
    });
  });

  it('answers a malformed grpc-timeout INTERNAL, and a request that outlives its deadline DEADLINE_EXCEEDED', async () => {
    const bad = await send(frame(Buffer.alloc(0)), { 'grpc-timeout': 'soon' });
    expect(grpcStatus(bad)).toEqual({ code: 13, message: 'Invalid grpc-timeout value "soon"' });
    // Headers and a partial message, then nothing: the deadline answers.
    const late = await send(
      Buffer.from([0, 0, 0, 0, 9, 1]),
      { 'grpc-timeout': '200m' },
      { endStream: false },
    );
    expect(grpcStatus(late)).toEqual({ code: 4, message: 'Deadline exceeded' });
    // Longer than Node's timers can wait (~24.8 days): no deadline, not one that fires at once.
    const body = frame(check().requestSerialize(httpCheckRequest({ path: '/public' })));
    const stream = session.request({
      ':method': 'POST',
      ':path': CHECK,
      'content-type': 'application/grpc',
      'grpc-timeout': '3000H',
    });
    // grpc-status from the trailers, or from the headers of a trailers-only answer.
    let status: unknown;
    stream.on('response', (h) => (status ??= h['grpc-status']));
    stream.on('trailers', (t) => (status = t['grpc-status']));
    const ended = new Promise((resolve) => stream.on('close', resolve));
    stream.on('data', () => {});
    stream.write(body.subarray(0, 3));
    await new Promise((resolve) => setTimeout(resolve, 50));
    stream.end(body.subarray(3));
    await ended;
    expect(status).toBe('0');
  });

  it('answers a message over 4 MiB RESOURCE_EXHAUSTED from its length prefix', async () => {
    const header = Buffer.from([0, 0, 0x40, 0, 1]); // 4 MiB + 1
    const a = await send(header, {}, { endStream: false });
    expect(grpcStatus(a)).toEqual({
      code: 8,
      message: 'Received message larger than max (4194305 vs 4194304)',
    });
  });

  it('inflates gzip and deflate messages, and answers another encoding UNIMPLEMENTED', async () => {
    const plain = check().requestSerialize(httpCheckRequest({ path: '/admin' }));
    for (const [encoding, packed] of [
      ['gzip', gzipSync(plain)],
      ['deflate', deflateSync(plain)],
    ] as const) {
      const a = await send(frame(packed, true), { 'grpc-encoding': encoding });
      expect(grpcStatus(a).code, encoding).toBe(0);
      expect(check().responseDeserialize(a.body.subarray(5)).status?.code, encoding).toBe(7);
    }
    const snappy = await send(frame(plain, true), { 'grpc-encoding': 'snappy' });
    expect(grpcStatus(snappy)).toEqual({
      code: 12,
      message: 'Received message compressed with unsupported encoding "snappy"',
    });
    const broken = await send(frame(Buffer.from('not gzip'), true), { 'grpc-encoding': 'gzip' });
    expect(grpcStatus(broken)).toEqual({ code: 13, message: 'Failed to decompress message' });
  });

  it('answers no message, or two, UNIMPLEMENTED, and undecodable bytes INTERNAL', async () => {
    const none = await send(null);
    expect(grpcStatus(none).code).toBe(12);
    expect(grpcStatus(none).message).toMatch(/^Received no request message/);
    const one = frame(check().requestSerialize(httpCheckRequest({})));
    const two = await send(Buffer.concat([one, one]));
    expect(grpcStatus(two).code).toBe(12);
    expect(grpcStatus(two).message).toMatch(/^Received a second request message/);
    const garbage = await send(frame(Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x0f])));
    expect(grpcStatus(garbage)).toEqual({ code: 13, message: 'Error deserializing request' });
  });

  it('keeps serving on the same connection after each of those', async () => {
    const a = await send(frame(check().requestSerialize(httpCheckRequest({ path: '/public' }))));
    expect(check().responseDeserialize(a.body.subarray(5)).status?.code).toBe(0);
  });

  it('gives a grpc-js client DEADLINE_EXCEEDED for a deadline already past, and answers one with time left', async () => {
    const { Authorization } = loadExtAuthz().envoy.service.auth.v3;
    const client = new Authorization(`unix:${fixture.listen}`, grpc.credentials.createInsecure());
    try {
      const call = (deadlineMs: number) =>
        new Promise<number>((resolve) =>
          client.Check(httpCheckRequest({}), { deadline: new Date(Date.now() + deadlineMs) }, (err, res) =>
            resolve(err !== null ? (err.code ?? -1) : (res?.status?.code ?? -2)),
          ),
        );
      expect(await call(-1)).toBe(grpc.status.DEADLINE_EXCEEDED);
      expect(await call(10_000)).toBe(0);
    } finally {
      client.close();
    }
  });
});
