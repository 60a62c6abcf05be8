// Desired vs observed → the ordered steps that make the host match (spec §5.1). Pure.
// Order when enabled: link, MTU, up, address, WireGuard keys/port/mark/peers, routes, then the
// rule last, so the table is populated before traffic is steered into it. When disabled: the
// rule first (stop steering), then the device, then the leftover throw routes.
import type { IpFamily } from '../../calico/ip.js';
import type {
  DesiredDevice,
  DesiredState,
  DevicePeer,
  DeviceTeardown,
  ObservedDevice,
  ObservedRoute,
  RoutingRule,
} from './device-state.js';
import type { TableRoute } from './peer-table-types.js';

export interface PeerUpsert {
  readonly publicKey: string;
  readonly peer: DevicePeer;
}

/** A peer to start a handshake with at once; its keepalive is restored afterwards. */
export interface PeerHandshake {
  readonly publicKey: string;
  readonly persistentKeepaliveSeconds: number;
}

export type Step =
  | { readonly op: 'link-add'; readonly iface: string }
  | { readonly op: 'link-delete'; readonly iface: string }
  | { readonly op: 'link-set-mtu'; readonly iface: string; readonly mtu: number }
  | { readonly op: 'link-set-up'; readonly iface: string }
  | { readonly op: 'link-set-threaded'; readonly iface: string; readonly threaded: boolean }
  | { readonly op: 'enable-src-valid-mark' }
  | { readonly op: 'address-add'; readonly family: IpFamily; readonly iface: string; readonly cidr: string }
  | {
      readonly op: 'address-delete';
      readonly family: IpFamily;
      readonly iface: string;
      readonly cidr: string;
    }
  | {
      readonly op: 'wireguard-set';
      readonly iface: string;
      /** The private key itself never enters a plan; the executor takes it from the key store. */
      readonly setPrivateKey: boolean;
      readonly listenPort: number | null;
      readonly firewallMark: number | null;
      readonly removePeers: readonly string[];
      readonly upsertPeers: readonly PeerUpsert[];
      /**
       * Peers whose sessions this step voids, so they need a new handshake now rather than when
       * WireGuard retries a dropped one (REKEY_TIMEOUT, 5 s): all of them when our own key
       * changes, and a node's new entry when that node changed its key. Key rotation relies on
       * it (shell/key-rotation.ts).
       */
      readonly handshakePeers: readonly PeerHandshake[];
    }
  | {
      readonly op: 'routes';
      readonly family: IpFamily;
      readonly table: number;
      readonly iface: string;
      readonly protocol: number;
      readonly replace: readonly TableRoute[];
      readonly remove: readonly ObservedRoute[];
    }
  | { readonly op: 'rule-add'; readonly family: IpFamily; readonly rule: RoutingRule }
  | { readonly op: 'rule-delete'; readonly family: IpFamily; readonly rule: RoutingRule };

export type StepOp = Step['op'];

export interface Plan {
  readonly steps: readonly Step[];
  /** Why the device cannot be programmed (a foreign interface holds its name); steps are then empty. */
  readonly blocked: string | null;
}

/** Link kinds we program: the kernel device, and our own wireguard-go's tun device. */
const OURS = new Set(['wireguard', 'tun']);
/** A tun device with our name that our wireguard-go child did not create (e.g. an orphan). */
export const FOREIGN_TUN = 'tun-foreign';

export function planDevice(desired: DesiredState, observed: ObservedDevice): Plan {
  return desired.kind === 'enabled'
    ? planEnabled(desired.device, observed)
    : planTeardown(desired.teardown, observed);
}

function planEnabled(d: DesiredDevice, observed: ObservedDevice): Plan {
  const steps: Step[] = [];
  // Felix writes it before touching the link, and never turns it off again.
  if (d.needsSrcValidMark && observed.srcValidMark === false) steps.push({ op: 'enable-src-valid-mark' });
  let o = observed;
  const link = o.link;
  if (link !== null && !OURS.has(link.kind)) {
    if (link.kind !== FOREIGN_TUN || o.wireguard === null) {
      return {
        steps: [],
        blocked: `interface ${d.iface} exists and is not a WireGuard device (kind ${link.kind})`,
      };
    }
    // An orphaned wireguard-go device: replace it with one we supervise.
    steps.push({ op: 'link-delete', iface: d.iface });
    o = freshAfterDelete(o);
  }
  if (o.link === null) {
    steps.push({ op: 'link-add', iface: d.iface });
    o = freshAfterDelete(o);
  }
  const current = o.link;
  if (current === null || current.mtu !== d.mtu)
    steps.push({ op: 'link-set-mtu', iface: d.iface, mtu: d.mtu });
  if (current === null || !current.isUp) steps.push({ op: 'link-set-up', iface: d.iface });

  for (const cidr of o.addresses) {
    if (cidr !== d.address) steps.push({ op: 'address-delete', family: d.family, iface: d.iface, cidr });
  }
  if (d.address !== null && !o.addresses.includes(d.address)) {
    steps.push({ op: 'address-add', family: d.family, iface: d.iface, cidr: d.address });
  }

  const wg = planWireguard(d, o);
  if (wg !== null) steps.push(wg);

  const routes = d.routeSync ? planRoutes(d, o) : null;
  if (routes !== null) steps.push(routes);

  let kept = false;
  for (const rule of o.rules) {
    if (!kept && sameRule(rule, d.rule)) kept = true;
    else steps.push({ op: 'rule-delete', family: d.family, rule });
  }
  if (!kept) steps.push({ op: 'rule-add', family: d.family, rule: d.rule });

  if (o.threaded !== null && o.threaded !== d.threaded) {
    steps.push({ op: 'link-set-threaded', iface: d.iface, threaded: d.threaded });
  }
  return { steps, blocked: null };
}

function planWireguard(d: DesiredDevice, o: ObservedDevice): Step | null {
  const wg = o.wireguard;
  const setPrivateKey = wg?.publicKey !== d.publicKey;
  const listenPort = wg?.listenPort === d.listenPort ? null : d.listenPort;
  const firewallMark = wg?.firewallMark === d.firewallMark ? null : d.firewallMark;
  const removePeers: string[] = [];
  const upsertPeers: PeerUpsert[] = [];
  if (wg) for (const key of wg.peers.keys()) if (!d.peers.has(key)) removePeers.push(key);
  for (const [publicKey, peer] of d.peers) {
    const seen = wg?.peers.get(publicKey);
    if (seen === undefined || !samePeer(seen, peer)) upsertPeers.push({ publicKey, peer });
  }
  if (
    !setPrivateKey &&
    listenPort === null &&
    firewallMark === null &&
    removePeers.length + upsertPeers.length === 0
  ) {
    return null;
  }
  removePeers.sort();
  return {
    op: 'wireguard-set',
    iface: d.iface,
    setPrivateKey,
    listenPort,
    firewallMark,
    removePeers,
    upsertPeers,
    handshakePeers: peersToHandshake(d, wg, removePeers, upsertPeers),
  };
}

/**
 * Who must handshake at once after this step: every peer when the device's key changes under
 * live sessions (not when it gets its first key), else each new peer entry at the endpoint of a
 * removed one, i.e. a node that changed its key.
 */
function peersToHandshake(
  d: DesiredDevice,
  wg: ObservedDevice['wireguard'],
  removePeers: readonly string[],
  upsertPeers: readonly PeerUpsert[],
): PeerHandshake[] {
  if (wg === null) return [];
  const handshake = (publicKey: string, peer: DevicePeer): PeerHandshake => ({
    publicKey,
    persistentKeepaliveSeconds: peer.persistentKeepaliveSeconds,
  });
  if (wg.publicKey !== null && wg.publicKey !== d.publicKey)
    return [...d.peers].map(([publicKey, peer]) => handshake(publicKey, peer));
  if (removePeers.length === 0) return [];
  const vacated = new Set<string>();
  for (const key of removePeers) {
    const endpoint = wg.peers.get(key)?.endpoint;
    if (endpoint !== null && endpoint !== undefined) vacated.add(endpoint);
  }
  return upsertPeers
    .filter((u) => !wg.peers.has(u.publicKey) && u.peer.endpoint !== null && vacated.has(u.peer.endpoint))
    .map((u) => handshake(u.publicKey, u.peer));
}

function planRoutes(d: DesiredDevice, o: ObservedDevice): Step | null {
  const replace: TableRoute[] = [];
  for (const [dst, target] of d.routes) {
    const seen = o.routes.get(dst);
    if (seen === undefined || seen.target !== target || seen.protocol !== d.routeProtocol) {
      replace.push({ dst, target });
    }
  }
  const remove = [...o.routes.values()].filter((r) => !d.routes.has(r.dst));
  if (replace.length + remove.length === 0) return null;
  return {
    op: 'routes',
    family: d.family,
    table: d.table,
    iface: d.iface,
    protocol: d.routeProtocol,
    replace,
    remove,
  };
}

function planTeardown(t: DeviceTeardown, o: ObservedDevice): Plan {
  const steps: Step[] = o.rules.map((rule) => ({ op: 'rule-delete', family: t.family, rule }) as const);
  const link = o.link;
  // Unlike Felix (spec §9.11), only a WireGuard device is deleted, never another kind of link.
  const deleting = link !== null && (link.kind === 'wireguard' || o.wireguard !== null);
  if (deleting) steps.push({ op: 'link-delete', iface: t.iface });
  // Routes via the device vanish with it; throw routes stay until removed.
  const remaining = [...o.routes.values()].filter((r) => r.target === 'throw' || !deleting);
  if (t.routeSync && remaining.length > 0) {
    steps.push({
      op: 'routes',
      family: t.family,
      table: t.table,
      iface: t.iface,
      protocol: 0,
      replace: [],
      remove: remaining,
    });
  }
  return { steps, blocked: null };
}

/** The host right after the device was (re)created: kernel-default device, device routes gone. */
function freshAfterDelete(o: ObservedDevice): ObservedDevice {
  return {
    link: null,
    wireguard: null,
    addresses: [],
    routes: new Map([...o.routes].filter(([, r]) => r.target === 'throw')),
    rules: o.rules,
    threaded: null,
    srcValidMark: o.srcValidMark,
  };
}

export function samePeer(a: DevicePeer, b: DevicePeer): boolean {
  return (
    a.endpoint === b.endpoint &&
    a.persistentKeepaliveSeconds === b.persistentKeepaliveSeconds &&
    a.allowedIps.length === b.allowedIps.length &&
    a.allowedIps.every((ip, i) => ip === b.allowedIps[i])
  );
}

export function sameRule(a: RoutingRule, b: RoutingRule): boolean {
  return (
    a.priority === b.priority &&
    a.mark === b.mark &&
    a.mask === b.mask &&
    a.invert === b.invert &&
    a.table === b.table &&
    a.src === b.src
  );
}
