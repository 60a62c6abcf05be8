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
  const found = alignedChanges(state, input.nodes) ?? changesByName(state, input.nodes);
  if (found === null) return null;
  const { changed, fresh } = found;
  if (changed.size === 0) {
    state.nodes = input.nodes;
    cache.lastChange = NO_CHANGE;
    return state.result;
  }
  if (changed.has(input.selfName) || changed.size > Math.max(8, input.nodes.length * MAX_CHANGED_SHARE)) {
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
  // From here on byName is the new input's (it was the old one's for the loop above).
  const byName = state.byName;
  for (const [name, node] of fresh) {
    if (node === null) byName.delete(name);
    else byName.set(name, node);
  }
  state.nodes = input.nodes;
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
    peers: patchSorted(prev.peers, affected, peers, (p) => p.node, peersRemoved),
    routes: patchSorted(prev.routes, redoDst, routes, (r) => r.dst, routesRemoved),
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

interface NodeChanges {
  /** Names of nodes added, removed or replaced. */
  readonly changed: ReadonlySet<string>;
  /** Each changed name's new node, or null if it went. */
  readonly fresh: ReadonlyMap<string, NodeInfo | null>;
}

/**
 * The changes found by walking the new node list beside the previous one. The controller keeps
 * its nodes in a Map, so an update keeps the others in order: a replaced node stays in place, a
 * new one comes last, a removed one leaves a gap. That walk costs pointer comparisons, where a
 * lookup per node of 5,000 does not; null when the lists do not line up so (then look up by name).
 */
function alignedChanges(state: TableState, next: readonly NodeInfo[]): NodeChanges | null {
  const prev = state.nodes;
  const fresh = new Map<string, NodeInfo | null>();
  let i = 0;
  let j = 0;
  while (i < prev.length && j < next.length) {
    const a = prev[i] as NodeInfo;
    const b = next[j] as NodeInfo;
    if (a === b) {
      i++;
      j++;
    } else if (a.name === b.name) {
      fresh.set(a.name, b);
      i++;
      j++;
    } else if (prev[i + 1] === b) {
      fresh.set(a.name, null);
      i++;
    } else {
      return null;
    }
    if (fresh.size > 64) return null;
  }
  for (; i < prev.length; i++) fresh.set((prev[i] as NodeInfo).name, null);
  for (; j < next.length; j++) {
    const b = next[j] as NodeInfo;
    // A name already here (and not just removed) would be a duplicate: let the lookup decide.
    if (fresh.get(b.name) !== null && (fresh.has(b.name) || state.byName.has(b.name))) return null;
    fresh.set(b.name, b);
  }
  return { changed: new Set(fresh.keys()), fresh };
}

/** The changes found by looking every node up by name; null if a name repeats. */
function changesByName(state: TableState, next: readonly NodeInfo[]): NodeChanges | null {
  const seen = new Set<string>();
  const fresh = new Map<string, NodeInfo | null>();
  for (const node of next) {
    if (seen.has(node.name)) return null;
    seen.add(node.name);
    if (state.byName.get(node.name) !== node) fresh.set(node.name, node);
  }
  if (seen.size - fresh.size !== state.byName.size) {
    for (const name of state.byName.keys()) if (!seen.has(name)) fresh.set(name, null);
  }
  return { changed: new Set(fresh.keys()), fresh };
}

/**
 * `sorted` (by `key`) without the entries whose key is in `drop`, which go to `dropped`, and with
 * `fresh` in their places: a copy and a few splices when few entries move, a merge otherwise.
 */
function patchSorted<T>(
  sorted: readonly T[],
  drop: ReadonlySet<string>,
  fresh: T[],
  key: (x: T) => string,
  dropped: T[],
): T[] {
  fresh.sort((a, b) => compare(key(a), key(b)));
  if (drop.size + fresh.length > 64) {
    return merge(
      sorted.filter((x) => {
        if (!drop.has(key(x))) return true;
        dropped.push(x);
        return false;
      }),
      fresh,
      key,
    );
  }
  const out = sorted.slice();
  for (const k of drop) {
    const i = lowerBound(out, k, key);
    let n = 0;
    while (i + n < out.length && key(out[i + n] as T) === k) n++;
    if (n > 0) for (const x of out.splice(i, n)) dropped.push(x);
  }
  for (const x of fresh) out.splice(upperBound(out, key(x), key), 0, x);
  return out;
}

/** The first index whose key is not below `k`. */
function lowerBound<T>(list: readonly T[], k: string, key: (x: T) => string): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compare(key(list[mid] as T), k) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The first index whose key is above `k`. */
function upperBound<T>(list: readonly T[], k: string, key: (x: T) => string): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compare(key(list[mid] as T), k) <= 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

const NO_CHANGE: PeerTableChange = { peersRemoved: [], peersAdded: [], routesRemoved: [], routesAdded: [] };

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
