// PolicySync's messages read straight from their protobuf bytes. A production snapshot is
// mostly IPSetUpdate / IPSetDeltaUpdate messages carrying about a million member strings, then the
// policies' ~20,000 rules; decoding them through proto-loader (reflection decode, then toObject)
// was most of the time from stream to store. Only the plain shape is read here: `sequence_number`
// (field 15) and one `ipset_update` (2), `ipset_delta_update` (3), `active_profile_update` (5) or
// `active_policy_update` (7, both in policy-sync-rules-wire.ts) whose fields are the declared
// ones with their declared wire types; the other payloads are read by policy-sync-small-wire.ts,
// so no message makes protobufjs generate code. Anything else (two payloads, an unknown field, an enum
// value that is not declared, a varint protobufjs would read differently, bytes that end early)
// returns null and the caller decodes the message through proto-loader, so what reaches the store
// is always what proto-loader gives (policy-sync-wire.test.ts compares the two). The members of an
// update (and the added members of a delta) are also attached as bytes (policy/wire-members.ts):
// the store reads those, and their strings are only made if something reads `members`.
import type { IPSetDeltaUpdate__Output } from '../proto/gen/felix/IPSetDeltaUpdate.js';
import type { IPSetUpdate__Output } from '../proto/gen/felix/IPSetUpdate.js';
import type { ToDataplane__Output } from '../proto/gen/felix/ToDataplane.js';
import { WIRE_MEMBERS, type WireMembers } from '../policy/wire-members.js';
import {
  readActivePolicyUpdate,
  readActiveProfileUpdate,
  type SlowDecode,
} from './policy-sync-rules-wire.js';
import { readSmallPayload, SMALL_PAYLOADS } from './policy-sync-small-wire.js';
import { Cursor, type Utf8Sliceable } from './wire-cursor.js';

/** ToDataplane's payload fields read here: the bulk ones below, the rest in policy-sync-small-wire.ts. */
const PAYLOAD_FIELDS: ReadonlySet<number> = new Set([2, 3, 5, 7, ...SMALL_PAYLOADS.keys()]);

const IP_SET_TYPES = ['IP', 'IP_AND_PORT', 'NET'] as const;

/** Skips a string, recording where its bytes are; false if it does not fit. */
function stringRange(c: Cursor, into: RangeList): boolean {
  const end = c.delimited();
  if (end < 0) return false;
  into.push(c.pos, end);
  c.pos = end;
  return true;
}

/**
 * [start, end) pairs of byte ranges, growing. One message is read at a time, so every list fills
 * the same scratch array and takes an exact-size copy at the end: most sets have a few members,
 * and a small typed array lives on V8's heap, where a 64-entry one each was a separate allocation.
 */
class RangeList {
  static #scratch = new Int32Array(1024);
  length = 0;

  push(start: number, end: number): void {
    let offsets = RangeList.#scratch;
    if (this.length + 2 > offsets.length) {
      const grown = new Int32Array(offsets.length * 2);
      grown.set(offsets);
      RangeList.#scratch = offsets = grown;
    }
    offsets[this.length++] = start;
    offsets[this.length++] = end;
  }

  wire(buf: Buffer): WireMembers {
    return { buf, offsets: RangeList.#scratch.slice(0, this.length) };
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
      if (!stringRange(c, ranges)) return null;
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
      if (!stringRange(c, added)) return null;
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

/**
 * The message as proto-loader decodes it (our loader options), or null to let proto-loader do it.
 * Taken: IP-set updates and deltas here, policy and profile updates in policy-sync-rules-wire.ts
 * (whose rule lists are made by `slow`, proto-loader's decoder, if something reads them), every
 * other payload in policy-sync-small-wire.ts.
 */
export function decodeSyncMessage(buf: Buffer, slow: SlowDecode): ToDataplane__Output | null {
  const c = new Cursor(buf, 0, buf.length);
  let sequence = 0;
  let field = 0;
  let start = -1;
  let end = -1;
  while (c.pos < c.end) {
    const tag = c.varint();
    if (tag === 0x78) {
      sequence = c.varint64();
      if (sequence < 0) return null;
    } else if ((tag & 7) === 2 && field === 0 && PAYLOAD_FIELDS.has(tag >>> 3)) {
      field = tag >>> 3;
      end = c.delimited();
      if (end < 0) return null;
      start = c.pos;
      c.pos = end;
    } else return null;
  }
  if (field === 0) return null;
  const inner = new Cursor(buf, start, end);
  switch (field) {
    case 2: {
      const u = readIpSetUpdate(inner);
      return u === null ? null : { sequence_number: sequence, ipset_update: u, payload: 'ipset_update' };
    }
    case 3: {
      const d = readIpSetDelta(inner);
      return d === null
        ? null
        : { sequence_number: sequence, ipset_delta_update: d, payload: 'ipset_delta_update' };
    }
    case 5: {
      const u = readActiveProfileUpdate(inner, buf, slow);
      return u === null
        ? null
        : { sequence_number: sequence, active_profile_update: u, payload: 'active_profile_update' };
    }
    case 7: {
      const u = readActivePolicyUpdate(inner, buf, slow);
      return u === null
        ? null
        : { sequence_number: sequence, active_policy_update: u, payload: 'active_policy_update' };
    }
    default:
      return readSmallPayload(inner, field, sequence);
  }
}
