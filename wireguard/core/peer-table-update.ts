// The peer table after a few Nodes changed, from the previous computation's state: only the
// changed nodes and those sharing a CIDR or key with them (old or new) are redone, and the
// previous sorted lists are patched, so one added node costs a walk over names, not a rebuild.
// Pure apart from advancing the state it is handed (the caller's cache); returns null when a
// full computation is the simpler answer (our own Node changed, duplicate names, many changes).
import type { Cidr } from '../../calico/ip.js';
import { familyInfo, type NodeInfo } from './node-info.js';
import {
  cachedFacts,
  compare,
  conflictKey,
  keptCidrs,
  nodeOutcome,
  type NodeFacts,
  type PeerTableCache,
  type PeerTableChange,
  type TableState,
} from './node-facts.js';
import type { Peer, PeerConflict, PeerTable, PeerTableInput, TableRoute } from './peer-table-types.js';

/** Beyond this share of changed nodes, patching saves nothing over recomputing. */
const MAX_CHANGED_SHARE = 0.25;

export function updatePeerTable(
  state: TableState,
  input: PeerTableInput,
  cache: PeerTableCache,
): PeerTable | null {
  const byName = new Map<string, NodeInfo>();
  const changed = new Set<string>();
  let added = 0;
  for (const node of input.nodes) {
    if (byName.has(node.name)) return null;
    byName.set(node.name, node);
    const old = state.byName.get(node.name);
    if (old === node) continue;
    changed.add(node.name);
    if (old === undefined) added++;
  }
  if (byName.size - added !== state.byName.size) {
    for (const name of state.byName.keys()) if (!byName.has(name)) changed.add(name);
  }
  if (changed.size === 0) {
    state.byName = byName;
    cache.lastChange = NO_CHANGE;
    return state.result;
  }
  if (changed.has(input.selfName) || changed.size > Math.max(8, byName.size * MAX_CHANGED_SHARE)) {
    return null;
  }

  const touchedCidrs = new Set<string>();
  const touchedKeys = new Set<string>();
  for (const name of changed) {
    for (const c of state.kept.get(name) ?? []) {
      touchedCidrs.add(c.text);
      removeFrom(state.claims, c.text, name);
    }
    const oldNode = state.byName.get(name);
    if (oldNode !== undefined && state.facts.get(name)?.key === 'valid') {
      const key = familyInfo(oldNode, input.family).publicKey as string;
      touchedKeys.add(key);
      removeFrom(state.keyOwners, key, name);
    }
    state.kept.delete(name);
    state.facts.delete(name);
  }
  for (const name of changed) {
    const node = byName.get(name);
    if (node === undefined) continue;
    const f = cachedFacts(node, input, cache);
    const kept = keptCidrs(f.cidrs, state.blocksByNode.get(name));
    state.facts.set(name, f);
    state.kept.set(name, kept);
    for (const c of kept) {
      touchedCidrs.add(c.text);
      addTo(state.claims, c.text, name);
    }
    if (f.key === 'valid') {
      const key = familyInfo(node, input.family).publicKey as string;
      touchedKeys.add(key);
      addTo(state.keyOwners, key, name);
    }
  }
  state.byName = byName;

  // Everyone whose routes, eligibility or allowed IPs may have moved with the change.
  const affected = new Set(changed);
  for (const cidr of touchedCidrs) for (const n of state.claims.get(cidr) ?? []) affected.add(n);
  for (const key of touchedKeys) for (const n of state.keyOwners.get(key) ?? []) affected.add(n);
  const redoDst = new Set(touchedCidrs);
  for (const name of affected) for (const c of state.kept.get(name) ?? []) redoDst.add(c.text);

  const peers: Peer[] = [];
  const routes: TableRoute[] = [];
  const conflicts: PeerConflict[] = [];
  for (const cidr of redoDst) {
    const nodes = state.claims.get(cidr) ?? [];
    if (nodes.length < 2) continue;
    routes.push({ dst: cidr, target: 'throw' });
    conflicts.push({ kind: 'cidr-claimed-twice', cidr, nodes: [...nodes].sort() });
  }
  for (const publicKey of touchedKeys) {
    const nodes = state.keyOwners.get(publicKey) ?? [];
    if (nodes.length > 1) conflicts.push({ kind: 'duplicate-key', publicKey, nodes: [...nodes].sort() });
  }
  for (const name of affected) {
    const node = byName.get(name);
    if (node === undefined) continue;
    const out = nodeOutcome(
      node,
      name === input.selfName,
      state.facts.get(name) as NodeFacts,
      state.kept.get(name) as readonly Cidr[],
      state.claims,
      state.keyOwners,
      input,
    );
    for (const r of out.routes) routes.push(r);
    if (out.peer !== null) peers.push(out.peer);
    if (out.conflict !== null) conflicts.push(out.conflict);
  }

  const prev = state.result;
  const peersRemoved: Peer[] = [];
  const routesRemoved: TableRoute[] = [];
  const result: PeerTable = {
    family: prev.family,
    peers: merge(
      dropInto(prev.peers, (p) => affected.has(p.node), peersRemoved),
      peers,
      (p) => p.node,
    ),
    routes: merge(
      dropInto(prev.routes, (r) => redoDst.has(r.dst), routesRemoved),
      routes,
      (r) => r.dst,
    ),
    conflicts: merge(
      prev.conflicts.filter((c) => !isRedone(c, affected, redoDst, touchedKeys)),
      conflicts,
      conflictKey,
    ),
    selfAddress: prev.selfAddress,
  };
  state.result = result;
  cache.lastChange = { peersRemoved, peersAdded: peers, routesRemoved, routesAdded: routes };
  return result;
}

const NO_CHANGE: PeerTableChange = { peersRemoved: [], peersAdded: [], routesRemoved: [], routesAdded: [] };

/** `list` without the entries `drop` picks, which are appended to `dropped`. */
function dropInto<T>(list: readonly T[], drop: (x: T) => boolean, dropped: T[]): T[] {
  return list.filter((x) => {
    if (!drop(x)) return true;
    dropped.push(x);
    return false;
  });
}

/** Whether the update recomputes `c` (so the previous copy must go). */
function isRedone(
  c: PeerConflict,
  affected: ReadonlySet<string>,
  cidrs: ReadonlySet<string>,
  keys: ReadonlySet<string>,
): boolean {
  switch (c.kind) {
    case 'missing-key':
    case 'invalid-key':
    case 'no-host-address':
      return affected.has(c.node);
    case 'duplicate-key':
      return keys.has(c.publicKey);
    case 'cidr-claimed-twice':
      return cidrs.has(c.cidr);
    default: {
      const never: never = c;
      return Boolean(never);
    }
  }
}

/** `kept` (already sorted) and `fresh` (any order) as one list sorted by `key`. */
function merge<T>(kept: readonly T[], fresh: T[], key: (x: T) => string): T[] {
  if (fresh.length === 0) return kept as T[];
  fresh.sort((a, b) => compare(key(a), key(b)));
  const out: T[] = [];
  let i = 0;
  for (const x of fresh) {
    const k = key(x);
    while (i < kept.length && compare(key(kept[i] as T), k) < 0) out.push(kept[i++] as T);
    out.push(x);
  }
  while (i < kept.length) out.push(kept[i++] as T);
  return out;
}

function addTo(map: Map<string, string[]>, key: string, name: string): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [name]);
  else list.push(name);
}

function removeFrom(map: Map<string, string[]>, key: string, name: string): void {
  const list = map.get(key);
  if (list === undefined) return;
  const i = list.indexOf(name);
  if (i >= 0) list.splice(i, 1);
  if (list.length === 0) map.delete(key);
}
