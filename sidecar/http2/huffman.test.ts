import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../testing/seeded-random.js';
import { canonicalCodes, CODE_LENGTHS, decodeHuffman, HuffmanError } from './huffman.js';

/** Huffman-encodes `bytes` from the same code table, padding with one-bits (RFC 7541 §5.2). */
function encode(bytes: readonly number[], padding: 'ones' | 'zeros' = 'ones', extraEos = false): Buffer {
  const codes = canonicalCodes();
  let bits = '';
  for (const b of bytes) bits += codes[b]!.toString(2).padStart(CODE_LENGTHS[b]!, '0');
  if (extraEos) bits += '1'.repeat(30);
  while (bits.length % 8 !== 0) bits += padding === 'ones' ? '1' : '0';
  const out = Buffer.alloc(bits.length / 8);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(bits.slice(i * 8, i * 8 + 8), 2);
  return out;
}

describe('HPACK Huffman code', () => {
  it('rebuilds the codes of RFC 7541 Appendix B from the code lengths', () => {
    const codes = canonicalCodes();
    // A few rows of the appendix: '0', 'a', ' ', '!', NUL and EOS.
    expect(codes[48]).toBe(0x0);
    expect(codes[97]).toBe(0x3);
    expect(codes[32]).toBe(0x14);
    expect(codes[33]).toBe(0x3f8);
    expect(codes[0]).toBe(0x1ff8);
    expect(codes[256]).toBe(0x3fffffff);
    // A prefix code: Kraft's sum over the 257 codes is exactly 1.
    expect(CODE_LENGTHS.reduce((sum, len) => sum + 2 ** -len, 0)).toBe(1);
  });

  it('decodes every byte value, in random strings, back to what was encoded', () => {
    const random = seededRandom(7541);
    for (let round = 0; round < 500; round++) {
      const bytes = Array.from({ length: random.int(60) }, () => random.int(256));
      const encoded = encode(bytes);
      expect(decodeHuffman(encoded, 0, encoded.length)).toBe(Buffer.from(bytes).toString('latin1'));
    }
    const all = Array.from({ length: 256 }, (_, b) => b);
    const encoded = encode(all);
    expect(decodeHuffman(encoded, 0, encoded.length)).toBe(Buffer.from(all).toString('latin1'));
  });

  it('decodes a slice of a larger buffer', () => {
    const encoded = encode([...Buffer.from('www.example.com')]);
    const framed = Buffer.concat([Buffer.from([0xaa, 0xbb]), encoded, Buffer.from([0xcc])]);
    expect(decodeHuffman(framed, 2, 2 + encoded.length)).toBe('www.example.com');
  });

  it('refuses padding that is not one-bits, padding of 8 bits or more, and EOS', () => {
    // 'a' is 5 bits: 3 bits of padding, here zeros.
    const zeros = encode([97], 'zeros');
    expect(() => decodeHuffman(zeros, 0, zeros.length)).toThrow(HuffmanError);
    const long = Buffer.concat([encode([97]), Buffer.from([0xff])]);
    expect(() => decodeHuffman(long, 0, long.length)).toThrow(HuffmanError);
    const eos = encode([97], 'ones', true);
    expect(() => decodeHuffman(eos, 0, eos.length)).toThrow(HuffmanError);
    expect(decodeHuffman(Buffer.alloc(0), 0, 0)).toBe('');
  });
});
