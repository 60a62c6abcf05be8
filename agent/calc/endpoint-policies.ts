// Which policies apply to a workload endpoint, and in what order Felix lists them: tiers by
// order then name (tiers without a Tier resource last), policies by order then name
// (felix/calc/policy_sorter.go, event_sequencer.go tierInfoToProtoTierInfo).
import type { PolicyId } from '../../calico/policy-id.js';
import type { TierSpec } from '../../calico/resources.js';
import { DEFAULT_TIER, DEFAULT_TIER_ORDER } from '../../calico/resources.js';
import type { Selector } from '../../calico/selector/index.js';
import { compareCodePoints } from '../../calico/selector/index.js';
import type { TierInput } from './to-dataplane.js';

/** What ordering and selection need to know about one policy. */
export interface PolicyPlacement {
  readonly id: PolicyId;
  readonly tier: string;
  readonly order: number | null;
  readonly endpointSelector: Selector;
  readonly governsIngress: boolean;
  readonly governsEgress: boolean;
  /** doNotTrack and preDNAT policies go to Felix's untracked/pre-DNAT tiers, not the endpoint's. */
  readonly inNormalTiers: boolean;
}

/** Calico creates the default tier itself, so it exists even without a Tier resource. */
export const IMPLICIT_DEFAULT_TIER: TierSpec = {
  name: DEFAULT_TIER,
  order: DEFAULT_TIER_ORDER,
  defaultAction: 'Deny',
};

interface TierKey {
  readonly name: string;
  readonly spec: TierSpec | null;
}

/** Felix's TierLess: tiers that exist first, then by order (none = last), then by name. */
export function compareTiers(a: TierKey, b: TierKey): number {
  if ((a.spec === null) !== (b.spec === null)) return a.spec === null ? 1 : -1;
  const c = compareOrders(a.spec?.order ?? null, b.spec?.order ?? null);
  return c !== 0 ? c : compareCodePoints(a.name, b.name);
}

/** Felix's PolKVLess: by order (none = +Inf), then by `name/namespace/kind`. */
export function comparePolicies(a: PolicyPlacement, b: PolicyPlacement): number {
  const c = compareOrders(a.order, b.order);
  if (c !== 0) return c;
  return compareCodePoints(
    `${a.id.name}/${a.id.namespace}/${a.id.kind}`,
    `${b.id.name}/${b.id.namespace}/${b.id.kind}`,
  );
}

function compareOrders(a: number | null, b: number | null): number {
  const x = a ?? Number.POSITIVE_INFINITY;
  const y = b ?? Number.POSITIVE_INFINITY;
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * The endpoint's tier list, as sent in WorkloadEndpoint.tiers. A tier without a Tier resource
 * gets an empty default action, as Felix sends it. The sidecar treats anything but "pass" as
 * deny when no policy in the tier matches (Dikastes would answer INVALID_ARGUMENT; both fail
 * closed; spec §8 item 6).
 */
export function orderTiers(
  policies: Iterable<PolicyPlacement>,
  tiers: ReadonlyMap<string, TierSpec>,
): TierInput[] {
  const byTier = new Map<string, PolicyPlacement[]>();
  for (const p of policies) {
    if (!p.inNormalTiers) continue;
    const list = byTier.get(p.tier);
    if (list === undefined) byTier.set(p.tier, [p]);
    else list.push(p);
  }
  const keys: TierKey[] = [...byTier.keys()].map((name) => ({
    name,
    spec: tiers.get(name) ?? (name === DEFAULT_TIER ? IMPLICIT_DEFAULT_TIER : null),
  }));
  keys.sort(compareTiers);
  const out: TierInput[] = [];
  for (const key of keys) {
    const sorted = (byTier.get(key.name) ?? []).sort(comparePolicies);
    const ingress = sorted.filter((p) => p.governsIngress).map((p) => p.id);
    const egress = sorted.filter((p) => p.governsEgress).map((p) => p.id);
    if (ingress.length === 0 && egress.length === 0) continue;
    out.push({ name: key.name, defaultAction: key.spec?.defaultAction ?? '', ingress, egress });
  }
  return out;
}
