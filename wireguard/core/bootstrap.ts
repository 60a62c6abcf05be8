// Felix's start-up bootstrap (spec §2.6), decided per family before any watch starts: a node must
// not leave a published key or a device behind that its peers would route into while it cannot
// answer. Pure: facts in, what to remove out; the controller and reconciler carry it out.
//
// Felix keeps the private key only in the kernel device, so "the key we hold" is the device's.
// We keep it in a key file (key-store.ts), so the comparisons are against the file's key, and a
// missing device is no sign of staleness (it is recreated with the same key). Felix checks an
// enabled family only with host encryption on; we check always: a stale published key makes
// peers encrypt to a key nobody holds, which black-holes pod traffic too, and the check costs one
// read of our Node that start-up makes anyway.

export interface BootstrapFacts {
  readonly enabled: boolean;
  /** The public key of the key we hold. */
  readonly ourPublicKey: string;
  /** Our Node's published key for the family; null when there is none. */
  readonly publishedKey: string | null;
  /** The link with our interface name; null when there is none. Its key is null when unreadable. */
  readonly device: { readonly publicKey: string | null } | null;
}

export interface BootstrapDecision {
  /** Tear the device down as disabling would (rule, link, leftover routes). */
  readonly removeDevice: boolean;
  /** Remove our published key, so peers stop routing to us until we publish the right one. */
  readonly clearPublishedKey: boolean;
  /** Why, for the log; null when nothing is stale. */
  readonly reason: string | null;
}

const NOTHING: BootstrapDecision = { removeDevice: false, clearPublishedKey: false, reason: null };

export function bootstrapDecision(f: BootstrapFacts): BootstrapDecision {
  if (!f.enabled) {
    const removeDevice = f.device !== null;
    const clearPublishedKey = f.publishedKey !== null;
    return removeDevice || clearPublishedKey
      ? { removeDevice, clearPublishedKey, reason: 'WireGuard is disabled for this family' }
      : NOTHING;
  }
  const staleKey = f.publishedKey !== null && f.publishedKey !== f.ourPublicKey;
  const staleDevice = f.device !== null && f.device.publicKey !== f.ourPublicKey;
  if (staleKey) {
    // As in Felix, the device goes too: peers know it by a key it may not hold.
    return {
      removeDevice: f.device !== null,
      clearPublishedKey: true,
      reason: 'the published key is not the key this node holds',
    };
  }
  if (staleDevice) {
    return { removeDevice: true, clearPublishedKey: false, reason: 'the device holds another key' };
  }
  return NOTHING;
}

export interface TyphaEndpoint {
  /** `host:port`. */
  readonly addr: string;
  /** The node the Typha pod runs on, when known. */
  readonly nodeName: string | null;
}

/** A node's published key for the family: null when it has none; `failed` when the lookup failed. */
export type PublishedKeyLookup = (nodeName: string) => string | null | 'failed';

export interface TyphaFilterResult {
  readonly endpoints: readonly TyphaEndpoint[];
  /** Every endpoint would be dropped: remove device and key and use the unfiltered list (step 8). */
  readonly removeWireguard: boolean;
}

/**
 * Felix's Typha filter (spec §2.6 steps 7-8), for a device that is consistent with our published
 * key: drop a Typha only when its node has a key that is not among the device's peers, since we
 * would route to it through WireGuard while it cannot decrypt. alp-node talks to the API server
 * directly and has no Typha list to filter; this is the rule for a client that does.
 */
export function filterTyphaEndpoints(
  endpoints: readonly TyphaEndpoint[],
  selfName: string,
  devicePeerKeys: ReadonlySet<string>,
  publishedKeyOf: PublishedKeyLookup,
): TyphaFilterResult {
  if (endpoints.length === 0) return { endpoints, removeWireguard: false };
  const kept = endpoints.filter((e) => {
    if (e.nodeName === null || e.nodeName === selfName) return true;
    const key = publishedKeyOf(e.nodeName);
    return key === 'failed' || key === null || devicePeerKeys.has(key);
  });
  return kept.length === 0
    ? { endpoints, removeWireguard: true }
    : { endpoints: kept, removeWireguard: false };
}
