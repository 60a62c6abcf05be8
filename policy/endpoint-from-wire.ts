// felix.WorkloadEndpoint → what a Check walks: the ingress side of each tier, in Felix's order, and
// the profile ids. Dikastes uses nothing else from the endpoint (spec §2.1).
import { isStagedKind, policyKey, renderPolicyId } from '../calico/policy-id.js';
import type { PolicyId } from '../calico/policy-id.js';
import type { CompiledEndpoint, CompiledTier, CompiledTierPolicy } from './compiled.js';
import type { PolicyID__Output } from '../proto/gen/felix/PolicyID.js';
import type { WorkloadEndpoint__Output } from '../proto/gen/felix/WorkloadEndpoint.js';
import { asList, asString } from '../calico/spec-fields.js';

/** PolicyID from the wire; absent fields read as "", as Go's getters do. */
export function policyIdFromWire(id: PolicyID__Output): PolicyId {
  return { name: asString(id.name), namespace: asString(id.namespace), kind: asString(id.kind) };
}

function tierPolicy(wire: PolicyID__Output | null | undefined): CompiledTierPolicy {
  const id = policyIdFromWire(wire ?? { name: '', namespace: '', kind: '' });
  return { key: policyKey(id), rendered: renderPolicyId(id), staged: isStagedKind(id.kind) };
}

export function endpointFromWire(ep: WorkloadEndpoint__Output): CompiledEndpoint {
  const tiers: CompiledTier[] = asList<WorkloadEndpoint__Output['tiers'][number]>(ep.tiers).map((t) => ({
    name: asString(t?.name),
    // Unlike Dikastes (exact "Pass", and INVALID_ARGUMENT for unparsable values), any casing of
    // "pass" continues and everything else denies (spec §8 item 6).
    defaultPass: asString(t?.default_action).toLowerCase() === 'pass',
    ingress: asList<PolicyID__Output>(t?.ingress_policies).map(tierPolicy),
  }));
  const profileIds = asList<unknown>(ep.profile_ids).filter((p): p is string => typeof p === 'string');
  const hasStaged = tiers.some((t) => t.ingress.some((p) => p.staged));
  return { tiers, profileIds, hasStaged };
}
