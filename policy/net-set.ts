// The members of a NET IP set, laid out for lookups that touch little memory.
//
// IPv4, nearly every member of a real NET set (one /32 per workload): host addresses are a sorted
// Uint32Array (4 bytes a member, binary search), shorter prefixes a table of networks per prefix
// length, and the set keeps the lowest and highest address it covers, so an address outside them
// is refused with two comparisons. Additions are buffered and merged into the sorted array in one
// pass when a lookup or a size needs them (a snapshot's set is sorted once). IPv6 keeps host
// addresses by canonical text and shorter prefixes in one table per prefix length.
// Members are parsed without allocating when they are plain dotted-quad CIDRs; anything else goes
// through the full Go-compatible parser (calico/ip.ts), which decides exactly as before.

import type { Cidr, Ip } from '../calico/ip.js';
import { ipFromBytes, parseCidr } from '../calico/ip.js';
import type { IpSet } from './ip-set.js';

const EMPTY = new Uint32Array(0);
const NO_LENGTHS: readonly number[] = [];

/**
 * `a.b.c.d/len` with no leading zeros in the address and len ≤ 32, as the network's address
 * (host bits masked) times 64 plus len; -1 when the text is not in that plain form (it may still
 * be a valid CIDR: the caller then uses the full parser).
 */
export function parsePlainV4Cidr(s: string): number {
  return parsePlainV4CidrAt(s, 0, s.length, charAt);
}

function charAt(s: string, i: number): number {
  return s.charCodeAt(i);
}

function byteAt(b: Uint8Array, i: number): number {
  return b[i]!;
}

/**
 * parsePlainV4Cidr on the UTF-8 bytes [start, end) of `bytes`: the same answer as on their
 * decoded text (plain members are ASCII, and any other byte makes both answers -1).
 */
export function parsePlainV4CidrBytes(bytes: Uint8Array, start: number, end: number): number {
  return parsePlainV4CidrAt(bytes, start, end, byteAt);
}

function parsePlainV4CidrAt<T>(s: T, start: number, n: number, at: (s: T, i: number) => number): number {
  // Octet by octet (1-3 digits, a 0 only alone, then '.' or, after the fourth, '/'): about half
  // the branches of a character-by-character state machine, on a million members a snapshot.
  let i = start;
  let addr = 0;
  for (let field = 0; field < 4; field++) {
    if (i >= n) return -1;
    let d = at(s, i) - 0x30;
    if (d < 0 || d > 9) return -1;
    let octet = d;
    i++;
    if (octet !== 0 && i < n && (d = at(s, i) - 0x30) >= 0 && d <= 9) {
      octet = octet * 10 + d;
      i++;
      if (i < n && (d = at(s, i) - 0x30) >= 0 && d <= 9) {
        octet = octet * 10 + d;
        i++;
        if (octet > 255) return -1;
      }
    }
    addr = ((addr << 8) | octet) >>> 0;
    if (i >= n || at(s, i) !== (field === 3 ? 0x2f : 0x2e)) return -1;
    i++;
  }
  if (i >= n) return -1; // empty length
  // The prefix length: Go's dtoi allows leading zeros.
  let len = 0;
  for (; i < n; i++) {
    const d = at(s, i) - 0x30;
    if (d < 0 || d > 9) return -1;
    len = len * 10 + d;
    if (len > 32) return -1;
  }
  const network = len === 0 ? 0 : (addr & (0xffffffff << (32 - len))) >>> 0;
  return network * 64 + len;
}

/** An IPv4 address as an unsigned 32-bit number. */
export function v4Of(ip: Ip): number {
  const b = ip.bytes;
  return ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
}

function v4OfCidr(c: Cidr): number {
  const b = c.bytes;
  return ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
}

/** Index of `x` in sorted[0..len), or -1. */
function search(sorted: Uint32Array, len: number, x: number): number {
  let lo = 0;
  let hi = len - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const v = sorted[mid]!;
    if (v < x) lo = mid + 1;
    else if (v > x) hi = mid - 1;
    else return mid;
  }
  return -1;
}

function hostMask(len: number): number {
  return len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
}

/** The 32-bit word `i` (0–3) of a 16-byte address, unsigned. */
function word(b: Uint8Array, i: number): number {
  const o = i * 4;
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

/** One level per 32-bit word of a network; `true` where the network's last word ends. */
type WordLevel = Map<number, WordLevel | true>;

/** The networks of one prefix length: how many words they span, each word's mask, the levels. */
interface LengthTable {
  readonly words: number;
  readonly masks: readonly number[];
  readonly root: WordLevel;
}

function lengthTable(len: number): LengthTable {
  const masks: number[] = [];
  for (let i = 0; i < Math.max(1, Math.ceil(len / 32)); i++) {
    const keep = Math.min(32, Math.max(0, len - i * 32));
    masks.push(keep === 0 ? 0 : (0xffffffff << (32 - keep)) | 0);
  }
  return { words: masks.length, masks, root: new Map() };
}

/**
 * IPv6 prefixes shorter than /128, one table per prefix length, each a map per 32-bit word of
 * the masked network (a /48 is two levels), keyed by the word as a signed 32-bit integer: V8 then
 * hashes a small integer and allocates nothing per lookup, where one 53-bit key per lookup was a
 * heap number (70-150 ns against 40-80 now, same loop, run to run).
 */
class V6Prefixes {
  readonly #byLength = new Map<number, LengthTable>();
  #tables: LengthTable[] = [];
  size = 0;

  add(c: Cidr): void {
    let t = this.#byLength.get(c.prefixLength);
    if (t === undefined) {
      t = lengthTable(c.prefixLength);
      this.#byLength.set(c.prefixLength, t);
      this.#tables = [...this.#byLength.values()];
    }
    let level = t.root;
    const last = t.words - 1;
    for (let w = 0; w < last; w++) {
      const key = word(c.bytes, w) & t.masks[w]!;
      let next = level.get(key);
      if (next === undefined) {
        next = new Map();
        level.set(key, next);
      }
      level = next as WordLevel; // only the last word's level holds `true`
    }
    const key = word(c.bytes, last) & t.masks[last]!;
    if (level.has(key)) return;
    level.set(key, true);
    this.size++;
  }

  remove(c: Cidr): void {
    const t = this.#byLength.get(c.prefixLength);
    if (t === undefined) return;
    const path: [WordLevel, number][] = [];
    let level: WordLevel | true | undefined = t.root;
    for (let w = 0; w < t.words; w++) {
      if (level === undefined || level === true) return;
      const key = word(c.bytes, w) & t.masks[w]!;
      path.push([level, key]);
      level = level.get(key);
    }
    if (level !== true) return;
    // Deletes the network, then every level it leaves empty.
    for (let i = path.length - 1; i >= 0; i--) {
      const [at, key] = path[i]!;
      at.delete(key);
      if (at.size > 0) break;
    }
    this.size--;
    if (t.root.size === 0) {
      this.#byLength.delete(c.prefixLength);
      this.#tables = [...this.#byLength.values()];
    }
  }

  contains(ip: Ip): boolean {
    const b = ip.bytes;
    const tables = this.#tables;
    next: for (let n = 0; n < tables.length; n++) {
      const t = tables[n]!;
      let level: WordLevel = t.root;
      for (let w = 0; w < t.words; w++) {
        const found = level.get(word(b, w) & t.masks[w]!);
        if (found === undefined) continue next;
        if (found === true) return true;
        level = found;
      }
    }
    return false;
  }
}

/**
 * A /128's address text, formatted afresh rather than sliced out of the CIDR's text: a sliced
 * string compares with a request address's text through V8's slow path (~0.5 µs a lookup).
 */
function hostText(c: Cidr): string {
  return ipFromBytes(c.bytes)!.text;
}

export class NetMembers {
  /** Sorted, unique /32 members, valid up to #hostCount. */
  #hosts: Uint32Array = EMPTY;
  #hostCount = 0;
  /**
   * /32 members added since the last merge, valid up to #pendingCount (may repeat, may already be
   * in #hosts); a typed buffer, as a snapshot adds about a million.
   */
  #pendingAdds: Uint32Array = EMPTY;
  #pendingCount = 0;
  // The tables below are made when first needed (null or shared empty until then): a snapshot
  // has thousands of sets, nearly all /32s only, and six empty tables each were ~0.7 KB a set
  // and their share of the snapshot's garbage collections.
  /** /32 members of #hosts removed since the last merge. */
  #pendingRemoves: Set<number> | null = null;
  /** v4 prefixes shorter than /32: prefix length → networks (as int32). */
  #prefixes4: Map<number, Set<number>> | null = null;
  #prefixLengths4: readonly number[] = NO_LENGTHS;
  #prefix4Count = 0;
  /** Lowest and highest v4 address any member covers; min > max when there is none. */
  #min4 = 1;
  #max4 = 0;
  /** Buffered changes or stale bounds: the next lookup merges first. */
  #dirty = false;
  /** IPv6: /128 members by canonical text, shorter prefixes in per-length tables. */
  #hosts6: Set<string> | null = null;
  #prefixes6: V6Prefixes | null = null;

  get size(): number {
    this.#merge();
    return this.#hostCount + this.#prefix4Count + (this.#hosts6?.size ?? 0) + (this.#prefixes6?.size ?? 0);
  }

  /** Adds a parsed CIDR (family 4 or 6). */
  addCidr(c: Cidr): void {
    if (c.family === 4) this.addV4(v4OfCidr(c), c.prefixLength);
    else if (c.prefixLength === 128) (this.#hosts6 ??= new Set()).add(hostText(c));
    else (this.#prefixes6 ??= new V6Prefixes()).add(c);
  }

  removeCidr(c: Cidr): void {
    if (c.family === 4) this.removeV4(v4OfCidr(c), c.prefixLength);
    else if (c.prefixLength === 128) this.#hosts6?.delete(hostText(c));
    else this.#prefixes6?.remove(c);
  }

  /**
   * Room for `count` more /32 additions without regrowing the buffer: an update says how many
   * members it carries, and doubling from 16 cost a copy and a discarded array at each step.
   */
  reserveV4Hosts(count: number): void {
    const needed = this.#pendingCount + count;
    if (needed <= this.#pendingAdds.length) return;
    const grown = new Uint32Array(needed);
    grown.set(this.#pendingAdds.subarray(0, this.#pendingCount));
    this.#pendingAdds = grown;
  }

  /** `network` has its host bits clear. */
  addV4(network: number, len: number): void {
    if (len === 32) {
      // A removal not merged yet is undone: the host is still in #hosts.
      if (this.#pendingRemoves !== null && this.#pendingRemoves.delete(network)) return;
      if (this.#pendingCount === this.#pendingAdds.length) {
        // 16 entries (64 bytes) still live on V8's heap; most sets have fewer members.
        const grown = new Uint32Array(Math.max(16, this.#pendingCount * 2));
        grown.set(this.#pendingAdds);
        this.#pendingAdds = grown;
      }
      this.#pendingAdds[this.#pendingCount++] = network;
      this.#dirty = true;
      return;
    }
    const prefixes = (this.#prefixes4 ??= new Map());
    let nets = prefixes.get(len);
    if (nets === undefined) {
      nets = new Set();
      prefixes.set(len, nets);
      this.#prefixLengths4 = [...prefixes.keys()].sort((a, b) => a - b);
    }
    if (nets.has(network | 0)) return;
    nets.add(network | 0);
    this.#prefix4Count++;
    this.#widen(network, (network | ~hostMask(len)) >>> 0);
  }

  removeV4(network: number, len: number): void {
    if (len === 32) {
      this.#merge();
      if (search(this.#hosts, this.#hostCount, network) >= 0) {
        (this.#pendingRemoves ??= new Set()).add(network);
        this.#dirty = true;
      }
      return;
    }
    const prefixes = this.#prefixes4;
    if (prefixes === null) return;
    const nets = prefixes.get(len);
    if (nets === undefined || !nets.delete(network | 0)) return;
    this.#prefix4Count--;
    if (nets.size === 0) {
      prefixes.delete(len);
      this.#prefixLengths4 = [...prefixes.keys()].sort((a, b) => a - b);
    }
    // The bounds may shrink: recomputed at the next merge.
    this.#dirty = true;
  }

  #widen(lo: number, hi: number): void {
    if (this.#min4 > this.#max4) {
      this.#min4 = lo;
      this.#max4 = hi;
      return;
    }
    if (lo < this.#min4) this.#min4 = lo;
    if (hi > this.#max4) this.#max4 = hi;
  }

  /** Folds buffered changes into the sorted hosts and the bounds; one pass over the array. */
  #merge(): void {
    const removes = this.#pendingRemoves;
    if (!this.#dirty) return;
    if (this.#hostCount === 0 && this.#pendingCount > 0) {
      // A new set (a snapshot's): its sorted additions, duplicates squeezed out in place, are
      // the hosts, without a second array.
      const fresh = this.#pendingAdds.subarray(0, this.#pendingCount).sort();
      let k = 1;
      for (let j = 1; j < fresh.length; j++) if (fresh[j] !== fresh[k - 1]) fresh[k++] = fresh[j]!;
      this.#hosts = k === this.#pendingAdds.length ? this.#pendingAdds : this.#pendingAdds.slice(0, k);
      this.#hostCount = k;
      this.#pendingAdds = EMPTY;
      this.#pendingCount = 0;
    } else if (this.#pendingCount > 0 || (removes !== null && removes.size > 0)) {
      const fresh = this.#pendingAdds.subarray(0, this.#pendingCount).sort();
      const old = this.#hosts;
      const oldCount = this.#hostCount;
      const out = new Uint32Array(oldCount + fresh.length);
      let i = 0;
      let j = 0;
      let k = 0;
      let last = -1;
      while (i < oldCount || j < fresh.length) {
        let v: number;
        if (j >= fresh.length || (i < oldCount && old[i]! <= fresh[j]!)) {
          v = old[i++]!;
          if (removes !== null && removes.has(v)) continue;
        } else {
          v = fresh[j++]!;
        }
        if (v === last) continue;
        out[k++] = v;
        last = v;
      }
      this.#hosts = k === out.length ? out : out.slice(0, k);
      this.#hostCount = k;
      this.#pendingAdds = EMPTY;
      this.#pendingCount = 0;
      this.#pendingRemoves = null;
    }
    this.#min4 = 1;
    this.#max4 = 0;
    if (this.#hostCount > 0) this.#widen(this.#hosts[0]!, this.#hosts[this.#hostCount - 1]!);
    if (this.#prefixes4 !== null) {
      for (const [len, nets] of this.#prefixes4) {
        const m = hostMask(len);
        for (const n of nets) this.#widen(n >>> 0, ((n | ~m) >>> 0) >>> 0);
      }
    }
    this.#dirty = false;
  }

  get v4Low(): number {
    this.#merge();
    return this.#min4;
  }

  get v4High(): number {
    this.#merge();
    return this.#max4;
  }

  /** Makes the next lookups cheap; the store calls it once a message's members are in. */
  seal(): void {
    this.#merge();
  }

  containsIp(ip: Ip): boolean {
    if (ip.family === 6) {
      const hosts = this.#hosts6;
      if (hosts !== null && hosts.has(ip.text)) return true;
      const prefixes = this.#prefixes6;
      return prefixes !== null && prefixes.contains(ip);
    }
    if (this.#dirty) this.#merge();
    const x = v4Of(ip);
    if (x < this.#min4 || x > this.#max4) return false;
    if (this.#hostCount > 0 && search(this.#hosts, this.#hostCount, x) >= 0) return true;
    const lengths = this.#prefixLengths4;
    for (let i = 0; i < lengths.length; i++) {
      const len = lengths[i]!;
      if (this.#prefixes4!.get(len)!.has((x & hostMask(len)) | 0)) return true;
    }
    return false;
  }
}

/**
 * A NET IP set: the members above (one object, so a lookup reads no further object), plus the v4-mapped IPv6 prefixes that match nothing (ip-set.ts). */
export class NetSet extends NetMembers implements IpSet {
  readonly type = 'NET' as const;
  /** v4-mapped IPv6 prefixes, by canonical IPv4 text: members that never match. */
  #mapped: Set<string> | null = null;

  override get size(): number {
    return super.size + (this.#mapped?.size ?? 0);
  }

  add(member: string): string | null {
    // Most members are plain `a.b.c.d/len`: parsed without allocating.
    const plain = parsePlainV4Cidr(member);
    if (plain >= 0) {
      this.addV4(Math.floor(plain / 64), plain % 64);
      return null;
    }
    const cidr = parseCidr(member);
    if (cidr === null) return `not a CIDR: ${JSON.stringify(member)}`;
    if (isMappedNet(member, cidr)) (this.#mapped ??= new Set()).add(cidr.text);
    else this.addCidr(cidr);
    return null;
  }

  /** add() of the member whose UTF-8 bytes are [start, end) of `bytes`; a string only if not plain. */
  addBytes(bytes: Uint8Array, start: number, end: number): string | null {
    const plain = parsePlainV4CidrBytes(bytes, start, end);
    if (plain >= 0) {
      this.addV4(Math.floor(plain / 64), plain % 64);
      return null;
    }
    return this.add(Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start).toString('utf8'));
  }

  remove(member: string): void {
    const plain = parsePlainV4Cidr(member);
    if (plain >= 0) {
      this.removeV4(Math.floor(plain / 64), plain % 64);
      return;
    }
    const cidr = parseCidr(member);
    if (cidr === null) return;
    if (isMappedNet(member, cidr)) this.#mapped?.delete(cidr.text);
    else this.removeCidr(cidr);
  }

  containsKey(): boolean {
    return false;
  }
}

/** True for a NET member that Calico's trie files as IPv6 although it covers IPv4 addresses. */
function isMappedNet(written: string, cidr: Cidr): boolean {
  return cidr.family === 4 && written.slice(0, written.indexOf('/')).includes(':');
}
