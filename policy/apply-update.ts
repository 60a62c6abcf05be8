// How each PolicySync payload changes the store (spec §2.5). Bad data never throws: a message
// without its id is rejected with a reason, a malformed IP-set member is skipped with a warning.
import { labelsFromObject } from '../calico/labels.js';
import { policyKey } from '../calico/policy-id.js';
import type { Rule } from '../calico/rule.js';
import { ruleFromWire } from '../calico/rule-wire.js';
import type { IPSetDeltaUpdate__Output } from '../proto/gen/felix/IPSetDeltaUpdate.js';
import type { IPSetUpdate__Output } from '../proto/gen/felix/IPSetUpdate.js';
import type { Rule__Output } from '../proto/gen/felix/Rule.js';
import type { ToDataplane__Output } from '../proto/gen/felix/ToDataplane.js';
import { endpointFromWire, policyIdFromWire } from './endpoint-from-wire.js';
import { createIpSet } from './ip-set.js';
import type { IpSet, IpSetType } from './ip-set.js';
import type { StoreState } from './store-state.js';
import { NetSet } from './net-set.js';
import { WIRE_MEMBERS, type WireMembers } from './wire-members.js';
import { inboundRulesOf } from './wire-rules.js';
import { asString } from '../calico/spec-fields.js';

export type ApplyResult =
  | { readonly ok: true; readonly warnings: readonly string[] }
  | { readonly ok: false; readonly reason: string };

const NO_WARNINGS: readonly string[] = [];
const MAX_MEMBER_WARNINGS = 10;

function ok(warnings: readonly string[] = NO_WARNINGS): ApplyResult {
  return { ok: true, warnings };
}

function reject(reason: string): ApplyResult {
  return { ok: false, reason };
}

/** Collects member warnings, keeping the first few and counting the rest. */
class MemberWarnings {
  readonly #lines: string[] = [];
  #extra = 0;

  constructor(private readonly setId: string) {}

  add(member: string, reason: string): void {
    if (this.#lines.length < MAX_MEMBER_WARNINGS) {
      this.#lines.push(
        `IP set ${JSON.stringify(this.setId)}: member ${JSON.stringify(member)} skipped: ${reason}`,
      );
    } else {
      this.#extra++;
    }
  }

  result(): readonly string[] {
    if (this.#extra > 0)
      this.#lines.push(`IP set ${JSON.stringify(this.setId)}: ${this.#extra} more malformed members skipped`);
    return this.#lines.length === 0 ? NO_WARNINGS : this.#lines;
  }
}

function addMembers(set: IpSet, members: unknown, warnings: MemberWarnings): void {
  if (!Array.isArray(members)) return;
  for (const m of members as unknown[]) {
    if (typeof m !== 'string') continue;
    const bad = set.add(m);
    if (bad !== null) warnings.add(m, bad);
  }
}

/** addMembers, from the bytes the members arrived in (a NET set's plain members make no string). */
function addWireMembers(set: IpSet, wire: WireMembers, warnings: MemberWarnings): void {
  const { buf, offsets } = wire;
  const bytes = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const net = set instanceof NetSet ? set : null;
  net?.reserveV4Hosts(offsets.length / 2);
  for (let i = 0; i < offsets.length; i += 2) {
    const start = offsets[i]!;
    const end = offsets[i + 1]!;
    const bad = net !== null ? net.addBytes(buf, start, end) : set.add(bytes.toString('utf8', start, end));
    if (bad !== null) warnings.add(bytes.toString('utf8', start, end), bad);
  }
}

function wireMembersOf(u: object): WireMembers | undefined {
  return (u as { [WIRE_MEMBERS]?: WireMembers })[WIRE_MEMBERS];
}

// Enum values arrive as names or as numbers, depending on the loader's `enums` option.
function ipSetType(v: unknown): IpSetType | null {
  if (v === 'IP' || v === 0) return 'IP';
  if (v === 'IP_AND_PORT' || v === 1) return 'IP_AND_PORT';
  if (v === 'NET' || v === 2) return 'NET';
  return null;
}

function applyIpSetUpdate(state: StoreState, u: IPSetUpdate__Output): ApplyResult {
  const id = asString(u.id);
  if (id === '') return reject('IPSetUpdate without an id');
  const type = ipSetType(u.type);
  // As in Calico, an unknown type stores nothing and leaves any old set in place.
  if (type === null)
    return reject(`IP set ${JSON.stringify(id)} has unknown type ${String(u.type)}; the old set is kept`);
  const set = createIpSet(type);
  const warnings = new MemberWarnings(id);
  const wire = wireMembersOf(u);
  if (wire !== undefined) addWireMembers(set, wire, warnings);
  else addMembers(set, u.members, warnings);
  set.seal();
  state.putIpSet(id, set);
  return ok(warnings.result());
}

function applyIpSetDelta(state: StoreState, u: IPSetDeltaUpdate__Output): ApplyResult {
  const id = asString(u.id);
  const set = state.ipSets.get(id);
  if (set === null) return reject(`IPSetDeltaUpdate for unknown IP set ${JSON.stringify(id)} ignored`);
  const warnings = new MemberWarnings(id);
  const wire = wireMembersOf(u);
  if (wire !== undefined) addWireMembers(set, wire, warnings);
  else addMembers(set, u.added_members, warnings);
  const removed: unknown = u.removed_members;
  if (Array.isArray(removed)) for (const m of removed as unknown[]) if (typeof m === 'string') set.remove(m);
  set.seal();
  state.putIpSet(id, set); // the same set: its slot takes the new bounds
  return ok(warnings.result());
}

/** A Policy's or Profile's inbound rules: as decoded from the bytes if they were, else converted. */
function inboundRules(policyOrProfile: { inbound_rules: unknown }): readonly Rule[] {
  return inboundRulesOf(policyOrProfile) ?? rulesFromWire(policyOrProfile.inbound_rules);
}

function rulesFromWire(rules: unknown): Rule[] {
  if (!Array.isArray(rules)) return [];
  return (rules as unknown[])
    .filter((r): r is Rule__Output => typeof r === 'object' && r !== null)
    .map(ruleFromWire);
}

function applyPayload(state: StoreState, msg: ToDataplane__Output): ApplyResult {
  switch (msg.payload) {
    case 'ipset_update':
      return msg.ipset_update == null
        ? reject('empty ipset_update')
        : applyIpSetUpdate(state, msg.ipset_update);
    case 'ipset_delta_update':
      return msg.ipset_delta_update == null
        ? reject('empty ipset_delta_update')
        : applyIpSetDelta(state, msg.ipset_delta_update);
    case 'ipset_remove':
      state.ipSets.remove(asString(msg.ipset_remove?.id));
      return ok();
    case 'active_policy_update': {
      const wireId = msg.active_policy_update?.id;
      if (wireId == null) return reject('ActivePolicyUpdate without a policy id ignored');
      const id = policyIdFromWire(wireId);
      const policy = msg.active_policy_update?.policy;
      // Ingress only: Dikastes never evaluates outbound rules (spec §4.1).
      const model =
        policy == null ? null : { namespace: asString(policy.namespace), rules: inboundRules(policy) };
      return ok(state.putPolicy(policyKey(id), id, model));
    }
    case 'active_policy_remove': {
      const wireId = msg.active_policy_remove?.id;
      if (wireId == null) return reject('ActivePolicyRemove without a policy id ignored');
      state.removePolicy(policyKey(policyIdFromWire(wireId)));
      return ok();
    }
    case 'active_profile_update': {
      const wireId = msg.active_profile_update?.id;
      if (wireId == null) return reject('ActiveProfileUpdate without a profile id ignored');
      const profile = msg.active_profile_update?.profile;
      return ok(state.putProfile(asString(wireId.name), profile == null ? null : inboundRules(profile)));
    }
    case 'active_profile_remove': {
      const wireId = msg.active_profile_remove?.id;
      if (wireId == null) return reject('ActiveProfileRemove without a profile id ignored');
      state.removeProfile(asString(wireId.name));
      return ok();
    }
    case 'workload_endpoint_update': {
      // Per-pod mode: the one endpoint, whatever the id (spec §2.5).
      const ep = msg.workload_endpoint_update?.endpoint;
      state.endpoint = ep == null ? null : endpointFromWire(ep);
      return ok();
    }
    case 'workload_endpoint_remove':
      state.endpoint = null;
      return ok();
    case 'service_account_update': {
      const id = msg.service_account_update?.id;
      if (id == null) return reject('ServiceAccountUpdate without an id ignored');
      state.putServiceAccount(
        asString(id.namespace),
        asString(id.name),
        labelsFromObject(msg.service_account_update?.labels),
      );
      return ok();
    }
    case 'service_account_remove': {
      const id = msg.service_account_remove?.id;
      if (id == null) return reject('ServiceAccountRemove without an id ignored');
      state.removeServiceAccount(asString(id.namespace), asString(id.name));
      return ok();
    }
    case 'namespace_update': {
      const id = msg.namespace_update?.id;
      if (id == null) return reject('NamespaceUpdate without an id ignored');
      state.putNamespace(asString(id.name), labelsFromObject(msg.namespace_update?.labels));
      return ok();
    }
    case 'namespace_remove': {
      const id = msg.namespace_remove?.id;
      if (id == null) return reject('NamespaceRemove without an id ignored');
      state.removeNamespace(asString(id.name));
      return ok();
    }
    case 'in_sync':
      return reject('InSync is handled by the sync client, not the store');
    case undefined:
      return reject('message without a payload ignored');
    default: {
      const unknownPayload: never = msg.payload;
      return reject(`unknown payload ${String(unknownPayload)} ignored`);
    }
  }
}

/** Applies one message to the store; never throws. */
export function applyUpdate(state: StoreState, msg: ToDataplane__Output): ApplyResult {
  try {
    return applyPayload(state, msg);
  } catch (err: unknown) {
    // Only a bug gets here; report it rather than take the sync stream down.
    const detail = err instanceof Error ? err.message : String(err);
    return reject(`internal error applying ${String(msg?.payload)}: ${detail}`);
  }
}
