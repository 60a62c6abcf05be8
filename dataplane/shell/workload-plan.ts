// What a node must hold for its workload interfaces, as Felix keeps it: a route to each pod IP
// through the pod's interface (scope link), and per-interface sysctls. Pure: the links and routes
// seen on the host, the local endpoints and the routes we added before go in; the commands to
// run come out. An interface that is missing or not up yet gets nothing until it is (the CNI may
// create it before or after the pod object appears). Routes someone else made (the CNI) are left
// alone when they already point the right way; we only remove routes we added ourselves.
import { parseIpJson } from '../../iproute/ip-json.js';

export interface ObservedLink {
  readonly name: string;
  /** Administratively up and with carrier (operstate UP, or UNKNOWN with LOWER_UP). */
  readonly isUp: boolean;
}

export interface ObservedRoute {
  /** `10.0.0.1/32`, `fd00::1/128` (host routes are normalised to carry their length). */
  readonly dst: string;
  readonly dev: string;
}

export interface WorkloadEndpointNets {
  readonly iface: string;
  /** Pod addresses with their length, e.g. `10.0.0.1/32`, `fd00::1/128`. */
  readonly nets: readonly string[];
}

export interface WorkloadPlan {
  /** `ip route replace <dst> dev <dev> scope link`. */
  readonly addRoutes: readonly ObservedRoute[];
  /** `ip route del <dst> dev <dev>`. */
  readonly deleteRoutes: readonly ObservedRoute[];
  /** Interfaces (up, with an endpoint) whose sysctls must hold Felix's values. */
  readonly configure: readonly string[];
}

export const routeKey = (r: ObservedRoute): string => `${r.dst} ${r.dev}`;

/** `10.0.0.1` → `10.0.0.1/32`; anything with a length stays as it is. */
export function withLength(dst: string): string {
  if (dst.includes('/')) return dst;
  return dst.includes(':') ? `${dst}/128` : `${dst}/32`;
}

export function planWorkloads(input: {
  readonly links: readonly ObservedLink[];
  readonly routes: readonly ObservedRoute[];
  readonly endpoints: readonly WorkloadEndpointNets[];
  /** Routes we added earlier (route keys); only these are ever removed. */
  readonly ours: ReadonlySet<string>;
}): WorkloadPlan {
  const up = new Set(input.links.filter((l) => l.isUp).map((l) => l.name));
  const existing = new Set(input.routes.map(routeKey));
  const wanted = new Map<string, ObservedRoute>();
  const configure: string[] = [];
  for (const ep of input.endpoints) {
    if (!up.has(ep.iface)) continue;
    configure.push(ep.iface);
    for (const net of ep.nets) {
      const r = { dst: withLength(net), dev: ep.iface };
      wanted.set(routeKey(r), r);
    }
  }
  const addRoutes = [...wanted.values()].filter((r) => !existing.has(routeKey(r)));
  const deleteRoutes = input.routes.filter((r) => input.ours.has(routeKey(r)) && !wanted.has(routeKey(r)));
  return { addRoutes, deleteRoutes, configure: configure.sort() };
}

/** The sysctls Felix writes for a workload interface (endpoint_mgr.go configureProcSysForInterface). */
export function workloadSysctls(
  iface: string,
  families: { readonly v4: boolean; readonly v6: boolean },
  defaultRpFilter: string,
): { path: string; value: string }[] {
  const out: { path: string; value: string }[] = [
    // Felix turns router advertisements off on every workload interface, IPv6 on or not.
    { path: `/proc/sys/net/ipv6/conf/${iface}/accept_ra`, value: '0' },
  ];
  if (families.v4) {
    out.push(
      { path: `/proc/sys/net/ipv4/conf/${iface}/route_localnet`, value: '1' },
      { path: `/proc/sys/net/ipv4/neigh/${iface}/proxy_delay`, value: '0' },
      // The node answers ARP for 169.254.1.1 (the pods' gateway) with its own MAC.
      { path: `/proc/sys/net/ipv4/conf/${iface}/proxy_arp`, value: '1' },
      { path: `/proc/sys/net/ipv4/conf/${iface}/forwarding`, value: '1' },
      { path: `/proc/sys/net/ipv4/conf/${iface}/rp_filter`, value: defaultRpFilter },
    );
  }
  if (families.v6) {
    out.push(
      { path: `/proc/sys/net/ipv6/conf/${iface}/proxy_ndp`, value: '1' },
      { path: `/proc/sys/net/ipv6/conf/${iface}/forwarding`, value: '1' },
    );
  }
  return out;
}

/** Links from `ip -j link show`; unparsable input gives none. */
export function parseLinks(json: string): ObservedLink[] {
  const links = parseIpJson(json, (e) => {
    if (typeof e.ifname !== 'string') return null;
    const flags = Array.isArray(e.flags) ? (e.flags as unknown[]) : [];
    const isUp =
      flags.includes('UP') &&
      (e.operstate === 'UP' || (e.operstate === 'UNKNOWN' && flags.includes('LOWER_UP')));
    return { name: e.ifname, isUp };
  });
  return links.ok ? links.value : [];
}

/** Routes from `ip -j route show` / `ip -6 -j route show` (main table); unparsable input gives none. */
export function parseRoutes(json: string): ObservedRoute[] {
  const routes = parseIpJson(json, (e) => {
    if (typeof e.dst !== 'string' || typeof e.dev !== 'string' || e.dst === 'default') return null;
    if (e.type !== undefined && e.type !== 'unicast') return null;
    return { dst: withLength(e.dst), dev: e.dev };
  });
  return routes.ok ? routes.value : [];
}
