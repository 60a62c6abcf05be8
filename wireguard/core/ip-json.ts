// Parsers for iproute2's JSON output (`ip -j …`): links, addresses, the routes of our table and
// the rules pointing at it. Untrusted text: never throws; a malformed document is a rejection,
// a malformed entry is skipped (iproute/ip-json.ts reads the document).
import { parseCidr, parseIp, type IpFamily } from '../../calico/ip.js';
import { asRecord, asStringOrNull } from '../../calico/spec-fields.js';
import { parseIpJson, type Parsed } from '../../iproute/ip-json.js';
import type { ObservedRoute, RoutingRule } from './device-state.js';

export type { Parsed };

export interface LinkInfo {
  readonly name: string;
  /** linkinfo.info_kind (`wireguard`, `tun`, `veth`, …), or `unknown` without `-d`. */
  readonly kind: string;
  readonly mtu: number;
  /** Administratively up (the UP flag). */
  readonly isUp: boolean;
}

/** `ip -j -d link show [dev X]`. */
export function parseLinks(text: string): Parsed<LinkInfo[]> {
  return parseIpJson(text, (e) => {
    const name = asStringOrNull(e.ifname);
    const mtu = e.mtu;
    if (name === null || typeof mtu !== 'number') return null;
    const flags = Array.isArray(e.flags) ? e.flags : [];
    const kind = asStringOrNull(asRecord(e.linkinfo)?.info_kind) ?? 'unknown';
    return { name, kind, mtu, isUp: flags.includes('UP') };
  });
}

/** `ip -j addr show dev X`: the global-scope addresses of one family, as canonical CIDRs. */
export function parseAddresses(text: string, family: IpFamily): Parsed<string[]> {
  const links = parseIpJson(text, (e) => (Array.isArray(e.addr_info) ? e.addr_info : []));
  if (!links.ok) return links;
  const out: string[] = [];
  for (const info of links.value.flat()) {
    const a = asRecord(info);
    if (a === null || a.family !== (family === 4 ? 'inet' : 'inet6') || a.scope !== 'global') continue;
    const c = parseCidr(`${asStringOrNull(a.local) ?? ''}/${String(a.prefixlen)}`);
    // Keep the host part: 10.0.0.1/24 is a different address from 10.0.0.0/24.
    const ip = parseIp(asStringOrNull(a.local) ?? '');
    if (c !== null && ip !== null) out.push(`${ip.text}/${c.prefixLength}`);
  }
  return { ok: true, value: out };
}

const PROTOCOLS: Readonly<Record<string, number>> = {
  redirect: 1,
  kernel: 2,
  boot: 3,
  static: 4,
  ra: 9,
  dhcp: 16,
  bird: 12,
};

/**
 * `ip -j route show table T`: the routes that are ours, i.e. `throw` routes and routes via our
 * device (spec §5.2). Routes via other devices are someone else's and are left out.
 */
export function parseRoutes(text: string, family: IpFamily, iface: string): Parsed<ObservedRoute[]> {
  return parseIpJson(text, (e) => {
    const type = asStringOrNull(e.type) ?? 'unicast';
    let target: ObservedRoute['target'];
    if (type === 'throw') target = 'throw';
    else if (type === 'unicast' && e.dev === iface && e.gateway === undefined) target = 'device';
    else return null;
    const dst = routeDestination(asStringOrNull(e.dst), family);
    if (dst === null) return null;
    // iproute2 omits `proto boot`, the default for routes added by hand.
    const p = e.protocol;
    const protocol =
      p === undefined ? 3 : typeof p === 'number' ? p : (PROTOCOLS[String(p)] ?? (Number(p) || -1));
    return { dst, target, protocol };
  });
}

/** `ip -j rule show`: the rules of the family whose action is a lookup in `table`. */
export function parseRules(text: string, table: number): Parsed<RoutingRule[]> {
  return parseIpJson(text, (e) => {
    if (String(e.table) !== String(table) || typeof e.priority !== 'number') return null;
    const mark = e.fwmark === undefined ? 0 : hexOrDec(e.fwmark);
    const mask = e.fwmask === undefined ? (e.fwmark === undefined ? 0 : 0xffffffff) : hexOrDec(e.fwmask);
    if (mark === null || mask === null) return null;
    const src = asStringOrNull(e.src);
    const rule: RoutingRule = { priority: e.priority, mark, mask, invert: 'not' in e, table };
    return src === null || src === 'all' ? rule : { ...rule, src: srcText(src, e.srclen) };
  });
}

function srcText(src: string, srclen: unknown): string {
  return typeof srclen === 'number' ? `${src}/${srclen}` : src;
}

function routeDestination(dst: string | null, family: IpFamily): string | null {
  if (dst === null) return null;
  if (dst === 'default') return family === 4 ? '0.0.0.0/0' : '::/0';
  const c = parseCidr(dst.includes('/') ? dst : `${dst}/${family === 4 ? 32 : 128}`);
  return c !== null && c.family === family ? c.text : null;
}

function hexOrDec(v: unknown): number | null {
  if (typeof v === 'number') return Number.isInteger(v) && v >= 0 ? v : null;
  if (typeof v !== 'string') return null;
  if (/^0x[0-9a-f]{1,8}$/i.test(v)) return parseInt(v.slice(2), 16);
  return /^\d{1,10}$/.test(v) ? Number(v) : null;
}
