import { afterEach, describe, expect, it } from 'vitest';
import { connect, type ClientHttp2Session } from 'node:http2';
import { createServer, type Server } from 'node:net';
import { seededRandom } from '../../testing/seeded-random.js';
import { encodeHeaderBlock, HpackDecoder, HpackError } from './hpack.js';

/** Pairs from the decoder's flat name, value, name, value… list. */
function pairs(flat: readonly string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i < flat.length; i += 2) out.push([flat[i]!, flat[i + 1]!]);
  return out;
}

function decode(decoder: HpackDecoder, block: Buffer | number[]): [string, string][] {
  const out: string[] = [];
  decoder.decode(Buffer.from(block), out);
  return pairs(out);
}

/** A literal with incremental indexing and a new name, plain strings. */
function indexedLiteral(name: string, value: string): number[] {
  return [0x40, name.length, ...Buffer.from(name), value.length, ...Buffer.from(value)];
}

let server: Server | null = null;
let client: ClientHttp2Session | null = null;
afterEach(() => {
  client?.destroy();
  server?.close();
  client = null;
  server = null;
});

/**
 * The header blocks node:http2's client (nghttp2's HPACK encoder: dynamic table, Huffman where
 * shorter) sends for `requests`, on one connection, captured from the raw bytes.
 */
async function nghttp2HeaderBlocks(requests: readonly Record<string, string>[]): Promise<Buffer[]> {
  const received: Buffer[] = [];
  let done!: () => void;
  const all = new Promise<void>((resolve) => (done = resolve));
  server = createServer((socket) => {
    socket.write(Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0])); // our (empty) SETTINGS
    socket.on('data', (chunk: Buffer) => {
      received.push(chunk);
      if (headerBlocks(Buffer.concat(received)).length === requests.length) done();
    });
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  client = connect(`http://127.0.0.1:${port}`);
  client.on('error', () => {});
  for (const headers of requests) client.request({ ':method': 'POST', ...headers }).on('error', () => {});
  await all;
  return headerBlocks(Buffer.concat(received));
}

/** HEADERS payloads (no padding or priority from nghttp2) after the 24-byte preface. */
function headerBlocks(bytes: Buffer): Buffer[] {
  const blocks: Buffer[] = [];
  for (let pos = 24; pos + 9 <= bytes.length;) {
    const length = bytes.readUIntBE(pos, 3);
    if (pos + 9 + length > bytes.length) break;
    if (bytes[pos + 3] === 1) blocks.push(bytes.subarray(pos + 9, pos + 9 + length));
    pos += 9 + length;
  }
  return blocks;
}

describe('HPACK decoder', () => {
  it('decodes what nghttp2 encodes, request after request on one connection, Huffman and dynamic table included', async () => {
    const random = seededRandom(7541);
    const names = ['x-request-id', 'x-b3-traceid', 'grpc-timeout', 'user-agent', 'x-custom', 'cookie'];
    // Header values may hold tab, visible ASCII and obs-text (0x80–0xff).
    const alphabet = [9, ...Array.from({ length: 95 }, (_, i) => 32 + i), 0x80, 0xa9, 0xff];
    const value = () =>
      Buffer.from(Array.from({ length: 1 + random.int(40) }, () => random.pick(alphabet)))
        .toString('latin1')
        .trim() || 'v';
    const requests = Array.from({ length: 300 }, (_, i) => {
      const headers: Record<string, string> = {
        ':path': i % 3 === 0 ? '/envoy.service.auth.v3.Authorization/Check' : `/p/${i % 17}`,
        'content-type': 'application/grpc',
        te: 'trailers',
      };
      for (let n = random.int(4); n > 0; n--)
        headers[random.pick(names)] = i % 5 === 0 ? 'repeated' : value();
      return headers;
    });
    const blocks = await nghttp2HeaderBlocks(requests);
    expect(blocks).toHaveLength(requests.length);
    const decoder = new HpackDecoder();
    blocks.forEach((block, i) => {
      const got = decode(decoder, block).filter(([name]) => name !== ':scheme' && name !== ':authority');
      expect(got).toEqual([[':method', 'POST'], ...Object.entries(requests[i]!)]);
    });
    expect(decoder.tableLength).toBeGreaterThan(0); // the encoder did index, and we followed
  });

  it('evicts the oldest entries to stay within the table size, and empties the table for an entry larger than it', () => {
    const decoder = new HpackDecoder(100); // room for one 41–68-octet entry at a time
    expect(decode(decoder, indexedLiteral('a', 'one'))).toEqual([['a', 'one']]); // 36 octets
    expect(decode(decoder, indexedLiteral('b', 'two'))).toEqual([['b', 'two']]); // 72 in all
    expect(decode(decoder, [0x80 | 62, 0x80 | 63])).toEqual([
      ['b', 'two'],
      ['a', 'one'],
    ]);
    decode(decoder, indexedLiteral('c', 'three')); // 38 more: 'a' goes
    expect(decoder.tableLength).toBe(2);
    expect(decode(decoder, [0x80 | 63])).toEqual([['b', 'two']]);
    expect(() => decode(decoder, [0x80 | 64])).toThrow(HpackError);
    decode(decoder, indexedLiteral('d', 'x'.repeat(80))); // 113 octets > 100
    expect(decoder.tableLength).toBe(0);
  });

  it('follows dynamic table size updates, and refuses one above the size it advertised', () => {
    const decoder = new HpackDecoder(4096);
    decode(decoder, indexedLiteral('a', 'one'));
    expect(decode(decoder, [0x20, ...indexedLiteral('b', 'two')])).toEqual([['b', 'two']]);
    expect(decoder.tableLength).toBe(0); // size 0: nothing is kept
    expect(() => decode(decoder, [0x3f, 0xe2, 0x1f])).toThrow(/exceeds/); // 4097
  });

  it('refuses malformed blocks with HpackError, never another exception', () => {
    const cases: number[][] = [
      [0x80], // index 0
      [0x80 | 62], // empty dynamic table
      [0xff, 0xff, 0xff, 0xff, 0xff, 0x7f], // integer too large
      [0xff], // ends inside an integer
      [0x40], // ends before the name
      [0x40, 0x05, 0x61], // name runs past the end
      [0x0f, 0x10, 0x85, 0xff, 0xff, 0xff, 0xff, 0xff], // Huffman value: EOS / bad padding
    ];
    for (const block of cases)
      expect(() => decode(new HpackDecoder(), block), JSON.stringify(block)).toThrow(HpackError);
    const random = seededRandom(42);
    for (let i = 0; i < 2000; i++) {
      const block = Buffer.from(Array.from({ length: random.int(30) }, () => random.int(256)));
      try {
        new HpackDecoder().decode(block, []);
      } catch (err) {
        expect(err).toBeInstanceOf(HpackError);
      }
    }
  });

  it('stops listing past the header list limit but keeps the table in step', () => {
    const decoder = new HpackDecoder();
    const out: string[] = [];
    const fits = decoder.decode(
      Buffer.from([...indexedLiteral('big', 'x'.repeat(100)), ...indexedLiteral('later', 'v')]),
      out,
      100,
    );
    expect(fits).toBe(false);
    expect(out).toEqual([]);
    expect(decode(decoder, [0x80 | 62, 0x80 | 63])).toEqual([
      ['later', 'v'],
      ['big', 'x'.repeat(100)],
    ]);
  });
});

describe('HPACK encoder', () => {
  it('indexes whole static entries, literals otherwise, and leaves the peer table untouched', () => {
    const headers: [string, string][] = [
      [':status', '200'],
      ['content-type', 'application/grpc+proto'],
      ['grpc-status', '13'],
      ['grpc-message', 'a%20b'.repeat(40)],
    ];
    const block = encodeHeaderBlock(headers);
    expect(block[0]).toBe(0x88); // :status 200, static index 8
    const decoder = new HpackDecoder();
    expect(decode(decoder, block)).toEqual(headers);
    expect(decoder.tableLength).toBe(0);
  });
});
