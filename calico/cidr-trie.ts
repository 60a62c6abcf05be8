// A set of CIDRs answering "is this IP inside any of them?", for NET IP sets.
//
// Unlike Dikastes (spec §3), every prefix length matches: Calico's trie stops at a bitmap at depth
// 24 (v4) / 120 (v6), so /25–/31 and /121–/127 never match there. Here prefixes shorter than the
// full length live in a binary trie (one per family), and full-length host addresses — the bulk of
// a NET set, one per workload — live in hash sets (IPv4 as a 32-bit integer, which V8 stores
// inline; IPv6 as canonical text), which keeps memory flat instead of 32 or 128 trie nodes per
// address: Calico's production-scale store has about a million /32s.

import type { Cidr, Ip } from './ip.js';

interface TrieNode {
  /** A member prefix ends at this node. */
  member: boolean;
  zero: TrieNode | null;
  one: TrieNode | null;
}

function newNode(): TrieNode {
  return { member: false, zero: null, one: null };
}

function bitAt(bytes: Uint8Array, depth: number): number {
  return ((bytes[depth >> 3] as number) >> (7 - (depth & 7))) & 1;
}

export class CidrTrie {
  private readonly v4: TrieNode = newNode();
  private readonly v6: TrieNode = newNode();
  /** /32 members, as signed 32-bit integers (always small integers in V8: no heap allocation). */
  private readonly hostsV4 = new Set<number>();
  /** /128 members, by canonical text. */
  private readonly hostsV6 = new Set<string>();
  private prefixCount = 0;

  get size(): number {
    return this.prefixCount + this.hostsV4.size + this.hostsV6.size;
  }

  /** Adds a CIDR; adding one that is already present changes nothing. */
  add(c: Cidr): void {
    if (isHost(c)) {
      if (c.family === 4) this.hostsV4.add(v4Key(c.bytes));
      else this.hostsV6.add(v6HostKey(c));
      return;
    }
    let node = c.family === 4 ? this.v4 : this.v6;
    for (let depth = 0; depth < c.prefixLength; depth++) {
      if (bitAt(c.bytes, depth) === 0) node = node.zero ??= newNode();
      else node = node.one ??= newNode();
    }
    if (!node.member) {
      node.member = true;
      this.prefixCount++;
    }
  }

  /** Removes exactly this prefix (not the addresses it covers); false if it was not a member. */
  remove(c: Cidr): boolean {
    if (isHost(c))
      return c.family === 4 ? this.hostsV4.delete(v4Key(c.bytes)) : this.hostsV6.delete(v6HostKey(c));
    const root = c.family === 4 ? this.v4 : this.v6;
    const path: TrieNode[] = [root];
    let node: TrieNode | null = root;
    for (let depth = 0; depth < c.prefixLength && node !== null; depth++) {
      node = bitAt(c.bytes, depth) === 0 ? node.zero : node.one;
      if (node !== null) path.push(node);
    }
    if (node === null || !node.member) return false;
    node.member = false;
    this.prefixCount--;
    // Prune now-empty nodes bottom-up so a long-lived set does not accumulate dead branches.
    for (let depth = path.length - 1; depth > 0; depth--) {
      const child = path[depth] as TrieNode;
      if (child.member || child.zero !== null || child.one !== null) break;
      const parent = path[depth - 1] as TrieNode;
      if (parent.zero === child) parent.zero = null;
      else parent.one = null;
    }
    return true;
  }

  /** True if any member contains the IP. Walks at most 32/128 nodes and allocates nothing. */
  containsIp(ip: Ip): boolean {
    if (ip.family === 4 ? this.hostsV4.has(v4Key(ip.bytes)) : this.hostsV6.has(ip.text)) return true;
    let node: TrieNode | null = ip.family === 4 ? this.v4 : this.v6;
    const bits = ip.bytes.length * 8;
    for (let depth = 0; node !== null; depth++) {
      if (node.member) return true;
      if (depth === bits) return false;
      node = bitAt(ip.bytes, depth) === 0 ? node.zero : node.one;
    }
    return false;
  }

  /** True if the trie holds no nodes besides its roots (used by tests to check pruning). */
  get isPruned(): boolean {
    return (
      this.prefixCount === 0 &&
      this.v4.zero === null &&
      this.v4.one === null &&
      this.v6.zero === null &&
      this.v6.one === null
    );
  }
}

function isHost(c: Cidr): boolean {
  return c.prefixLength === c.bytes.length * 8;
}

function v4Key(bytes: Uint8Array): number {
  return (bytes[0]! << 24) | (bytes[1]! << 16) | (bytes[2]! << 8) | bytes[3]! | 0;
}

// A /128's text is its address text plus "/128"; the address part equals the Ip.text of that
// address, since both come from the same canonical formatter.
function v6HostKey(c: Cidr): string {
  return c.text.slice(0, c.text.lastIndexOf('/'));
}
