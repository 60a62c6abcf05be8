// The peer table's data: what computePeerTable takes and returns (spec §4.4). In a file of its own
// so the full and incremental computations and node-facts.ts share them without an import loop.
import type { IpFamily } from '../../calico/ip.js';
import type { IpamBlockInfo, NodeInfo } from './node-info.js';

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
