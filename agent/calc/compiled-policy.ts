// A policy ready for the calculation: where it sits (tier, order, selector), the IP sets its
// rules reference, and its PolicySync encoding, built once per policy revision.
import type { IpSetSpec } from '../../calico/policy-to-rules.js';
import type { Rule } from '../../calico/rule.js';
import { policyToRules } from '../../calico/policy-to-rules.js';
import { isStagedKind, policyKey } from '../../calico/policy-id.js';
import type { PolicySpec } from '../../calico/resources.js';
import type { PolicyPlacement } from './endpoint-policies.js';
import type { PolicyWire } from './to-dataplane.js';
import { policyWire } from './to-dataplane.js';

export interface CompiledPolicy extends PolicyPlacement {
  readonly key: string;
  readonly spec: PolicySpec;
  readonly ipSets: readonly IpSetSpec[];
  /** The rules `wire` encodes, as the model: the node's kernel renderer reads these. */
  readonly rules: PolicyRules;
  readonly wire: PolicyWire;
  readonly isStaged: boolean;
}

export interface PolicyRules {
  readonly inbound: readonly Rule[];
  readonly outbound: readonly Rule[];
}

export type CompileResult =
  { readonly ok: true; readonly policy: CompiledPolicy } | { readonly ok: false; readonly reason: string };

export function compilePolicy(spec: PolicySpec): CompileResult {
  const converted = policyToRules(spec);
  if (!converted.ok) return converted;
  const rules = converted.value;
  return {
    ok: true,
    policy: {
      key: policyKey(spec.id),
      id: spec.id,
      spec,
      tier: spec.tier,
      order: spec.order,
      endpointSelector: rules.endpointSelector,
      governsIngress: spec.types.includes('Ingress'),
      governsEgress: spec.types.includes('Egress'),
      inNormalTiers: !spec.doNotTrack && !spec.preDNAT,
      ipSets: rules.ipSets,
      rules: { inbound: rules.inbound, outbound: rules.outbound },
      isStaged: isStagedKind(spec.id.kind),
      wire: policyWire({
        inbound: rules.inbound,
        outbound: rules.outbound,
        namespace: spec.id.namespace,
        tier: spec.tier,
        originalSelector: rules.endpointSelector.toString(),
        untracked: spec.doNotTrack,
        preDNAT: spec.preDNAT,
      }),
    },
  };
}
