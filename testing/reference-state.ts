// The reference interpreter's store: the PolicySync payloads of spec §2.5 applied to plain maps,
// with no compilation. Used only to cross-check PolicyStore + decide in property tests.
import { labelsFromObject } from '../calico/labels.js';
import type { Labels } from '../calico/labels.js';
import { policyKey } from '../calico/policy-id.js';
import type { Rule } from '../calico/rule.js';
import { ruleFromWire } from '../calico/rule-wire.js';
import type { ToDataplane__Output } from '../proto/gen/felix/ToDataplane.js';
import type { WorkloadEndpoint__Output } from '../proto/gen/felix/WorkloadEndpoint.js';
import { createIpSet } from '../policy/ip-set.js';
import type { IpSet, IpSetType } from '../policy/ip-set.js';

export interface ReferenceState {
  endpoint: WorkloadEndpoint__Output | null;
  readonly policies: Map<string, { namespace: string; rules: Rule[] } | null>;
  readonly profiles: Map<string, Rule[] | null>;
  readonly ipSets: Map<string, IpSet>;
  /** By `namespace/name`. */
  readonly serviceAccounts: Map<string, Labels>;
  readonly namespaces: Map<string, Labels>;
}

const IP_SET_TYPES: Readonly<Record<string, IpSetType>> = {
  IP: 'IP',
  IP_AND_PORT: 'IP_AND_PORT',
  NET: 'NET',
  '0': 'IP',
  '1': 'IP_AND_PORT',
  '2': 'NET',
};

function applyOne(s: ReferenceState, m: ToDataplane__Output): void {
  if (m.ipset_update != null) {
    const type = IP_SET_TYPES[String(m.ipset_update.type)];
    if (type === undefined || m.ipset_update.id === '') return;
    const set = createIpSet(type);
    for (const member of m.ipset_update.members) set.add(member);
    s.ipSets.set(m.ipset_update.id, set);
  } else if (m.ipset_delta_update != null) {
    const set = s.ipSets.get(m.ipset_delta_update.id);
    if (set === undefined) return;
    for (const member of m.ipset_delta_update.added_members) set.add(member);
    for (const member of m.ipset_delta_update.removed_members) set.remove(member);
  } else if (m.ipset_remove != null) {
    s.ipSets.delete(m.ipset_remove.id);
  } else if (m.active_policy_update?.id != null) {
    const p = m.active_policy_update.policy;
    s.policies.set(
      policyKey(m.active_policy_update.id),
      p == null ? null : { namespace: p.namespace, rules: p.inbound_rules.map(ruleFromWire) },
    );
  } else if (m.active_policy_remove?.id != null) {
    s.policies.delete(policyKey(m.active_policy_remove.id));
  } else if (m.active_profile_update?.id != null) {
    const p = m.active_profile_update.profile;
    s.profiles.set(m.active_profile_update.id.name, p == null ? null : p.inbound_rules.map(ruleFromWire));
  } else if (m.active_profile_remove?.id != null) {
    s.profiles.delete(m.active_profile_remove.id.name);
  } else if (m.payload === 'workload_endpoint_update') {
    s.endpoint = m.workload_endpoint_update?.endpoint ?? null;
  } else if (m.payload === 'workload_endpoint_remove') {
    s.endpoint = null;
  } else if (m.service_account_update?.id != null) {
    const id = m.service_account_update.id;
    s.serviceAccounts.set(`${id.namespace}/${id.name}`, labelsFromObject(m.service_account_update.labels));
  } else if (m.service_account_remove?.id != null) {
    const id = m.service_account_remove.id;
    s.serviceAccounts.delete(`${id.namespace}/${id.name}`);
  } else if (m.namespace_update?.id != null) {
    s.namespaces.set(m.namespace_update.id.name, labelsFromObject(m.namespace_update.labels));
  } else if (m.namespace_remove?.id != null) {
    s.namespaces.delete(m.namespace_remove.id.name);
  }
}

export function referenceState(messages: readonly ToDataplane__Output[]): ReferenceState {
  const s: ReferenceState = {
    endpoint: null,
    policies: new Map(),
    profiles: new Map(),
    ipSets: new Map(),
    serviceAccounts: new Map(),
    namespaces: new Map(),
  };
  for (const m of messages) applyOne(s, m);
  return s;
}
