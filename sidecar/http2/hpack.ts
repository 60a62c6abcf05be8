// HPACK (RFC 7541) for an HTTP/2 server: a full decoder (static and dynamic tables, table size
// updates, Huffman strings) for the clients' request headers, and an encoder for our few answer
// headers that never indexes (literal without indexing, plain strings), so the clients' tables
// need no care and answers can be encoded once and reused.
import { decodeHuffman, HuffmanError } from './huffman.js';

/** A header block cannot be decoded: HTTP/2 makes this a connection error (COMPRESSION_ERROR). */
export class HpackError extends Error {}

/** RFC 7541 Appendix A, index 1–61. */
const STATIC_TABLE: readonly (readonly [string, string])[] = [
  [':authority', ''],
  [':method', 'GET'],
  [':method', 'POST'],
  [':path', '/'],
  [':path', '/index.html'],
  [':scheme', 'http'],
  [':scheme', 'https'],
  [':status', '200'],
  [':status', '204'],
  [':status', '206'],
  [':status', '304'],
  [':status', '400'],
  [':status', '404'],
  [':status', '500'],
  ['accept-charset', ''],
  ['accept-encoding', 'gzip, deflate'],
  ['accept-language', ''],
  ['accept-ranges', ''],
  ['accept', ''],
  ['access-control-allow-origin', ''],
  ['age', ''],
  ['allow', ''],
  ['authorization', ''],
  ['cache-control', ''],
  ['content-disposition', ''],
  ['content-encoding', ''],
  ['content-language', ''],
  ['content-length', ''],
  ['content-location', ''],
  ['content-range', ''],
  ['content-type', ''],
  ['cookie', ''],
  ['date', ''],
  ['etag', ''],
  ['expect', ''],
  ['expires', ''],
  ['from', ''],
  ['host', ''],
  ['if-match', ''],
  ['if-modified-since', ''],
  ['if-none-match', ''],
  ['if-range', ''],
  ['if-unmodified-since', ''],
  ['last-modified', ''],
  ['link', ''],
  ['location', ''],
  ['max-forwards', ''],
  ['proxy-authenticate', ''],
  ['proxy-authorization', ''],
  ['range', ''],
  ['referer', ''],
  ['refresh', ''],
  ['retry-after', ''],
  ['server', ''],
  ['set-cookie', ''],
  ['strict-transport-security', ''],
  ['transfer-encoding', ''],
  ['user-agent', ''],
  ['vary', ''],
  ['via', ''],
  ['www-authenticate', ''],
];
const STATIC_COUNT = STATIC_TABLE.length;
/** RFC 7541 §4.1: an entry's size is its name and value octets plus 32. */
const ENTRY_OVERHEAD = 32;

/** HTTP/2's default SETTINGS_HEADER_TABLE_SIZE, the table the server advertises and decodes with. */
export const DEFAULT_TABLE_SIZE = 4096;

/**
 * One connection's request-header decoder. `decode` takes each complete header block in the
 * order received (HPACK state runs across blocks), and must see every block, even those of
 * requests that are refused, or later blocks decode wrong.
 */
export class HpackDecoder {
  // The dynamic table, newest first, as a ring: HPACK index 62 is `head`, 63 the one before it…
  readonly #names: string[];
  readonly #values: string[];
  #head = 0;
  #count = 0;
  #size = 0;
  /** The size the encoder last set (≤ the limit we advertised). */
  #maxSize: number;

  constructor(private readonly limit = DEFAULT_TABLE_SIZE) {
    const capacity = Math.floor(limit / ENTRY_OVERHEAD) + 1;
    this.#names = new Array<string>(capacity).fill('');
    this.#values = new Array<string>(capacity).fill('');
    this.#maxSize = limit;
  }

  /** Entries in the dynamic table (for tests). */
  get tableLength(): number {
    return this.#count;
  }

  /**
   * Decodes `block` into `out` as name, value, name, value…, stopping adding to `out` (but not
   * decoding) once the list's size passes `maxListSize`. Returns false if it did. Throws HpackError.
   */
  decode(block: Buffer, out: string[], maxListSize = Infinity): boolean {
    let pos = 0;
    let listSize = 0;
    let fits = true;
    const end = block.length;
    while (pos < end) {
      const byte = block[pos]!;
      let name: string;
      let value: string;
      if (byte >= 0x80) {
        // Indexed field.
        const index = readInteger(block, pos, 7);
        pos = cursor;
        if (index === 0) throw new HpackError('index 0 in an indexed header field');
        name = this.#nameAt(index);
        value = this.#valueAt(index);
      } else if (byte >= 0x40 || byte < 0x20) {
        // Literal: with incremental indexing (6-bit name index), or without / never indexed (4).
        const indexing = byte >= 0x40;
        const index = readInteger(block, pos, indexing ? 6 : 4);
        pos = cursor;
        if (index === 0) {
          name = readString(block, pos);
          pos = cursor;
        } else name = this.#nameAt(index);
        value = readString(block, pos);
        pos = cursor;
        if (indexing) this.#add(name, value);
      } else {
        // Dynamic table size update.
        const size = readInteger(block, pos, 5);
        pos = cursor;
        if (size > this.limit)
          throw new HpackError(`table size update to ${size} exceeds the ${this.limit} allowed`);
        this.#maxSize = size;
        this.#evictTo(size);
        continue;
      }
      listSize += name.length + value.length + ENTRY_OVERHEAD;
      if (listSize > maxListSize) fits = false;
      if (fits) out.push(name, value);
    }
    return fits;
  }

  #nameAt(index: number): string {
    if (index <= STATIC_COUNT) return STATIC_TABLE[index - 1]![0];
    return this.#names[this.#slot(index)]!;
  }

  #valueAt(index: number): string {
    if (index <= STATIC_COUNT) return STATIC_TABLE[index - 1]![1];
    return this.#values[this.#slot(index)]!;
  }

  #slot(index: number): number {
    const back = index - STATIC_COUNT - 1;
    if (back >= this.#count) throw new HpackError(`header index ${index} is not in the table`);
    const capacity = this.#names.length;
    return (this.#head - back + capacity) % capacity;
  }

  #add(name: string, value: string): void {
    const size = name.length + value.length + ENTRY_OVERHEAD;
    if (size > this.#maxSize) {
      // RFC 7541 §4.4: an entry larger than the table empties it and is not added.
      this.#evictTo(0);
      return;
    }
    this.#evictTo(this.#maxSize - size);
    const capacity = this.#names.length;
    this.#head = (this.#head + 1) % capacity;
    this.#names[this.#head] = name;
    this.#values[this.#head] = value;
    this.#count++;
    this.#size += size;
  }

  /** Drops the oldest entries until the table holds at most `size` octets. */
  #evictTo(size: number): void {
    const capacity = this.#names.length;
    while (this.#size > size) {
      const oldest = (this.#head - this.#count + 1 + capacity) % capacity;
      this.#size -= this.#names[oldest]!.length + this.#values[oldest]!.length + ENTRY_OVERHEAD;
      this.#names[oldest] = '';
      this.#values[oldest] = '';
      this.#count--;
    }
  }
}

/** Where the last readInteger / readString stopped (no tuple allocated per field). */
let cursor = 0;

/** RFC 7541 §5.1 integer with an N-bit prefix at `pos`; leaves `cursor` after it. */
function readInteger(buf: Buffer, pos: number, prefixBits: number): number {
  const mask = (1 << prefixBits) - 1;
  let value = buf[pos++]! & mask;
  cursor = pos;
  if (value < mask) return value;
  for (let shift = 0; ; shift += 7) {
    // Four continuation bytes reach 2^28 + 2^prefix: more than any length or index we accept.
    if (shift > 21) throw new HpackError('integer too large in a header block');
    if (pos >= buf.length) throw new HpackError('header block ends inside an integer');
    const byte = buf[pos++]!;
    value += (byte & 0x7f) * 2 ** shift;
    if (byte < 0x80) {
      cursor = pos;
      return value;
    }
  }
}

/** RFC 7541 §5.2 string literal at `pos`, as latin1 (one character per octet); sets `cursor`. */
function readString(buf: Buffer, pos: number): string {
  if (pos >= buf.length) throw new HpackError('header block ends before a string');
  const huffman = buf[pos]! >= 0x80;
  const length = readInteger(buf, pos, 7);
  const start = cursor;
  const end = start + length;
  if (end > buf.length) throw new HpackError('a string runs past the end of its header block');
  cursor = end;
  if (!huffman) return buf.toString('latin1', start, end);
  try {
    return decodeHuffman(buf, start, end);
  } catch (err) {
    if (err instanceof HuffmanError) throw new HpackError(err.message);
    throw err;
  }
}

// Encoding.

const STATIC_INDEX = new Map<string, number>();
const STATIC_NAME_INDEX = new Map<string, number>();
STATIC_TABLE.forEach(([name, value], i) => {
  if (!STATIC_NAME_INDEX.has(name)) STATIC_NAME_INDEX.set(name, i + 1);
  STATIC_INDEX.set(`${name}\0${value}`, i + 1);
});

function pushInteger(out: number[], value: number, prefixBits: number, firstByte: number): void {
  const max = (1 << prefixBits) - 1;
  if (value < max) {
    out.push(firstByte | value);
    return;
  }
  out.push(firstByte | max);
  value -= max;
  while (value >= 0x80) {
    out.push((value % 0x80) | 0x80);
    value = Math.floor(value / 0x80);
  }
  out.push(value);
}

function pushString(out: number[], text: string): void {
  const bytes = Buffer.from(text, 'latin1');
  pushInteger(out, bytes.length, 7, 0);
  for (const b of bytes) out.push(b);
}

/**
 * A header block for `headers` (lower-case names), touching no dynamic table: fields that are in
 * the static table whole are indexed; the rest are literals without indexing.
 */
export function encodeHeaderBlock(headers: readonly (readonly [string, string])[]): Buffer {
  const out: number[] = [];
  for (const [name, value] of headers) {
    const whole = STATIC_INDEX.get(`${name}\0${value}`);
    if (whole !== undefined) {
      pushInteger(out, whole, 7, 0x80);
      continue;
    }
    const nameIndex = STATIC_NAME_INDEX.get(name) ?? 0;
    pushInteger(out, nameIndex, 4, 0x00);
    if (nameIndex === 0) pushString(out, name);
    pushString(out, value);
  }
  return Buffer.from(out);
}
