// Names of our chains, sets and maps. nft identifiers (unquoted: nft 1.0.6 cannot quote them)
// allow letters, digits and `/ - _ .`; every name we make contains a `-`, so none can be an nft
// keyword. Policy and profile chains keep Calico's readable ids when they fit, else a hash.
import { createHash } from 'node:crypto';
import type { Direction, Family } from './program.js';

/** nft allows 256 bytes; keep room for prefixes. */
const MAX_READABLE = 200;
const SAFE = /^[A-Za-z0-9/_.-]+$/;

function shortHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 20);
}

function readableOrHash(prefix: string, text: string): string {
  return text.length <= MAX_READABLE && SAFE.test(text)
    ? `${prefix}${text}`
    : `${prefix}h-${shortHash(text)}`;
}

/** `pi-<id>` (ingress) / `po-<id>` (egress), as Felix's cali-pi-/cali-po-. */
export function policyChainName(renderedId: string, dir: Direction): string {
  return readableOrHash(dir === 'ingress' ? 'pi-' : 'po-', renderedId);
}

/** `pri-<profile>` / `pro-<profile>`. */
export function profileChainName(profile: string, dir: Direction): string {
  return readableOrHash(dir === 'ingress' ? 'pri-' : 'pro-', profile);
}

/** `tw-<iface>` (to the workload: its ingress) / `fw-<iface>` (from it: its egress). */
export function endpointChainName(iface: string, dir: Direction): string {
  return readableOrHash(dir === 'ingress' ? 'tw-' : 'fw-', iface);
}

// IP set names are asked for on every build; hashing is the cost, so keep the recent ones.
const setHashes = new Map<string, string>();
const SET_HASH_CACHE_LIMIT = 200_000;

/** One nft set per IP set and family: `ips-<hash of id>-4`. */
export function ipSetName(ipSetId: string, family: Family): string {
  let h = setHashes.get(ipSetId);
  if (h === undefined) {
    if (setHashes.size >= SET_HASH_CACHE_LIMIT) setHashes.clear();
    h = shortHash(ipSetId);
    setHashes.set(ipSetId, h);
  }
  return `ips-${h}-${family}`;
}

export const CHAIN_FORWARD = 'hook-forward';
export const CHAIN_INPUT = 'hook-input';
export const CHAIN_PREROUTING = 'hook-prerouting';
export const CHAIN_FROM_WL_DISPATCH = 'from-wl-dispatch';
export const CHAIN_TO_WL_DISPATCH = 'to-wl-dispatch';
/** Shared tails of a decision: set the accept or pass mark, or clear both, and return (mark chains). */
export const CHAIN_MARK_ACCEPT = 'mark-accept';
export const CHAIN_MARK_PASS = 'mark-pass';
export const CHAIN_MARK_RETURN = 'mark-clear-return';
export const MAP_FROM_WL = 'from-wl-map';
export const MAP_TO_WL = 'to-wl-map';
export const WG_PEERS_SET_PREFIX = 'wg-peer-cidrs-';

/** Valid interface names as the kernel allows them (IFNAMSIZ 16, no `/`, no whitespace). */
export function isValidIfaceName(name: string): boolean {
  return /^[A-Za-z0-9_.:-]{1,15}$/.test(name);
}

/** Text safe inside a double-quoted nft string (log prefixes, comments). */
export function quoteSafe(text: string, maxLength: number): string {
  return text.replace(/[^A-Za-z0-9 ./_:#=+-]/g, '_').slice(0, maxLength);
}
