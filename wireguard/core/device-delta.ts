// A delta run in O(changed nodes). When the patched peer table says which peers and routes it
// redid (peer-table-update.ts) and nothing else about the device moved, the last desired device
// is patched in place and the plan is built from the change alone. Rebuilding and comparing the
// 5,000-entry peer and route maps on every added node was most of alp-node's CPU per change.
// Pure apart from the maps of `prev`, which the caller owns and hands over.
import type { DesiredDevice, DevicePeer, DeviceSettings, ObservedRoute } from './device-state.js';
import { devicePeer } from './device-state.js';
import type { PeerTableChange } from './node-facts.js';
import type { RouteTarget, TableRoute } from './peer-table-types.js';
import { samePeer, sameRule, type PeerHandshake, type PeerUpsert, type Step } from './plan.js';

export interface DeviceDelta {
  /** The next desired device. It shares (and has changed) the maps of `prev`: drop `prev`. */
  readonly desired: DesiredDevice;
  /** What planDevice(desired, assumeApplied(prev)) would give. */
  readonly steps: readonly Step[];
}

/** null when more than peers and routes changed: then plan in full against assumeApplied(prev). */
export function patchDevice(
  prev: DesiredDevice,
  settings: DeviceSettings,
  change: PeerTableChange,
): DeviceDelta | null {
  if (!sameSettings(prev, settings)) return null;
  if (!(prev.peers instanceof Map) || !(prev.routes instanceof Map)) return null;
  const peers = prev.peers as Map<string, DevicePeer>;
  const routes = prev.routes as Map<string, RouteTarget>;

  const oldPeers = new Map<string, DevicePeer>();
  for (const p of change.peersRemoved) {
    const old = peers.get(p.publicKey);
    if (old === undefined) continue;
    oldPeers.set(p.publicKey, old);
    peers.delete(p.publicKey);
  }
  const upsertPeers: PeerUpsert[] = [];
  const newKeys: PeerUpsert[] = [];
  for (const p of change.peersAdded) {
    const peer = devicePeer(p);
    const old = oldPeers.get(p.publicKey) ?? peers.get(p.publicKey);
    peers.set(p.publicKey, peer);
    if (old !== undefined && samePeer(old, peer)) continue;
    upsertPeers.push({ publicKey: p.publicKey, peer });
    if (old === undefined) newKeys.push({ publicKey: p.publicKey, peer });
  }
  const removePeers = [...oldPeers.keys()].filter((k) => !peers.has(k)).sort();

  const oldRoutes = new Map<string, RouteTarget>();
  for (const r of change.routesRemoved) {
    const old = routes.get(r.dst);
    if (old === undefined) continue;
    oldRoutes.set(r.dst, old);
    routes.delete(r.dst);
  }
  const replace: TableRoute[] = [];
  for (const r of change.routesAdded) {
    const old = oldRoutes.get(r.dst) ?? routes.get(r.dst);
    routes.set(r.dst, r.target);
    if (old !== r.target) replace.push({ dst: r.dst, target: r.target });
  }
  const remove: ObservedRoute[] = [];
  for (const [dst, target] of oldRoutes) {
    if (!routes.has(dst)) remove.push({ dst, target, protocol: prev.routeProtocol });
  }

  const steps: Step[] = [];
  if (removePeers.length + upsertPeers.length > 0) {
    steps.push({
      op: 'wireguard-set',
      iface: settings.iface,
      setPrivateKey: false,
      listenPort: null,
      firewallMark: null,
      removePeers,
      upsertPeers,
      handshakePeers: handshakesForNewKeys(oldPeers, removePeers, newKeys),
    });
  }
  if (settings.routeSync && replace.length + remove.length > 0) {
    steps.push({
      op: 'routes',
      family: settings.family,
      table: settings.table,
      iface: settings.iface,
      protocol: settings.routeProtocol,
      replace,
      remove,
    });
  }
  return { desired: { ...settings, peers, routes }, steps };
}

/** As plan.ts: a new key at the endpoint of a removed one is a node that changed its key. */
function handshakesForNewKeys(
  oldPeers: ReadonlyMap<string, DevicePeer>,
  removed: readonly string[],
  newKeys: readonly PeerUpsert[],
): PeerHandshake[] {
  if (removed.length === 0) return [];
  const vacated = new Set<string>();
  for (const key of removed) {
    const endpoint = oldPeers.get(key)?.endpoint;
    if (endpoint !== null && endpoint !== undefined) vacated.add(endpoint);
  }
  return newKeys
    .filter((u) => u.peer.endpoint !== null && vacated.has(u.peer.endpoint))
    .map((u) => ({ publicKey: u.publicKey, persistentKeepaliveSeconds: u.peer.persistentKeepaliveSeconds }));
}

function sameSettings(a: DeviceSettings, b: DeviceSettings): boolean {
  return (
    a.family === b.family &&
    a.iface === b.iface &&
    a.mtu === b.mtu &&
    a.listenPort === b.listenPort &&
    a.firewallMark === b.firewallMark &&
    a.publicKey === b.publicKey &&
    a.address === b.address &&
    a.table === b.table &&
    a.routeProtocol === b.routeProtocol &&
    a.routeSync === b.routeSync &&
    sameRule(a.rule, b.rule) &&
    a.threaded === b.threaded &&
    a.needsSrcValidMark === b.needsSrcValidMark
  );
}
