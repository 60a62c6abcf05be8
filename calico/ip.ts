// IP addresses and CIDRs with Go's net.ParseIP / net.ParseCIDR / IPNet.Contains semantics.
//
// Hand-written rather than ipaddr.js because the Go rules are what Dikastes compatibility needs
// (spec §5.1, §5.7): ipaddr.js accepts forms Go rejects (leading zeros, short and hex IPv4
// forms) and keeps v4-mapped addresses as IPv6.

export type IpFamily = 4 | 6;

/** v4 and v4-mapped v6: family 4, 4 bytes, dotted quad. Other v6: 16 bytes, RFC 5952 text. */
export interface Ip {
  readonly family: IpFamily;
  readonly bytes: Uint8Array;
  readonly text: string;
}

export interface Cidr {
  readonly family: IpFamily;
  /** The network address, host bits masked off. */
  readonly bytes: Uint8Array;
  readonly prefixLength: number;
  /** Canonical `network/len`. */
  readonly text: string;
}

/** Go's String() of a nil IP, used where a missing address must still form a lookup key. */
export const NIL_IP_TEXT = '<nil>';

/** Parses like Go's net.ParseIP; null for anything Go rejects (incl. zones, brackets, ports). */
export function parseIp(s: string): Ip | null {
  const bytes = parseAddressBytes(s);
  return bytes === null ? null : ipFromBytes(bytes);
}

/** Builds an Ip from 4 or 16 bytes, unmapping v4-mapped addresses; null for other lengths. */
export function ipFromBytes(bytes: Uint8Array): Ip | null {
  if (bytes.length === 16 && isV4Mapped(bytes)) bytes = bytes.slice(12);
  else if (bytes.length === 4 || bytes.length === 16) bytes = bytes.slice();
  else return null;
  const family = bytes.length === 4 ? 4 : 6;
  return { family, bytes, text: formatBytes(bytes) };
}

/** The canonical text of an IP, or Go's `<nil>` for a missing one. */
export function ipText(ip: Ip | null): string {
  return ip === null ? NIL_IP_TEXT : ip.text;
}

/**
 * Parses like Go's net.ParseCIDR: host bits are allowed and masked off, a bare IP is an error.
 * A v4-mapped IPv6 network with prefix ≥ 96 (e.g. `::ffff:0:0/96`) becomes the v4 network with
 * prefix len−96, which is how Go's IPNet.Contains treats it (spec §5.7 edge case).
 */
export function parseCidr(s: string): Cidr | null {
  const slash = s.indexOf('/');
  if (slash < 0) return null;
  const addr = parseAddressBytes(s.slice(0, slash));
  const prefixLength = parsePrefixLength(s.slice(slash + 1));
  if (addr === null || prefixLength === null || prefixLength > addr.length * 8) return null;
  let bytes = maskBytes(addr, prefixLength);
  let len = prefixLength;
  if (bytes.length === 16 && isV4Mapped(bytes)) {
    // Only possible for len ≥ 96: a shorter mask clears the ffff marker.
    bytes = bytes.slice(12);
    len -= 96;
  }
  const family = bytes.length === 4 ? 4 : 6;
  return { family, bytes, prefixLength: len, text: `${formatBytes(bytes)}/${len}` };
}

/** Go's IPNet.Contains: families must match (v4-mapped counts as v4), then the masked bits. */
export function cidrContains(cidr: Cidr, ip: Ip): boolean {
  if (cidr.family !== ip.family) return false;
  const full = cidr.prefixLength >> 3;
  for (let i = 0; i < full; i++) if (cidr.bytes[i] !== ip.bytes[i]) return false;
  const rest = cidr.prefixLength & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return ((ip.bytes[full] as number) & mask) === cidr.bytes[full];
}

// Go's dtoi: decimal digits only (leading zeros allowed), at least one. Huge values are rejected
// by the caller's range check.
function parsePrefixLength(s: string): number | null {
  return /^[0-9]+$/.test(s) ? Number(s) : null;
}

function maskBytes(addr: Uint8Array, prefixLength: number): Uint8Array {
  const out = addr.slice();
  for (let i = 0; i < out.length; i++) {
    const bitsHere = Math.min(8, Math.max(0, prefixLength - i * 8));
    out[i] = (out[i] as number) & ((0xff << (8 - bitsHere)) & 0xff);
  }
  return out;
}

function isV4Mapped(b: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (b[i] !== 0) return false;
  return b[10] === 0xff && b[11] === 0xff;
}

// Go's netip.ParseAddr dispatch: the first '.', ':' or '%' decides the family.
function parseAddressBytes(s: string): Uint8Array | null {
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '.') return parseIPv4(s);
    if (c === ':') return parseIPv6(s);
    if (c === '%') return null;
  }
  return null;
}

/** Four decimal fields 0–255, no leading zeros, no empty fields. */
function parseIPv4(s: string): Uint8Array | null {
  const out = new Uint8Array(4);
  return parseIPv4Into(s, 0, out, 0) ? out : null;
}

/** Parses s from `start` to its end as a dotted quad into out[offset..offset+3]. */
function parseIPv4Into(s: string, start: number, out: Uint8Array, offset: number): boolean {
  let field = 0;
  let value = 0;
  let digits = 0;
  for (let i = start; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x30 && c <= 0x39) {
      if (digits === 1 && value === 0) return false; // leading zero
      value = value * 10 + (c - 0x30);
      digits++;
      if (value > 255) return false;
    } else if (c === 0x2e) {
      if (digits === 0 || field === 3) return false;
      out[offset + field++] = value;
      value = 0;
      digits = 0;
    } else {
      return false;
    }
  }
  if (field !== 3 || digits === 0) return false;
  out[offset + 3] = value;
  return true;
}

// Go's netip parseIPv6: 1–4 hex digits per group, at most one "::" standing for at least one zero
// group, an optional dotted-quad tail in the last 32 bits. Zones are rejected by net.ParseIP.
function parseIPv6(s: string): Uint8Array | null {
  if (s.includes('%')) return null;
  const ip = new Uint8Array(16);
  let ellipsis = -1;
  let p = 0; // read position in s
  if (s.startsWith('::')) {
    ellipsis = 0;
    p = 2;
    if (p === s.length) return ip;
  }
  let i = 0;
  while (i < 16) {
    let group = 0;
    let digits = 0;
    for (let h = hexDigit(s.charCodeAt(p)); h >= 0; h = hexDigit(s.charCodeAt(p + digits))) {
      if (++digits > 4) return null;
      group = group * 16 + h;
    }
    if (digits === 0) return null;
    if (s[p + digits] === '.') {
      // Embedded IPv4 must replace exactly the final two groups (or follow the ellipsis).
      if ((ellipsis < 0 && i !== 12) || i + 4 > 16) return null;
      if (!parseIPv4Into(s, p, ip, i)) return null;
      p = s.length;
      i += 4;
      break;
    }
    ip[i] = group >> 8;
    ip[i + 1] = group & 0xff;
    i += 2;
    p += digits;
    if (p === s.length) break;
    if (s[p] !== ':' || p + 1 === s.length) return null;
    p++;
    if (s[p] === ':') {
      if (ellipsis >= 0) return null;
      ellipsis = i;
      p++;
      if (p === s.length) break;
    }
  }
  if (p !== s.length) return null;
  if (i < 16) {
    if (ellipsis < 0) return null;
    const shift = 16 - i;
    ip.copyWithin(ellipsis + shift, ellipsis, i);
    ip.fill(0, ellipsis, ellipsis + shift);
  } else if (ellipsis >= 0) {
    return null;
  }
  return ip;
}

function hexDigit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  return -1; // also for NaN past the end
}

function formatBytes(b: Uint8Array): string {
  return b.length === 4 ? `${b[0]}.${b[1]}.${b[2]}.${b[3]}` : formatIPv6(b);
}

/** RFC 5952: lower-case hex, the longest run of ≥ 2 zero groups compressed, the first on a tie. */
function formatIPv6(b: Uint8Array): string {
  const group = (g: number): number => ((b[2 * g] as number) << 8) | (b[2 * g + 1] as number);
  let bestStart = -1;
  let bestEnd = -1;
  for (let i = 0; i < 8; i++) {
    let j = i;
    while (j < 8 && group(j) === 0) j++;
    if (j - i >= 2 && j - i > bestEnd - bestStart) {
      bestStart = i;
      bestEnd = j;
    }
    if (j > i) i = j;
  }
  let text = '';
  for (let g = 0; g < 8; g++) {
    if (g === bestStart) {
      text += '::';
      g = bestEnd - 1;
      continue;
    }
    if (text !== '' && !text.endsWith(':')) text += ':';
    text += group(g).toString(16);
  }
  return text;
}
