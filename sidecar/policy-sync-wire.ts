// PolicySync's bulk, IP-set updates, read straight from their protobuf bytes. A production
// snapshot is mostly IPSetUpdate / IPSetDeltaUpdate messages carrying about a million member
// strings; decoding them through proto-loader (reflection decode, then toObject) was most of the
// time from stream to store. Only the plain shape is read here: `sequence_number` (field 15) and
// one `ipset_update` (2) or `ipset_delta_update` (3) whose fields are the declared ones with their
// declared wire types. Anything else (another payload, an unknown field, an enum value that is not
// declared, a varint too long for a Number, bytes that end early) returns null and the caller
// decodes the message through proto-loader, so what reaches the store is always what proto-loader
// gives (policy-sync-wire.test.ts compares the two). The members of an update (and the added
// members of a delta) are also attached as bytes (policy/wire-members.ts): the store reads those,
// and their strings are only made if something reads `members`.
import type { IPSetDeltaUpdate__Output } from '../proto/gen/felix/IPSetDeltaUpdate.js';
import type { IPSetUpdate__Output } from '../proto/gen/felix/IPSetUpdate.js';
import type { ToDataplane__Output } from '../proto/gen/felix/ToDataplane.js';
import { WIRE_MEMBERS, type WireMembers } from '../policy/wire-members.js';

const IP_SET_TYPES = ['IP', 'IP_AND_PORT', 'NET'] as const;

/** Node's Buffer has utf8Slice (undeclared in @types/node): toString('utf8') without its checks. */
type Utf8Sliceable = Buffer & { utf8Slice(start: number, end: number): string };

/** A cursor over one message's bytes; every read returns -1 (or null) instead of running past `end`. */
class Cursor {
  pos: number;
  constructor(
    readonly buf: Buffer,
    start: number,
    readonly end: number,
  ) {
    this.pos = start;
  }

  /** A varint of at most 7 bytes (< 2^49, exact as a Number); -1 if longer or cut off. */
  varint(): number {
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

  /** Skips a string, recording where its bytes are; false if it does not fit. */
  stringRange(into: RangeList): boolean {
    const end = this.delimited();
    if (end < 0) return false;
    into.push(this.pos, end);
    this.pos = end;
    return true;
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

/** [start, end) pairs of byte ranges, growing. */
class RangeList {
  offsets = new Int32Array(64);
  length = 0;

  push(start: number, end: number): void {
    if (this.length + 2 > this.offsets.length) {
      const grown = new Int32Array(this.offsets.length * 2);
      grown.set(this.offsets);
      this.offsets = grown;
    }
    this.offsets[this.length++] = start;
    this.offsets[this.length++] = end;
  }

  wire(buf: Buffer): WireMembers {
    return { buf, offsets: this.offsets.subarray(0, this.length) };
  }
}

/** The strings of `wire`, made on first use. */
function lazyStrings(wire: WireMembers): () => string[] {
  let strings: string[] | null = null;
  return () => {
    if (strings === null) {
      const b = wire.buf as Utf8Sliceable;
      strings = [];
      for (let i = 0; i < wire.offsets.length; i += 2)
        strings.push(b.utf8Slice(wire.offsets[i]!, wire.offsets[i + 1]!));
    }
    return strings;
  };
}

function readIpSetUpdate(c: Cursor): IPSetUpdate__Output | null {
  let id = '';
  const ranges = new RangeList();
  let type: (typeof IP_SET_TYPES)[number] = 'IP';
  while (c.pos < c.end) {
    const tag = c.varint();
    if (tag === 0x0a) {
      const s = c.string();
      if (s === null) return null;
      id = s;
    } else if (tag === 0x12) {
      if (!c.stringRange(ranges)) return null;
    } else if (tag === 0x18) {
      const v = c.varint();
      if (v < 0 || v >= IP_SET_TYPES.length) return null;
      type = IP_SET_TYPES[v]!;
    } else return null;
  }
  const wire = ranges.wire(c.buf);
  const members = lazyStrings(wire);
  return {
    id,
    get members() {
      return members();
    },
    type,
    [WIRE_MEMBERS]: wire,
  } as IPSetUpdate__Output;
}

function readIpSetDelta(c: Cursor): IPSetDeltaUpdate__Output | null {
  let id = '';
  const added = new RangeList();
  const removed: string[] = [];
  while (c.pos < c.end) {
    const tag = c.varint();
    if (tag === 0x12) {
      if (!c.stringRange(added)) return null;
      continue;
    }
    if (tag !== 0x0a && tag !== 0x1a) return null;
    const s = c.string();
    if (s === null) return null;
    if (tag === 0x0a) id = s;
    else removed.push(s);
  }
  const wire = added.wire(c.buf);
  const addedMembers = lazyStrings(wire);
  return {
    id,
    get added_members() {
      return addedMembers();
    },
    removed_members: removed,
    [WIRE_MEMBERS]: wire,
  } as IPSetDeltaUpdate__Output;
}

/** The message as proto-loader decodes it (our loader options), or null to let proto-loader do it. */
export function decodeIpSetMessage(buf: Buffer): ToDataplane__Output | null {
  const c = new Cursor(buf, 0, buf.length);
  let sequence = 0;
  let field = 0;
  let start = -1;
  let end = -1;
  while (c.pos < c.end) {
    const tag = c.varint();
    if (tag === 0x78) {
      sequence = c.varint();
      if (sequence < 0) return null;
    } else if ((tag === 0x12 || tag === 0x1a) && field === 0) {
      field = tag >>> 3;
      end = c.delimited();
      if (end < 0) return null;
      start = c.pos;
      c.pos = end;
    } else return null;
  }
  if (field === 0) return null;
  const inner = new Cursor(buf, start, end);
  if (field === 2) {
    const u = readIpSetUpdate(inner);
    return u === null
      ? null
      : ({ sequence_number: sequence, ipset_update: u, payload: 'ipset_update' } as ToDataplane__Output);
  }
  const d = readIpSetDelta(inner);
  return d === null
    ? null
    : ({
        sequence_number: sequence,
        ipset_delta_update: d,
        payload: 'ipset_delta_update',
      } as ToDataplane__Output);
}
