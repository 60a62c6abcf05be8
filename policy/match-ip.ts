// Address and port clauses of a rule: CIDR lists, IP sets, IP-and-port sets, ports and named ports
// (spec §5.6, §5.7). Called only after the rule's IP-set slots were found present.
import { cidrContains } from '../calico/ip.js';
import type { Ip } from '../calico/ip.js';
import type { IpSetSlot } from './ip-set-slots.js';
import type { NetList, PortClause } from './compiled.js';

/** Positive nets: some CIDR before the first malformed one contains the IP. */
export function matchNet(list: NetList, ip: Ip | null): boolean {
  if (ip === null) return false;
  const cidrs = list.cidrs;
  for (let i = 0; i < cidrs.length; i++) if (cidrContains(cidrs[i]!, ip)) return true;
  return false;
}

/** Negated nets: no CIDR contains the IP; reaching a malformed CIDR never matches (spec §5.7). */
export function matchNotNet(list: NetList, ip: Ip | null): boolean {
  if (ip !== null) {
    const cidrs = list.cidrs;
    for (let i = 0; i < cidrs.length; i++) if (cidrContains(cidrs[i]!, ip)) return false;
  }
  return !list.endsInvalid;
}

// As in Calico, a set of the wrong type for the clause never contains the value: an IP_AND_PORT
// set holds no bare address, and an `ip,proto:port` key is in no IP or NET set (ip-set.ts).
function setContainsIp(slot: IpSetSlot, ip: Ip | null): boolean {
  const set = slot.set;
  return set !== null && ip !== null && set.containsIp(ip);
}

function setContainsKey(slot: IpSetSlot, key: string): boolean {
  const set = slot.set;
  return set !== null && set.containsKey(key);
}

/** Every positive set contains the address and no negated set does. */
export function matchIpSets(
  all: readonly IpSetSlot[] | null,
  none: readonly IpSetSlot[] | null,
  ip: Ip | null,
): boolean {
  if (all !== null) for (let i = 0; i < all.length; i++) if (!setContainsIp(all[i]!, ip)) return false;
  if (none !== null) for (let i = 0; i < none.length; i++) if (setContainsIp(none[i]!, ip)) return false;
  return true;
}

/** Every `dst_ip_port_set_ids` set contains `<dstIP>,<proto>:<dstPort>`. */
export function matchIpPortSets(all: readonly IpSetSlot[], key: string): boolean {
  for (let i = 0; i < all.length; i++) if (!setContainsKey(all[i]!, key)) return false;
  return true;
}

/**
 * The port lies in a range, or (unlike Dikastes, which looks up the bare port and never matches)
 * a named-port set contains `<ip>,<proto>:<port>` for this side of the flow. Spec §8 item 1.
 */
export function portClauseHits(clause: PortClause, port: number, key: string): boolean {
  const r = clause.ranges;
  for (let i = 0; i < r.length; i += 2) if (r[i]! <= port && port <= r[i + 1]!) return true;
  const named = clause.named;
  for (let i = 0; i < named.length; i++) if (setContainsKey(named[i]!, key)) return true;
  return false;
}
