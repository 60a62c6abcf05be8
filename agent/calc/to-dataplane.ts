// The agent's PolicySync codec: builds the felix.ToDataplane messages (proto-loader input
// objects) that the per-stream diff sends. The only agent file that knows the wire shapes.
import { createHash } from 'node:crypto';
import type { Labels } from '../../calico/labels.js';
import type { PolicyId } from '../../calico/policy-id.js';
import type { Rule } from '../../calico/rule.js';
import { emptyRule } from '../../calico/rule.js';
import { ruleToWire } from '../../calico/rule-wire.js';
import type { Policy as PolicyWire } from '../../proto/gen/felix/Policy.js';
import type { Profile as ProfileWire } from '../../proto/gen/felix/Profile.js';
import type { TierInfo as TierInfoWire } from '../../proto/gen/felix/TierInfo.js';
import type { ToDataplane } from '../../proto/gen/felix/ToDataplane.js';
import type { WorkloadEndpoint as WorkloadEndpointWire } from '../../proto/gen/felix/WorkloadEndpoint.js';

export type { PolicyWire, ProfileWire, ToDataplane, WorkloadEndpointWire };

/** Felix splits IP sets so each message stays under gRPC's default 4 MiB (processor.go). */
export const MAX_MEMBERS_PER_MESSAGE = 82_200;

export type IpSetType = 'NET' | 'IP_AND_PORT' | 'IP';

export interface PolicyWireInput {
  readonly inbound: readonly Rule[];
  readonly outbound: readonly Rule[];
  readonly namespace: string;
  readonly tier: string;
  readonly originalSelector: string;
  readonly untracked: boolean;
  readonly preDNAT: boolean;
}

export function policyWire(p: PolicyWireInput): PolicyWire {
  return {
    inbound_rules: p.inbound.map(ruleToWire),
    outbound_rules: p.outbound.map(ruleToWire),
    untracked: p.untracked,
    pre_dnat: p.preDNAT,
    namespace: p.namespace,
    original_selector: p.originalSelector,
    tier: p.tier,
  };
}

/** kns.<namespace>: allow everything in both directions. */
export const ALLOW_ALL_PROFILE: ProfileWire = {
  inbound_rules: [ruleToWire(emptyRule('allow'))],
  outbound_rules: [ruleToWire(emptyRule('allow'))],
};

/** ksa.<namespace>.<sa>: labels only, no rules. */
export const NO_RULES_PROFILE: ProfileWire = { inbound_rules: [], outbound_rules: [] };

export interface TierInput {
  readonly name: string;
  readonly defaultAction: string;
  readonly ingress: readonly PolicyId[];
  readonly egress: readonly PolicyId[];
}

export interface EndpointInput {
  readonly namespace: string;
  readonly name: string;
  readonly ips: readonly string[];
  readonly profileIds: readonly string[];
  readonly tiers: readonly TierInput[];
}

export function workloadEndpointWire(e: EndpointInput): WorkloadEndpointWire {
  const tiers: TierInfoWire[] = e.tiers.map((t) => ({
    name: t.name,
    ingress_policies: t.ingress.map(policyIdWire),
    egress_policies: t.egress.map(policyIdWire),
    default_action: t.defaultAction,
  }));
  return {
    state: 'active',
    name: interfaceName(e.namespace, e.name),
    mac: '',
    profile_ids: [...e.profileIds],
    ipv4_nets: e.ips.filter((ip) => !ip.includes(':')).map((ip) => `${ip}/32`),
    ipv6_nets: e.ips.filter((ip) => ip.includes(':')).map((ip) => `${ip}/128`),
    tiers,
  };
}

/** Calico's host-side veth name for a pod: `cali` + the first 11 hex digits of SHA-1(ns.pod). */
export function interfaceName(namespace: string, pod: string): string {
  return `cali${createHash('sha1').update(`${namespace}.${pod}`).digest('hex').slice(0, 11)}`;
}

function policyIdWire(id: PolicyId) {
  return { name: id.name, namespace: id.namespace, kind: id.kind };
}

function endpointIdWire(workloadId: string) {
  return { orchestrator_id: 'k8s', workload_id: workloadId, endpoint_id: 'eth0' };
}

/** A full IP set: one IPSetUpdate, then IPSetDeltaUpdates for members past the first chunk. */
export function ipSetUpdateMessages(id: string, type: IpSetType, members: Iterable<string>): ToDataplane[] {
  const all = [...members];
  const out: ToDataplane[] = [{ ipset_update: { id, type, members: all.slice(0, MAX_MEMBERS_PER_MESSAGE) } }];
  for (let i = MAX_MEMBERS_PER_MESSAGE; i < all.length; i += MAX_MEMBERS_PER_MESSAGE) {
    out.push({
      ipset_delta_update: {
        id,
        added_members: all.slice(i, i + MAX_MEMBERS_PER_MESSAGE),
        removed_members: [],
      },
    });
  }
  return out;
}

/** Membership changes, each message holding at most MAX_MEMBERS_PER_MESSAGE adds and removes. */
export function ipSetDeltaMessages(
  id: string,
  added: readonly string[],
  removed: readonly string[],
): ToDataplane[] {
  const out: ToDataplane[] = [];
  for (let i = 0; i < Math.max(added.length, removed.length); i += MAX_MEMBERS_PER_MESSAGE) {
    out.push({
      ipset_delta_update: {
        id,
        added_members: added.slice(i, i + MAX_MEMBERS_PER_MESSAGE),
        removed_members: removed.slice(i, i + MAX_MEMBERS_PER_MESSAGE),
      },
    });
  }
  return out;
}

export const ipSetRemove = (id: string): ToDataplane => ({ ipset_remove: { id } });

export const policyUpdate = (id: PolicyId, policy: PolicyWire): ToDataplane => ({
  active_policy_update: { id: policyIdWire(id), policy },
});

export const policyRemove = (id: PolicyId): ToDataplane => ({
  active_policy_remove: { id: policyIdWire(id) },
});

export const profileUpdate = (name: string, profile: ProfileWire): ToDataplane => ({
  active_profile_update: { id: { name }, profile },
});

export const profileRemove = (name: string): ToDataplane => ({ active_profile_remove: { id: { name } } });

export const endpointUpdate = (workloadId: string, endpoint: WorkloadEndpointWire): ToDataplane => ({
  workload_endpoint_update: { id: endpointIdWire(workloadId), endpoint },
});

export const endpointRemove = (workloadId: string): ToDataplane => ({
  workload_endpoint_remove: { id: endpointIdWire(workloadId) },
});

export const serviceAccountUpdate = (namespace: string, name: string, labels: Labels): ToDataplane => ({
  service_account_update: { id: { namespace, name }, labels: Object.fromEntries(labels) },
});

export const serviceAccountRemove = (namespace: string, name: string): ToDataplane => ({
  service_account_remove: { id: { namespace, name } },
});

export const namespaceUpdate = (name: string, labels: Labels): ToDataplane => ({
  namespace_update: { id: { name }, labels: Object.fromEntries(labels) },
});

export const namespaceRemove = (name: string): ToDataplane => ({ namespace_remove: { id: { name } } });

export const inSync = (): ToDataplane => ({ in_sync: {} });

/** The oneof member a message carries, for logs and tests. */
export function payloadKind(m: ToDataplane): string {
  for (const k of Object.keys(m)) if (k !== 'sequence_number' && k !== 'payload') return k;
  return 'none';
}
