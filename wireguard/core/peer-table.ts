// The peer table of one IP family: which nodes become WireGuard peers, with which endpoint and
// allowed IPs, and which CIDRs get `dev <iface>` or `throw` routes (spec §4.4). A pure function
// of all nodes, all IPAM blocks, the config and our own identity.
//
// A remote node is a peer iff it has a host address of the family, a valid public key, and no
// other node (ourselves included) claims that key. Every CIDR of a node that is not a peer, and
// every CIDR of our own, gets a throw route so lookups fall through to the main table.
// Unlike Felix, where the last writer of a CIDR owns it, a CIDR claimed by two nodes belongs to
// neither (a throw route and a reported conflict): the result does not depend on event order.
// With a cache (the reconciler keeps one), a change to a few Nodes is patched into the previous
// table (peer-table-update.ts) instead of recomputed: at thousands of nodes that is most of the
// cost of one added node.
import { ipFromBytes, parseCidr, type Cidr } from '../../calico/ip.js';
import { familyInfo, type IpamBlockInfo, type NodeInfo } from './node-info.js';
import {
  blocksByNode,
  cachedFacts,
  compare,
  conflictKey,
  keptCidrs,
  nodeFacts,
  nodeOutcome,
  paramsKey,
  PeerTableCache,
  type NodeFacts,
} from './node-facts.js';
import type {
  Peer,
  PeerConflict,
  PeerTable,
  PeerTableInput,
  SelfAddress,
  SelfAddressSource,
  TableRoute,
} from './peer-table-types.js';
import { updatePeerTable } from './peer-table-update.js';

export { PeerTableCache };

/**
 * The table for `input`. With a cache that saw the previous input, only the nodes a change
 * touches are redone (same result as a full computation, which the tests check).
 */
export function computePeerTable(
  input: PeerTableInput,
  cache: PeerTableCache = new PeerTableCache(),
): PeerTable {
  const prev = cache.last;
  if (prev !== null && prev.params === paramsKey(input) && sameBlocks(prev.blocks, input.blocks)) {
    const updated = updatePeerTable(prev, input, cache);
    if (updated !== null) return updated;
  }
  cache.lastChange = null;
  return computeFull(input, cache);
}

function computeFull(input: PeerTableInput, cache: PeerTableCache): PeerTable {
  const { family } = input;
  const self = input.nodes.find((n) => n.name === input.selfName) ?? null;
  const selfAddress = chooseSelfAddress(self, input);

  const facts = new Map<string, NodeFacts>();
  for (const node of input.nodes) {
    facts.set(
      node.name,
      node === self ? nodeFacts(node, input, selfAddress?.ip ?? null) : cachedFacts(node, input, cache),
    );
  }
  const byBlock = blocksByNode(input, cache);
  // Every node's CIDRs of this family, minus those covered by another CIDR of the same node.
  const kept = new Map<string, readonly Cidr[]>();
  for (const [name, f] of facts) kept.set(name, keptCidrs(f.cidrs, byBlock.get(name)));

  const conflicts: PeerConflict[] = [];
  const claims = new Map<string, string[]>();
  for (const [node, list] of kept) {
    for (const c of list) {
      const prev = claims.get(c.text);
      if (prev === undefined) claims.set(c.text, [node]);
      else prev.push(node);
    }
  }
  const routes: TableRoute[] = [];
  for (const [cidr, nodes] of claims) {
    if (nodes.length < 2) continue;
    routes.push({ dst: cidr, target: 'throw' });
    conflicts.push({ kind: 'cidr-claimed-twice', cidr, nodes: [...nodes].sort() });
  }

  // Key claims: ours counts too, so a node that copies our key is never a peer.
  const keyOwners = new Map<string, string[]>([[input.selfPublicKey, [input.selfName]]]);
  for (const node of input.nodes) {
    const key = familyInfo(node, family).publicKey;
    if (node === self || key === null || facts.get(node.name)?.key !== 'valid') continue;
    const owners = keyOwners.get(key);
    if (owners === undefined) keyOwners.set(key, [node.name]);
    else owners.push(node.name);
  }
  for (const [publicKey, nodes] of keyOwners) {
    if (nodes.length > 1) conflicts.push({ kind: 'duplicate-key', publicKey, nodes: [...nodes].sort() });
  }

  const peers: Peer[] = [];
  for (const node of input.nodes) {
    const name = node.name;
    const out = nodeOutcome(
      node,
      node === self,
      facts.get(name) as NodeFacts,
      kept.get(name) as readonly Cidr[],
      claims,
      keyOwners,
      input,
    );
    for (const r of out.routes) routes.push(r);
    if (out.peer !== null) peers.push(out.peer);
    if (out.conflict !== null) conflicts.push(out.conflict);
  }
  peers.sort((a, b) => compare(a.node, b.node));
  routes.sort((a, b) => compare(a.dst, b.dst));
  conflicts.sort((a, b) => compare(conflictKey(a), conflictKey(b)));
  const result: PeerTable = { family, peers, routes, conflicts, selfAddress };
  // Two nodes of one name have no incremental meaning; the next call then starts afresh too.
  cache.last =
    facts.size !== input.nodes.length
      ? null
      : {
          params: paramsKey(input),
          blocks: input.blocks,
          blocksByNode: byBlock,
          nodes: input.nodes,
          byName: new Map(input.nodes.map((n) => [n.name, n])),
          facts,
          kept,
          claims,
          keyOwners,
          result,
        };
  return result;
}

function sameBlocks(a: readonly IpamBlockInfo[], b: readonly IpamBlockInfo[]): boolean {
  return a === b || (a.length === b.length && a.every((x, i) => x === b[i]));
}

/**
 * Our device address: network + 1 of our first pod CIDR of the family (what Calico derives in
 * host-local IPAM mode), else an address someone else published for us (Calico's tunnel-IP
 * allocator), else, with host encryption, our host address (spec §4.3, §6).
 */
function chooseSelfAddress(self: NodeInfo | null, input: PeerTableInput): SelfAddress | null {
  if (self === null) return null;
  const full = input.family === 4 ? 32 : 128;
  const make = (ip: string, source: SelfAddressSource): SelfAddress => ({
    cidr: `${ip}/${full}`,
    ip,
    source,
  });
  for (const text of self.podCidrs) {
    const c = parseCidr(text);
    if (c === null || c.family !== input.family || c.prefixLength > full - 2) continue;
    const bytes = c.bytes.slice();
    for (let i = bytes.length - 1; i >= 0; i--) {
      bytes[i] = ((bytes[i] as number) + 1) & 0xff;
      if (bytes[i] !== 0) break;
    }
    const ip = ipFromBytes(bytes);
    if (ip !== null) return make(ip.text, 'pod-cidr');
  }
  const info = familyInfo(self, input.family);
  if (info.interfaceAddress !== null) return make(info.interfaceAddress, 'annotation');
  if (input.hostEncryptionEnabled && info.hostAddress !== null) return make(info.hostAddress, 'host-address');
  return null;
}
