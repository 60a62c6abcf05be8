// The peer table of one IP family: which nodes become WireGuard peers, with which endpoint and
// allowed IPs, and which CIDRs get `dev <iface>` or `throw` routes (spec §4.4). A pure function
// of all nodes, all IPAM blocks, the config and our own identity.
//
// A remote node is a peer iff it has a host address of the family, a valid public key, and no
// other node (ourselves included) claims that key. Every CIDR of a node that is not a peer, and
// every CIDR of our own, gets a throw route so lookups fall through to the main table.
// Unlike Felix, where the last writer of a CIDR owns it, a CIDR claimed by two nodes belongs to
// neither (a throw route and a reported conflict): the result does not depend on event order.
import { cidrContains, ipFromBytes, parseCidr, parseIp, type Cidr, type IpFamily } from '../calico/ip.js';
import { isWireguardKey } from './keys.js';
import { familyInfo, type IpamBlockInfo, type NodeInfo } from './node-info.js';

export interface PeerTableInput {
  readonly family: IpFamily;
  readonly selfName: string;
  readonly selfPublicKey: string;
  readonly nodes: readonly NodeInfo[];
  readonly blocks: readonly IpamBlockInfo[];
  readonly listenPort: number;
  readonly persistentKeepaliveSeconds: number;
  readonly hostEncryptionEnabled: boolean;
}

export interface Peer {
  readonly node: string;
  readonly publicKey: string;
  /** `ip:port` or `[ip]:port`; the port is our own listen port, as in Felix (spec §9.8). */
  readonly endpoint: string;
  /** Canonical CIDRs, sorted. */
  readonly allowedIps: readonly string[];
  readonly persistentKeepaliveSeconds: number;
}

export type RouteTarget = 'device' | 'throw';

export interface TableRoute {
  readonly dst: string;
  readonly target: RouteTarget;
}

export type PeerConflict =
  | { readonly kind: 'missing-key'; readonly node: string }
  | { readonly kind: 'invalid-key'; readonly node: string }
  | { readonly kind: 'no-host-address'; readonly node: string }
  | { readonly kind: 'duplicate-key'; readonly publicKey: string; readonly nodes: readonly string[] }
  | { readonly kind: 'cidr-claimed-twice'; readonly cidr: string; readonly nodes: readonly string[] };

export type SelfAddressSource = 'pod-cidr' | 'annotation' | 'host-address';

export interface SelfAddress {
  /** A full-length CIDR (`/32` or `/128`) for the device. */
  readonly cidr: string;
  readonly ip: string;
  readonly source: SelfAddressSource;
}

export interface PeerTable {
  readonly family: IpFamily;
  /** Sorted by node name. */
  readonly peers: readonly Peer[];
  /** Sorted by destination text. */
  readonly routes: readonly TableRoute[];
  readonly conflicts: readonly PeerConflict[];
  readonly selfAddress: SelfAddress | null;
}

/**
 * Per-object memo of the parsing work (CIDRs, key validity), so recomputing the table after one
 * node changed costs a walk over plain data, not a re-parse of every node. Objects from the
 * informers are replaced, never mutated, when a resource changes, so identity is a safe key.
 */
export class PeerTableCache {
  readonly nodes = new WeakMap<NodeInfo, Map<string, NodeFacts>>();
  readonly blocks = new WeakMap<IpamBlockInfo, Cidr | null>();
}

interface NodeFacts {
  /** The node's own CIDRs of the family (pod CIDRs, interface address, host addresses with host encryption). */
  readonly cidrs: readonly Cidr[];
  readonly key: 'missing' | 'invalid' | 'valid';
  readonly hasHostAddress: boolean;
}

export function computePeerTable(
  input: PeerTableInput,
  cache: PeerTableCache = new PeerTableCache(),
): PeerTable {
  const { family } = input;
  const self = input.nodes.find((n) => n.name === input.selfName) ?? null;
  const selfAddress = chooseSelfAddress(self, input);

  // Every node's CIDRs of this family, minus those covered by another CIDR of the same node.
  const facts = new Map<string, NodeFacts>();
  // Shared with the cached facts until a block adds to a node's list (copied then).
  const cidrsByNode = new Map<string, readonly Cidr[]>();
  for (const node of input.nodes) {
    const f =
      node === self ? nodeFacts(node, input, selfAddress?.ip ?? null) : cachedFacts(node, input, cache);
    facts.set(node.name, f);
    cidrsByNode.set(node.name, f.cidrs);
  }
  for (const block of input.blocks) {
    if (block.node === null) continue;
    const list = cidrsByNode.get(block.node);
    let c = cache.blocks.get(block);
    if (c === undefined) {
      c = parseCidr(block.cidr);
      cache.blocks.set(block, c);
    }
    if (list !== undefined && c !== null && c.family === family && !list.some((x) => x.text === c.text)) {
      cidrsByNode.set(block.node, [...list, c]);
    }
  }

  const conflicts: PeerConflict[] = [];
  const claims = new Map<string, string | string[]>();
  for (const [node, list] of cidrsByNode) {
    const kept = list.length > 1 ? dropCovered(list) : list;
    cidrsByNode.set(node, kept);
    for (const c of kept) {
      const prev = claims.get(c.text);
      claims.set(
        c.text,
        prev === undefined ? node : typeof prev === 'string' ? [prev, node] : [...prev, node],
      );
    }
  }
  const contested = new Set<string>();
  for (const [cidr, nodes] of claims) {
    if (typeof nodes === 'string') continue;
    contested.add(cidr);
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
  const routes: TableRoute[] = [...contested].map((dst) => ({ dst, target: 'throw' as const }));
  for (const node of input.nodes) {
    const texts = (cidrsByNode.get(node.name) ?? []).map((c) => c.text);
    const cidrs = contested.size === 0 ? texts : texts.filter((t) => !contested.has(t));
    const eligible =
      node !== self && isEligible(node, facts.get(node.name) as NodeFacts, input, keyOwners, conflicts);
    for (const dst of cidrs) routes.push({ dst, target: eligible ? 'device' : 'throw' });
    if (!eligible) continue;
    const info = familyInfo(node, family);
    const host = info.hostAddress as string;
    peers.push({
      node: node.name,
      publicKey: info.publicKey as string,
      endpoint: family === 4 ? `${host}:${input.listenPort}` : `[${host}]:${input.listenPort}`,
      allowedIps: cidrs.length > 1 ? cidrs.sort(compare) : cidrs,
      persistentKeepaliveSeconds: input.persistentKeepaliveSeconds,
    });
  }
  peers.sort((a, b) => compare(a.node, b.node));
  routes.sort((a, b) => compare(a.dst, b.dst));
  conflicts.sort((a, b) => compare(conflictKey(a), conflictKey(b)));
  return { family, peers, routes, conflicts, selfAddress };
}

function cachedFacts(node: NodeInfo, input: PeerTableInput, cache: PeerTableCache): NodeFacts {
  const variant = `${input.family}${input.hostEncryptionEnabled ? 'h' : ''}`;
  let byVariant = cache.nodes.get(node);
  if (byVariant === undefined) {
    byVariant = new Map();
    cache.nodes.set(node, byVariant);
  }
  let f = byVariant.get(variant);
  if (f === undefined) {
    f = nodeFacts(node, input, familyInfo(node, input.family).interfaceAddress);
    byVariant.set(variant, f);
  }
  return f;
}

function nodeFacts(node: NodeInfo, input: PeerTableInput, interfaceAddress: string | null): NodeFacts {
  const { family } = input;
  const full = family === 4 ? 32 : 128;
  const cidrs: Cidr[] = [];
  const add = (text: string): void => {
    const c = parseCidr(text);
    if (c !== null && c.family === family && !cidrs.some((x) => x.text === c.text)) cidrs.push(c);
  };
  for (const c of node.podCidrs) add(c);
  if (interfaceAddress !== null) add(`${interfaceAddress}/${full}`);
  if (input.hostEncryptionEnabled) for (const ip of node.hostAddresses) add(`${ip}/${full}`);
  const info = familyInfo(node, family);
  return {
    cidrs,
    key: info.publicKey === null ? 'missing' : isWireguardKey(info.publicKey) ? 'valid' : 'invalid',
    hasHostAddress: info.hostAddress !== null && parseIp(info.hostAddress)?.family === family,
  };
}

function isEligible(
  node: NodeInfo,
  facts: NodeFacts,
  input: PeerTableInput,
  keyOwners: ReadonlyMap<string, readonly string[]>,
  conflicts: PeerConflict[],
): boolean {
  if (facts.key !== 'valid') {
    conflicts.push({ kind: facts.key === 'missing' ? 'missing-key' : 'invalid-key', node: node.name });
    return false;
  }
  if (!facts.hasHostAddress) {
    conflicts.push({ kind: 'no-host-address', node: node.name });
    return false;
  }
  return (keyOwners.get(familyInfo(node, input.family).publicKey as string) ?? []).length === 1;
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

/** Drops CIDRs strictly inside another CIDR of the same list (e.g. a /32 inside its /24). */
function dropCovered(list: readonly Cidr[]): readonly Cidr[] {
  if (list.length < 2) return list;
  return list.filter((c) => !list.some((o) => o !== c && o.prefixLength < c.prefixLength && covers(o, c)));
}

function covers(outer: Cidr, inner: Cidr): boolean {
  const ip = ipFromBytes(inner.bytes);
  return ip !== null && cidrContains(outer, ip);
}

function conflictKey(c: PeerConflict): string {
  switch (c.kind) {
    case 'missing-key':
    case 'invalid-key':
    case 'no-host-address':
      return `${c.kind} ${c.node}`;
    case 'duplicate-key':
      return `${c.kind} ${c.nodes.join(',')}`;
    case 'cidr-claimed-twice':
      return `${c.kind} ${c.cidr}`;
    default: {
      const never: never = c;
      return String(never);
    }
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
