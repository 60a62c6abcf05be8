// A policy's or profile's inbound rules already in the Rule model: a PolicySync reader that
// decoded the message itself (sidecar/policy-sync-rules-wire.ts) attaches them to the Policy or
// Profile it returns, beside the usual proto-loader fields, so the store skips ruleFromWire and the
// proto-loader objects (about 20,000 rules in a production snapshot).
import type { Rule } from '../calico/rule.js';

/** The property under which a decoded Policy or Profile carries its inbound rules as Rules. */
export const INBOUND_RULES: unique symbol = Symbol('inbound rules as Rule models');

export function inboundRulesOf(policyOrProfile: object): readonly Rule[] | undefined {
  return (policyOrProfile as { [INBOUND_RULES]?: readonly Rule[] })[INBOUND_RULES];
}
