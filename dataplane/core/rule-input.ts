// felix.Rule as the renderer receives it → the calico Rule model. Accepts both shapes a Rule
// object can have here: the proto-loader input objects the agent builds (oneof members set, no
// discriminator) and decoded messages (with `number_or_name`, `icmp`, `not_icmp`).
import type { Rule } from '../../calico/rule.js';
import { ruleFromWire } from '../../calico/rule-wire.js';
import type { Protocol } from '../../proto/gen/felix/Protocol.js';
import type { Rule as RuleWire, Rule__Output } from '../../proto/gen/felix/Rule.js';

function withProtocolDiscriminator(p: Protocol | null | undefined): Protocol | null {
  if (p == null) return null;
  if (p.number_or_name !== undefined) return p;
  if (typeof p.number === 'number') return { ...p, number_or_name: 'number' };
  if (typeof p.name === 'string') return { ...p, number_or_name: 'name' };
  return p;
}

/** Decodes one rule; never throws (odd values narrow as calico/rule-wire.ts does). */
export function decodeRule(wire: RuleWire | Rule__Output): Rule {
  const w = wire as RuleWire;
  const normalised = {
    ...w,
    protocol: withProtocolDiscriminator(w.protocol),
    not_protocol: withProtocolDiscriminator(w.not_protocol),
    icmp:
      w.icmp ?? (w.icmp_type_code != null ? 'icmp_type_code' : w.icmp_type != null ? 'icmp_type' : undefined),
    not_icmp:
      w.not_icmp ??
      (w.not_icmp_type_code != null
        ? 'not_icmp_type_code'
        : w.not_icmp_type != null
          ? 'not_icmp_type'
          : undefined),
  };
  return ruleFromWire(normalised as unknown as Rule__Output);
}

export function decodeRules(list: readonly (RuleWire | Rule__Output)[] | null | undefined): Rule[] {
  return (list ?? []).map(decodeRule);
}
