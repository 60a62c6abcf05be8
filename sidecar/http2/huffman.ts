// HPACK's Huffman code (RFC 7541 §5.2, Appendix B), decoding only: the server never Huffman-
// encodes. The code is canonical, so it is fully given by each symbol's code length; codes are
// rebuilt from the lengths at load. Decoding walks a table of 4-bit steps (two per input byte)
// rather than one bit at a time.

/** Code length in bits of each byte value 0–255, then EOS (256). RFC 7541 Appendix B. */
export const CODE_LENGTHS: readonly number[] = [
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28,
  28, 28, 28, 28, 28, 6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6, 5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7,
  8, 15, 6, 12, 10, 13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19,
  13, 14, 6, 15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5, 6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13,
  28, 20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23, 24, 24, 22, 23, 24, 23, 23, 23, 23, 21,
  22, 23, 22, 23, 23, 24, 22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23, 21, 21, 22, 21, 23,
  22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23, 26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25,
  19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27, 20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25,
  25, 24, 24, 26, 23, 26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26, 30,
];
const EOS = 256;

/** A Huffman-coded string is malformed: HPACK makes that a COMPRESSION_ERROR. */
export class HuffmanError extends Error {}

/** Canonical codes: by length, then symbol; each length's first code follows the last one's. */
export function canonicalCodes(lengths: readonly number[] = CODE_LENGTHS): number[] {
  const order = lengths.map((_, sym) => sym).sort((a, b) => lengths[a]! - lengths[b]! || a - b);
  const codes = new Array<number>(lengths.length).fill(0);
  let code = 0;
  let len = lengths[order[0]!]!;
  for (const sym of order) {
    code *= 2 ** (lengths[sym]! - len); // not `<<`: EOS's 30-bit code must stay positive
    len = lengths[sym]!;
    codes[sym] = code;
    code += 1;
  }
  return codes;
}

// The decoding tree: node n's children are at CHILD[2n] (bit 0) and CHILD[2n+1] (bit 1); a child
// ≥ 0 is a node, < 0 is the leaf −(symbol + 1). Node 0 is the root.
function buildTree(): Int32Array {
  const codes = canonicalCodes();
  const child = new Int32Array(2 * 257).fill(0); // 256 internal nodes for 257 leaves
  let nodes = 1;
  for (let sym = 0; sym <= EOS; sym++) {
    const len = CODE_LENGTHS[sym]!;
    let node = 0;
    for (let i = len - 1; i >= 0; i--) {
      const bit = Math.floor(codes[sym]! / 2 ** i) & 1;
      const slot = 2 * node + bit;
      if (i === 0) child[slot] = -(sym + 1);
      else {
        if (child[slot] === 0) child[slot] = nodes++;
        node = child[slot]!;
      }
    }
  }
  return child;
}

// The 4-bit step table: for each node and nibble, the node reached, the symbol emitted on the way
// if any (at most one: no code is shorter than 5 bits), whether the walk then stands where a
// string may end (the root, or up to 7 one-bits into a code: the only legal padding), and
// whether it hit EOS (never legal inside a string).
const FLAG_EMIT = 1;
const FLAG_ACCEPT = 2; // ended on a node a legal padding may stop at: root, or all ones < 8 bits
const FLAG_FAIL = 4;
const STEP_NEXT = new Uint16Array(256 * 16);
const STEP_SYM = new Uint8Array(256 * 16);
const STEP_FLAGS = new Uint8Array(256 * 16);

(function buildSteps(): void {
  const child = buildTree();
  // Depth of each node on the all-ones path from the root (padding may be up to 7 one-bits).
  const onesDepth = new Int8Array(256).fill(-1);
  for (let node = 0, depth = 0; depth < 8; depth++) {
    onesDepth[node] = depth;
    node = child[2 * node + 1]!;
  }
  for (let node = 0; node < 256; node++) {
    for (let nibble = 0; nibble < 16; nibble++) {
      let at = node;
      let flags = 0;
      let sym = 0;
      for (let i = 3; i >= 0; i--) {
        const next = child[2 * at + ((nibble >> i) & 1)]!;
        if (next < 0) {
          if (-next - 1 === EOS) {
            flags |= FLAG_FAIL;
            break;
          }
          flags |= FLAG_EMIT;
          sym = -next - 1;
          at = 0;
        } else at = next;
      }
      const slot = node * 16 + nibble;
      STEP_NEXT[slot] = at;
      STEP_SYM[slot] = sym;
      STEP_FLAGS[slot] = flags | (onesDepth[at]! >= 0 ? FLAG_ACCEPT : 0);
    }
  }
})();

/** Scratch for decoded octets: a string literal is at most as long as its header block allows. */
let scratch = Buffer.allocUnsafe(4096);

/**
 * Decodes `buf[start, end)` to a latin1 string (one character per octet). Throws HuffmanError on
 * EOS inside the string or padding that is not a prefix of EOS shorter than 8 bits.
 */
export function decodeHuffman(buf: Uint8Array, start: number, end: number): string {
  const most = Math.ceil(((end - start) * 8) / 5);
  if (scratch.length < most) scratch = Buffer.allocUnsafe(most * 2);
  const out = scratch;
  let n = 0;
  let node = 0;
  let flags = FLAG_ACCEPT;
  for (let i = start; i < end; i++) {
    const byte = buf[i]!;
    let slot = node * 16 + (byte >> 4);
    flags = STEP_FLAGS[slot]!;
    if ((flags & FLAG_FAIL) !== 0) throw new HuffmanError('EOS or an invalid code in a Huffman string');
    if ((flags & FLAG_EMIT) !== 0) out[n++] = STEP_SYM[slot]!;
    node = STEP_NEXT[slot]!;
    slot = node * 16 + (byte & 15);
    flags = STEP_FLAGS[slot]!;
    if ((flags & FLAG_FAIL) !== 0) throw new HuffmanError('EOS or an invalid code in a Huffman string');
    if ((flags & FLAG_EMIT) !== 0) out[n++] = STEP_SYM[slot]!;
    node = STEP_NEXT[slot]!;
  }
  if ((flags & FLAG_ACCEPT) === 0) throw new HuffmanError('Huffman padding is not a prefix of EOS');
  return out.toString('latin1', 0, n);
}
