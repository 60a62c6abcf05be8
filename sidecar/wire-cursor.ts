// A cursor over protobuf bytes for the hand-written PolicySync readers (policy-sync-wire.ts,
// policy-sync-rules-wire.ts). Every read reports failure (-1 or null) instead of running past the
// end, and reads only what protobufjs (proto-loader's decoder) reads the same way; the readers
// then give the message back to proto-loader.

/** Node's Buffer has utf8Slice (undeclared in @types/node): toString('utf8') without its checks. */
export type Utf8Sliceable = Buffer & { utf8Slice(start: number, end: number): string };

export class Cursor {
  pos: number;
  constructor(
    readonly buf: Buffer,
    start: number,
    public end: number,
  ) {
    this.pos = start;
  }

  /**
   * A varint of at most 5 bytes whose value fits 32 bits (tags, lengths, int32, enums, bools);
   * -1 otherwise. protobufjs reads these as uint32 and skips five more bytes after a fifth byte
   * with its high bit set, so a longer varint is left to it.
   */
  varint(): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 5; i++) {
      if (this.pos >= this.end) return -1;
      const b = this.buf[this.pos++]!;
      value += (b & 0x7f) * scale;
      if (b < 0x80) return value < 0x1_0000_0000 ? value : -1;
      scale *= 128;
    }
    return -1;
  }

  /** A varint of at most 7 bytes (< 2^49, exact as a Number; uint64 fields); -1 if longer or cut off. */
  varint64(): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 7; i++) {
      if (this.pos >= this.end) return -1;
      const b = this.buf[this.pos++]!;
      value += (b & 0x7f) * scale;
      if (b < 0x80) return value;
      scale *= 128;
    }
    return -1;
  }

  /** The end of a length-delimited field whose length comes next; -1 if it does not fit. */
  delimited(): number {
    const len = this.varint();
    if (len < 0 || len > this.end - this.pos) return -1;
    return this.pos + len;
  }

  string(): string | null {
    const end = this.delimited();
    if (end < 0) return null;
    // What protobufjs's reader calls for a string, so invalid UTF-8 reads the same.
    const s = (this.buf as Utf8Sliceable).utf8Slice(this.pos, end);
    this.pos = end;
    return s;
  }
}
