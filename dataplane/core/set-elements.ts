// IP set members and rule CIDRs → nft set elements. nft interval sets refuse overlapping
// elements ("conflicting intervals"), so a CIDR inside another member is left out: the set
// matches the same addresses, and element-by-element diffs compare these collapsed lists.
import type { Cidr } from '../../calico/ip.js';
import { parseCidr, parseIp } from '../../calico/ip.js';
import type { Family, PortRange } from './program.js';

export interface ParsedCidr {
  readonly family: Family;
  readonly bytes: Uint8Array;
  readonly prefixLength: number;
  /** nft element text: a bare address for a host prefix, else `network/len`. */
  readonly text: string;
}

/**
 * `10.0.0.0/8`, `10.0.0.1/32` or a bare `10.0.0.1`; null when it does not parse. A v4-mapped
 * IPv6 form (`::ffff:1.2.3.4`) is refused: it never matches an IPv4 packet in the kernel.
 */
export function parseNet(text: string): ParsedCidr | null {
  const host = parseIpv4Host(text);
  if (host !== null) return host;
  let c: Cidr | null;
  if (text.includes('/')) c = parseCidr(text);
  else {
    const ip = parseIp(text);
    c =
      ip === null
        ? null
        : { family: ip.family, bytes: ip.bytes, prefixLength: ip.bytes.length * 8, text: ip.text };
  }
  if (c === null) return null;
  if (text.includes(':') && c.family === 4) return null;
  const addr = c.text.split('/')[0] as string;
  return {
    family: c.family,
    bytes: c.bytes,
    prefixLength: c.prefixLength,
    text: c.prefixLength === c.bytes.length * 8 ? addr : `${addr}/${c.prefixLength}`,
  };
}

/**
 * The common case, a pod address as `10.65.0.1/32` or `10.65.0.1` in canonical form (no leading
 * zeros), without the general parser: IP sets hold thousands of them, and this runs once per
 * member per set when a program is built (read by character code: a regular expression and its
 * match array cost more than the parse). Null for anything else.
 */
function parseIpv4Host(text: string): ParsedCidr | null {
  const bytes = new Uint8Array(4);
  const end = text.length;
  let i = 0;
  for (let part = 0; part < 4; part++) {
    const start = i;
    let n = 0;
    while (i < end) {
      const c = text.charCodeAt(i);
      if (c < 48 || c > 57) break;
      n = n * 10 + (c - 48);
      i++;
    }
    const digits = i - start;
    if (digits === 0 || digits > 3 || n > 255 || (digits > 1 && text.charCodeAt(start) === 48)) return null;
    bytes[part] = n;
    if (part < 3) {
      if (text.charCodeAt(i) !== 46) return null; // '.'
      i++;
    }
  }
  if (i === end) return { family: 4, bytes, prefixLength: 32, text };
  if (
    i === end - 3 &&
    text.charCodeAt(i) === 47 &&
    text.charCodeAt(i + 1) === 51 &&
    text.charCodeAt(i + 2) === 50
  )
    return { family: 4, bytes, prefixLength: 32, text: text.slice(0, i) }; // '/32'
  return null;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < a.length; i++) {
    const d = (a[i] as number) - (b[i] as number);
    if (d !== 0) return d;
  }
  return 0;
}

function contains(outer: ParsedCidr, inner: ParsedCidr): boolean {
  if (outer.family !== inner.family || outer.prefixLength > inner.prefixLength) return false;
  const full = outer.prefixLength >> 3;
  for (let i = 0; i < full; i++) if (outer.bytes[i] !== inner.bytes[i]) return false;
  const rest = outer.prefixLength & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (((inner.bytes[full] as number) & mask) as number) === outer.bytes[full];
}

/**
 * One family's CIDRs, sorted by address, without duplicates and without any CIDR covered by
 * another (CIDRs either nest or are disjoint, so after sorting by start, shortest prefix first,
 * a CIDR is covered exactly when the last one kept covers it).
 */
export function collapseCidrs(cidrs: readonly ParsedCidr[]): ParsedCidr[] {
  const sorted = [...cidrs].sort((a, b) => compareBytes(a.bytes, b.bytes) || a.prefixLength - b.prefixLength);
  const out: ParsedCidr[] = [];
  for (const c of sorted) {
    const last = out[out.length - 1];
    if (last !== undefined && contains(last, c)) continue;
    out.push(c);
  }
  return out;
}

export interface NetElements {
  readonly v4: readonly string[];
  readonly v6: readonly string[];
  readonly invalid: readonly string[];
}

/** NET / IP members, or rule CIDRs, split by family and collapsed. */
export function netElements(members: Iterable<string>): NetElements {
  const v4: ParsedCidr[] = [];
  const v6: ParsedCidr[] = [];
  const invalid: string[] = [];
  for (const m of members) {
    const c = parseNet(m);
    if (c === null) invalid.push(m);
    else (c.family === 4 ? v4 : v6).push(c);
  }
  return {
    v4: collapseCidrs(v4).map((c) => c.text),
    v6: collapseCidrs(v6).map((c) => c.text),
    invalid,
  };
}

export const PROTOCOL_NUMBERS: Readonly<Record<string, number>> = {
  icmp: 1,
  tcp: 6,
  udp: 17,
  icmpv6: 58,
  sctp: 132,
  udplite: 136,
};

/** IP_AND_PORT members `10.0.0.1,tcp:8080` → `10.0.0.1 . 6 . 8080`, split by family, sorted. */
export function addrPortElements(members: Iterable<string>): NetElements {
  const v4 = new Set<string>();
  const v6 = new Set<string>();
  const invalid: string[] = [];
  for (const m of members) {
    const match = /^(.+),([a-z]+):([0-9]{1,5})$/.exec(m);
    const ip = match === null ? null : parseNet(match[1] as string);
    const proto = match === null ? undefined : PROTOCOL_NUMBERS[match[2] as string];
    const port = match === null ? NaN : Number(match[3]);
    if (ip === null || ip.text.includes('/') || proto === undefined || !(port >= 0 && port <= 65535)) {
      invalid.push(m);
      continue;
    }
    (ip.family === 4 ? v4 : v6).add(`${ip.text} . ${proto} . ${port}`);
  }
  return { v4: [...v4].sort(), v6: [...v6].sort(), invalid };
}

/** Port ranges sorted and merged where they overlap or touch (nft refuses overlaps). */
export function mergePortRanges(ranges: readonly PortRange[]): PortRange[] {
  if (ranges.length === 0) return [];
  const sorted = ranges
    .filter((r) => r.first >= 0 && r.last <= 65535 && r.first <= r.last)
    .sort((a, b) => a.first - b.first || a.last - b.last);
  const out: { first: number; last: number }[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last !== undefined && r.first <= last.last + 1) last.last = Math.max(last.last, r.last);
    else out.push({ first: r.first, last: r.last });
  }
  return out;
}
