// The IP sets of the sidecar's policy store: IP, IP_AND_PORT and NET members with lookups per type.
//
// Unlike Dikastes, members are validated on add and a malformed one is rejected with a reason
// (Calico panics on a malformed NET member). Matching stays Calico's (spec §3, §5.1): IP and
// IP_AND_PORT sets compare canonical address text, and a request's v4-mapped address reads as
// dotted IPv4, so a member written as `::ffff:a.b.c.d` never matches an IPv4 request. A NET member
// written as a v4-mapped IPv6 prefix sits in Calico's v6 trie, where no address is ever looked up
// (v4 and v4-mapped addresses go to the v4 trie): it is kept, and matches nothing. Rule `nets`
// are different: they follow Go's IPNet.Contains, where `::ffff:0:0/96` contains all of IPv4.

import type { Ip } from '../calico/ip.js';
import { parseIp } from '../calico/ip.js';
import { NetSet } from './net-set.js';

/** The proto enum names of IPSetUpdate.IPSetType. */
export type IpSetType = 'IP' | 'IP_AND_PORT' | 'NET';

export interface IpSet {
  readonly type: IpSetType;
  readonly size: number;
  /** null when added (or already present); otherwise why the member is malformed, and nothing changes. */
  add(member: string): string | null;
  /** Removes an exact member (exact prefix for NET); unknown or malformed members are ignored. */
  remove(member: string): void;
  /** IP: canonical text membership; NET: containment in any prefix; IP_AND_PORT: always false. */
  containsIp(ip: Ip): boolean;
  /** IP_AND_PORT: exact `<canonical ip>,<proto>:<port>` key; IP: exact canonical IP text; NET: false. */
  containsKey(key: string): boolean;
  /** Prepares lookups after a batch of changes (lookups also work without it, more slowly once). */
  seal(): void;
  /**
   * The lowest and highest IPv4 address (as an unsigned 32-bit number) that containsIp may
   * accept; low > high when it accepts none. Lets a walk refuse a rule without reading the set.
   */
  readonly v4Low: number;
  readonly v4High: number;
}

export function createIpSet(type: IpSetType): IpSet {
  switch (type) {
    case 'IP':
      return createKeySet(type, canonicalIpMember, (keys, ip) => keys.has(ip.text), true);
    case 'IP_AND_PORT':
      return createKeySet(type, canonicalIpPortMember, () => false, false);
    case 'NET':
      return createNetSet();
    default: {
      const unreachable: never = type;
      throw new Error(`unknown IP set type ${String(unreachable)}`);
    }
  }
}

/** The IP_AND_PORT lookup key for a flow, e.g. `192.168.1.1,tcp:80` or `fd00::1,udp:53`. */
export function ipPortKey(ip: Ip, protocolName: string, port: number): string {
  return `${ip.text},${protocolName}:${port}`;
}

type Canonical = { ok: true; key: string } | { ok: false; reason: string };

function canonicalIpMember(member: string): Canonical {
  const ip = parseIp(member);
  return ip === null
    ? { ok: false, reason: `not an IP address: ${JSON.stringify(member)}` }
    : { ok: true, key: memberText(member, ip) };
}

/**
 * A member's canonical text. A v4-mapped address written in IPv6 form keeps an IPv6 text, which
 * no request address equals, as in Calico's string sets.
 */
function memberText(written: string, ip: Ip): string {
  return ip.family === 4 && written.includes(':') ? `::ffff:${ip.text}` : ip.text;
}

const IP_PORT_TAIL = /^([a-z0-9]+):([0-9]{1,5})$/;

/** `<ip>,<proto>:<port>`, IPv6 unbracketed, proto lower-case as Felix writes it, port 0–65535. */
function canonicalIpPortMember(member: string): Canonical {
  const comma = member.indexOf(',');
  const bad = (why: string): Canonical => ({ ok: false, reason: `${why}: ${JSON.stringify(member)}` });
  if (comma < 0) return bad('expected <ip>,<proto>:<port>');
  const written = member.slice(0, comma);
  const ip = parseIp(written);
  if (ip === null) return bad('not an IP address before the comma');
  const tail = IP_PORT_TAIL.exec(member.slice(comma + 1));
  if (tail === null) return bad('expected <proto>:<port> after the comma, proto in [a-z0-9]');
  const port = Number(tail[2]);
  if (port > 65535) return bad('port out of range');
  return { ok: true, key: `${memberText(written, ip)},${tail[1] as string}:${port}` };
}

function createKeySet(
  type: IpSetType,
  canonicalise: (member: string) => Canonical,
  containsIp: (keys: ReadonlySet<string>, ip: Ip) => boolean,
  acceptsV4: boolean,
): IpSet {
  const keys = new Set<string>();
  return {
    type,
    get size() {
      return keys.size;
    },
    add(member) {
      const c = canonicalise(member);
      if (!c.ok) return c.reason;
      keys.add(c.key);
      return null;
    },
    remove(member) {
      const c = canonicalise(member);
      if (c.ok) keys.delete(c.key);
    },
    containsIp: (ip) => containsIp(keys, ip),
    containsKey: (key) => keys.has(key),
    seal() {},
    // Text lookups have no cheap address bounds: any IPv4 address may be a member.
    v4Low: acceptsV4 ? 0 : 1,
    v4High: acceptsV4 ? 0xffffffff : 0,
  };
}

function createNetSet(): IpSet {
  return new NetSet();
}
