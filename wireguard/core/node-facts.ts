// What the full and the incremental peer-table computations share: the per-node facts (parsed
// once per Node object), a node's CIDRs after IPAM blocks and covering, the per-node outcome
// (routes, peer, conflict) given the global claims, the memo the caller keeps, and the orderings.
// Pure; the memo is plain data the caller owns.
import { cidrContains, ipFromBytes, parseCidr, parseIp, type Cidr } from '../../calico/ip.js';
import { isWireguardKey } from './keys.js';
import { familyInfo, type IpamBlockInfo, type NodeInfo } from './node-info.js';
import type { Peer, PeerConflict, PeerTable, PeerTableInput, TableRoute } from './peer-table-types.js';

export interface NodeFacts {
  /** The node's own CIDRs of the family (pod CIDRs, interface address, host addresses with host encryption). */
  readonly cidrs: readonly Cidr[];
  readonly key: 'missing' | 'invalid' | 'valid';
  readonly hasHostAddress: boolean;
}

/**
 * Everything the last computation derived, so the next one can redo only the nodes a change
 * touches. Maps are keyed by node name; claims by CIDR text; key owners by public key.
 */
export interface TableState {
  /** The scalar inputs (family, identity, port, keepalive, host encryption) as one string. */
  readonly params: string;
  readonly blocks: readonly IpamBlockInfo[];
  /** Parsed block CIDRs of the family, in block order, by affine node. */
  readonly blocksByNode: ReadonlyMap<string, readonly Cidr[]>;
  /** The node list of the last input, in its order (an update walks the new one beside it). */
  nodes: readonly NodeInfo[];
  readonly byName: Map<string, NodeInfo>;
  readonly facts: Map<string, NodeFacts>;
  /** Each node's CIDRs after blocks were added and covered ones dropped. */
  readonly kept: Map<string, readonly Cidr[]>;
  readonly claims: Map<string, string[]>;
  readonly keyOwners: Map<string, string[]>;
  result: PeerTable;
}

/**
 * Memo of the parsing work (per Node and block object) and of the last computation. Objects from
 * the informers are replaced, never mutated, when a resource changes, so identity is a safe key.
 */
export class PeerTableCache {
  readonly nodes = new WeakMap<NodeInfo, Map<string, NodeFacts>>();
  readonly blocks = new WeakMap<IpamBlockInfo, Cidr | null>();
  /** The last full or incremental result with what it was derived from; null before the first. */
  last: TableState | null = null;
  /**
   * How the last result differs from the one before it when it was patched (peer-table-update.ts);
   * null after a full computation, when only a full comparison can tell.
   */
  lastChange: PeerTableChange | null = null;
}

/** The peers and routes a patched table dropped and (re)computed; unchanged ones are in neither. */
export interface PeerTableChange {
  /** Old entries of every redone node, some of which may come back unchanged in `peersAdded`. */
  readonly peersRemoved: readonly Peer[];
  readonly peersAdded: readonly Peer[];
  readonly routesRemoved: readonly TableRoute[];
  readonly routesAdded: readonly TableRoute[];
}

export function paramsKey(input: PeerTableInput): string {
  return [
    input.family,
    input.selfName,
    input.selfPublicKey,
    input.listenPort,
    input.persistentKeepaliveSeconds,
    input.hostEncryptionEnabled,
  ].join('|');
}

export function cachedFacts(node: NodeInfo, input: PeerTableInput, cache: PeerTableCache): NodeFacts {
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

export function nodeFacts(node: NodeInfo, input: PeerTableInput, interfaceAddress: string | null): NodeFacts {
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

/** Block CIDRs of the family by affine node, parsed once per block object. */
export function blocksByNode(input: PeerTableInput, cache: PeerTableCache): Map<string, Cidr[]> {
  const byNode = new Map<string, Cidr[]>();
  for (const block of input.blocks) {
    if (block.node === null) continue;
    let c = cache.blocks.get(block);
    if (c === undefined) {
      c = parseCidr(block.cidr);
      cache.blocks.set(block, c);
    }
    if (c === null || c.family !== input.family) continue;
    const list = byNode.get(block.node);
    if (list === undefined) byNode.set(block.node, [c]);
    else list.push(c);
  }
  return byNode;
}

/** A node's own CIDRs plus its blocks' (no duplicates), minus those covered by another of them. */
export function keptCidrs(own: readonly Cidr[], blocks: readonly Cidr[] | undefined): readonly Cidr[] {
  let list = own;
  for (const c of blocks ?? []) {
    if (!list.some((x) => x.text === c.text)) list = [...list, c];
  }
  return list.length > 1 ? dropCovered(list) : list;
}

/** Drops CIDRs strictly inside another CIDR of the same list (e.g. a /32 inside its /24). */
function dropCovered(list: readonly Cidr[]): readonly Cidr[] {
  return list.filter((c) => !list.some((o) => o !== c && o.prefixLength < c.prefixLength && covers(o, c)));
}

function covers(outer: Cidr, inner: Cidr): boolean {
  const ip = ipFromBytes(inner.bytes);
  return ip !== null && cidrContains(outer, ip);
}

export interface NodeOutcome {
  readonly routes: TableRoute[];
  readonly peer: Peer | null;
  readonly conflict: PeerConflict | null;
}

/**
 * One node's routes (its uncontested CIDRs: via the device if it is a peer, else throw), its peer
 * entry, and the conflict that keeps it out of the mesh, if that is about the node alone.
 */
export function nodeOutcome(
  node: NodeInfo,
  isSelf: boolean,
  facts: NodeFacts,
  kept: readonly Cidr[],
  claims: ReadonlyMap<string, readonly string[]>,
  keyOwners: ReadonlyMap<string, readonly string[]>,
  input: PeerTableInput,
): NodeOutcome {
  const texts: string[] = [];
  for (const c of kept) if ((claims.get(c.text)?.length ?? 0) < 2) texts.push(c.text);
  let conflict: PeerConflict | null = null;
  let eligible = false;
  const info = familyInfo(node, input.family);
  if (isSelf) eligible = false;
  else if (facts.key !== 'valid')
    conflict = { kind: facts.key === 'missing' ? 'missing-key' : 'invalid-key', node: node.name };
  else if (!facts.hasHostAddress) conflict = { kind: 'no-host-address', node: node.name };
  else eligible = (keyOwners.get(info.publicKey as string) ?? []).length === 1;
  const routes = texts.map((dst) => ({ dst, target: eligible ? ('device' as const) : ('throw' as const) }));
  if (!eligible) return { routes, peer: null, conflict };
  const host = info.hostAddress as string;
  return {
    routes,
    peer: {
      node: node.name,
      publicKey: info.publicKey as string,
      endpoint: input.family === 4 ? `${host}:${input.listenPort}` : `[${host}]:${input.listenPort}`,
      allowedIps: texts.length > 1 ? texts.sort(compare) : texts,
      persistentKeepaliveSeconds: input.persistentKeepaliveSeconds,
    },
    conflict,
  };
}

export function conflictKey(c: PeerConflict): string {
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

export function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
