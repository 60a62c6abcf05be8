// The two sides plan.ts compares: the device, addresses, routes and rule we want for one family
// (built from config + peer table + our key), and what is observed on the host (or, for a delta
// apply, what we applied last). Pure.
import type { IpFamily } from '../../calico/ip.js';
import type { FamilyConfig, WireguardConfig } from './config.js';
import type { Peer, PeerTable, RouteTarget } from './peer-table-types.js';

export interface DevicePeer {
  readonly endpoint: string | null;
  /** Canonical CIDRs, sorted. */
  readonly allowedIps: readonly string[];
  readonly persistentKeepaliveSeconds: number;
}

export interface RoutingRule {
  readonly priority: number;
  readonly mark: number;
  readonly mask: number;
  /** `not fwmark M/M`: every packet without WireGuard's mark (spec §5.3). */
  readonly invert: boolean;
  readonly table: number;
  /** A source selector other than "all"; only rules someone else added have one. */
  readonly src?: string;
}

export interface DesiredDevice {
  readonly family: IpFamily;
  readonly iface: string;
  readonly mtu: number;
  readonly listenPort: number;
  readonly firewallMark: number;
  readonly publicKey: string;
  /** Full-length CIDR, or null for "no address of this family". */
  readonly address: string | null;
  /** Keyed by public key. */
  readonly peers: ReadonlyMap<string, DevicePeer>;
  readonly table: number;
  readonly routeProtocol: number;
  /** Keyed by destination CIDR. */
  readonly routes: ReadonlyMap<string, RouteTarget>;
  /**
   * False with routeSyncDisabled: table T is someone else's, so its routes are neither added nor
   * removed; the device, peers and rule are programmed as usual (spec §1.1, Felix's dummy table).
   */
  readonly routeSync: boolean;
  readonly rule: RoutingRule;
  readonly threaded: boolean;
  /** v4 with host encryption: net.ipv4.conf.all.src_valid_mark must be 1 (spec §5.4, §6). */
  readonly needsSrcValidMark: boolean;
}

/** Everything that might be left behind by an enabled family, to be removed. */
export interface DeviceTeardown {
  readonly family: IpFamily;
  readonly iface: string;
  readonly table: number;
  /** False with routeSyncDisabled: leftover routes in the table are left where they are. */
  readonly routeSync: boolean;
}

export type DesiredState =
  | { readonly kind: 'enabled'; readonly device: DesiredDevice }
  | { readonly kind: 'disabled'; readonly teardown: DeviceTeardown };

/** `wireguard` is the kernel device; `tun` is wireguard-go's (or somebody else's tun). */
export interface ObservedLink {
  readonly kind: string;
  readonly mtu: number;
  readonly isUp: boolean;
}

export interface ObservedWireguard {
  /** null when the device has no private key yet. */
  readonly publicKey: string | null;
  readonly listenPort: number;
  readonly firewallMark: number;
  readonly peers: ReadonlyMap<string, DevicePeer>;
}

export interface ObservedRoute {
  readonly dst: string;
  readonly target: RouteTarget;
  readonly protocol: number;
}

export interface ObservedDevice {
  readonly link: ObservedLink | null;
  /** null when there is no link, or `wg` cannot read it (then it is not a WireGuard device). */
  readonly wireguard: ObservedWireguard | null;
  /** Global-scope addresses of the family on the device, as CIDRs. */
  readonly addresses: readonly string[];
  /** Routes in our table that are ours: via the device, or throw. Keyed by destination. */
  readonly routes: ReadonlyMap<string, ObservedRoute>;
  /** Rules of the family that point at our table. */
  readonly rules: readonly RoutingRule[];
  /** null when unknown or not applicable (userspace devices). */
  readonly threaded: boolean | null;
  /** net.ipv4.conf.all.src_valid_mark, when read (v4 only); null when not read. */
  readonly srcValidMark: boolean | null;
}

export const EMPTY_OBSERVED: ObservedDevice = {
  link: null,
  wireguard: null,
  addresses: [],
  routes: new Map(),
  rules: [],
  threaded: null,
  srcValidMark: null,
};

/** Default when no link matches mtuIfacePattern, as in Felix. */
export const FALLBACK_HOST_MTU = 1460;

/** MTU for the device: configured, else the smallest matching up link's MTU minus overhead. */
export function deviceMtu(
  family: FamilyConfig,
  links: readonly { readonly name: string; readonly mtu: number; readonly isUp: boolean }[],
  pattern: string,
  iface: string,
): number {
  if (family.mtu !== 0) return family.mtu;
  let re: RegExp;
  try {
    re = new RegExp(pattern);
  } catch {
    re = /$^/;
  }
  const mtus = links.filter((l) => l.isUp && l.name !== iface && re.test(l.name)).map((l) => l.mtu);
  const host = mtus.length === 0 ? FALLBACK_HOST_MTU : Math.min(...mtus);
  return host - (family.family === 4 ? 60 : 80);
}

/** Everything of a desired device but its peers and routes: what a table change leaves alone. */
export type DeviceSettings = Omit<DesiredDevice, 'peers' | 'routes'>;

export function deviceSettings(
  config: WireguardConfig,
  family: FamilyConfig,
  selfAddress: PeerTable['selfAddress'],
  publicKey: string,
  mtu: number,
): DeviceSettings {
  return {
    family: family.family,
    iface: family.interfaceName,
    mtu,
    listenPort: family.listenPort,
    firewallMark: config.firewallMark,
    publicKey,
    address: selfAddress?.cidr ?? null,
    table: config.routeTableIndex,
    routeProtocol: config.deviceRouteProtocol,
    routeSync: !config.routeSyncDisabled,
    rule: {
      priority: config.routingRulePriority,
      mark: config.firewallMark,
      mask: config.firewallMark,
      invert: true,
      table: config.routeTableIndex,
    },
    threaded: config.threadingEnabled,
    needsSrcValidMark: family.family === 4 && config.hostEncryptionEnabled,
  };
}

export function desiredDevice(
  config: WireguardConfig,
  family: FamilyConfig,
  table: PeerTable,
  publicKey: string,
  mtu: number,
): DesiredDevice {
  // Plain loops: at thousands of peers the maps are the cost of a full run.
  const peers = new Map<string, DevicePeer>();
  for (const p of table.peers) peers.set(p.publicKey, devicePeer(p));
  const routes = new Map<string, RouteTarget>();
  for (const r of table.routes) routes.set(r.dst, r.target);
  return { ...deviceSettings(config, family, table.selfAddress, publicKey, mtu), peers, routes };
}

export function devicePeer(p: Peer): DevicePeer {
  return {
    endpoint: p.endpoint,
    allowedIps: p.allowedIps,
    persistentKeepaliveSeconds: p.persistentKeepaliveSeconds,
  };
}

/**
 * What the host looks like once `desired` has been applied in full: the "observed" side of a
 * delta plan, so a single change costs one small plan instead of a read-back of the device.
 */
export function assumeApplied(desired: DesiredState, linkKind: string): ObservedDevice {
  if (desired.kind === 'disabled') return EMPTY_OBSERVED;
  const d = desired.device;
  const routes = new Map<string, ObservedRoute>();
  if (d.routeSync) {
    for (const [dst, target] of d.routes) routes.set(dst, { dst, target, protocol: d.routeProtocol });
  }
  return {
    link: { kind: linkKind, mtu: d.mtu, isUp: true },
    wireguard: {
      publicKey: d.publicKey,
      listenPort: d.listenPort,
      firewallMark: d.firewallMark,
      peers: d.peers,
    },
    addresses: d.address === null ? [] : [d.address],
    routes,
    rules: [d.rule],
    threaded: linkKind === 'wireguard' ? d.threaded : null,
    srcValidMark: d.needsSrcValidMark ? true : null,
  };
}
