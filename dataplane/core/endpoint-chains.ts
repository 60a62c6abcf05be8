// A workload's two chains (Felix's cali-tw-<iface> for its ingress, cali-fw-<iface> for its
// egress): tiers in order with the accept/pass marks, then profiles, then a logged drop.
//
// Per tier with at least one enforced (non-staged) policy in this direction: clear the pass
// mark; jump to each policy chain while neither mark is set; then return if one set the accept
// mark; at the end, unless the tier's default action is Pass, drop if no policy passed. (Felix
// returns after each jump; once a policy has set a mark the later jumps are skipped, so one return
// per tier decides the same with one nft rule per policy instead of two.)
// Staged policies are skipped, and a tier that has only staged ones is not entered (Felix's
// endOfTierDrop). Egress first drops VXLAN and IPIP from the workload unless allowed (Felix's
// AllowVXLANPacketsFromWorkloads/AllowIPIPPacketsFromWorkloads). A policy the state lacks drops what reaches it (fail closed). Then the profiles
// in order (a missing one is skipped: it could allow nothing), then drop.
import { isStagedKind, policyKey, renderPolicyId } from '../../calico/policy-id.js';
import { loggedDrop, PLUMBING, rule } from './chain-parts.js';
import type { DataplaneEndpoint, DataplaneState, PolicyID } from './model.js';
import { DEFAULT_WORKLOAD_ENCAP } from './model.js';
import {
  CHAIN_MARK_RETURN,
  endpointChainName,
  policyChainName,
  profileChainName,
  quoteSafe,
} from './names.js';
import type { Chain, Direction, Match, Program, Rule, RuleOrigin } from './program.js';

function fullId(id: PolicyID) {
  return { name: id.name ?? '', namespace: id.namespace ?? '', kind: id.kind ?? '' };
}

interface EndpointFacts {
  readonly text: string;
  readonly policyKeys: readonly string[];
}

const facts = new WeakMap<DataplaneEndpoint, EndpointFacts>();

function factsOf(ep: DataplaneEndpoint): EndpointFacts {
  let f = facts.get(ep);
  if (f === undefined) {
    const policyKeys = ep.tiers.flatMap((t) =>
      [...t.ingressPolicies, ...t.egressPolicies].map((id) => policyKey(fullId(id))),
    );
    f = { text: JSON.stringify(ep), policyKeys };
    facts.set(ep, f);
  }
  return f;
}

/** What the chain depends on besides the endpoint: which referenced policies and profiles exist. */
function dependencyKey(state: DataplaneState, ep: DataplaneEndpoint): string {
  let bits = '';
  for (const key of factsOf(ep).policyKeys) bits += state.policies.has(key) ? '1' : '0';
  for (const p of ep.profileIds) bits += state.profiles.has(p) ? '1' : '0';
  return bits;
}

function build(
  state: DataplaneState,
  ep: DataplaneEndpoint,
  direction: Direction,
  problems: string[],
): Rule[] {
  const { accept, pass } = state.config.marks;
  const both = accept | pass;
  const passClear: Match = { kind: 'mark', bits: pass, isSet: false };
  const undecided: Match = { kind: 'mark', bits: both, isSet: false };
  const accepted: Match = { kind: 'mark', bits: accept, isSet: true };
  // The mark chain clears both marks and, reached by goto, returns from this chain (markChains).
  const returnIfAccepted = rule([accepted], [], { kind: 'goto', chain: CHAIN_MARK_RETURN });
  const rules: Rule[] = [rule([], [{ kind: 'clear-mark', bits: both }], null)];
  if (direction === 'egress') {
    const encap = state.config.workloadEncap ?? DEFAULT_WORKLOAD_ENCAP;
    const counted = [{ kind: 'counter' } as const];
    if (!encap.allowVxlan) {
      const port = { first: encap.vxlanPort, last: encap.vxlanPort };
      const m: Match[] = [
        { kind: 'l4proto', protocols: [17], negate: false },
        { kind: 'ports', dir: 'dport', ranges: [port], negate: false },
      ];
      rules.push(rule(m, counted, { kind: 'drop' }, { kind: 'workload-encap' }, 'VXLAN from a workload'));
    }
    if (!encap.allowIpip) {
      const m: Match[] = [{ kind: 'l4proto', protocols: [4], negate: false }];
      rules.push(rule(m, counted, { kind: 'drop' }, { kind: 'workload-encap' }, 'IPIP from a workload'));
    }
  }
  for (const tier of ep.tiers) {
    const ids = (direction === 'ingress' ? tier.ingressPolicies : tier.egressPolicies).filter(
      (id) => !isStagedKind(id.kind ?? ''),
    );
    if (ids.length === 0) continue;
    rules.push(
      rule([], [{ kind: 'clear-mark', bits: pass }], null, PLUMBING, quoteSafe(`tier ${tier.name}`, 120)),
    );
    for (const id of ids) {
      const rendered = renderPolicyId(fullId(id));
      if (!state.policies.has(policyKey(fullId(id)))) {
        problems.push(
          `endpoint ${ep.workloadId}: policy ${rendered} is missing, dropping ${direction} traffic that reaches it`,
        );
        const origin: RuleOrigin = { kind: 'missing-policy', tier: tier.name, policy: rendered };
        rules.push(
          ...loggedDrop([undecided], `missing-policy ${rendered}`, origin, `missing policy ${rendered}`),
        );
        continue;
      }
      rules.push(rule([undecided], [], { kind: 'jump', chain: policyChainName(rendered, direction) }));
    }
    rules.push(returnIfAccepted);
    if (tier.defaultAction !== 'Pass') {
      const origin: RuleOrigin = { kind: 'end-of-tier', tier: tier.name };
      rules.push(
        ...loggedDrop(
          [passClear],
          `end-of-tier ${tier.name} ${direction}`,
          origin,
          `end of tier ${tier.name}`,
        ),
      );
    }
  }
  for (const profile of ep.profileIds) {
    if (!state.profiles.has(profile)) continue;
    rules.push(rule([], [], { kind: 'jump', chain: profileChainName(profile, direction) }));
    rules.push(returnIfAccepted);
  }
  const origin: RuleOrigin = { kind: 'no-profile-matched' };
  rules.push(...loggedDrop([], `no-profile ${direction} ${ep.workloadId}`, origin, 'no profile matched'));
  return rules;
}

/** The endpoint's ingress and egress chains, reused from `prev` when nothing they depend on changed. */
export function endpointChains(
  state: DataplaneState,
  prev: Program | null,
  ep: DataplaneEndpoint,
): [Chain, Chain] {
  const { accept, pass } = state.config.marks;
  const source = factsOf(ep).text;
  const encap = state.config.workloadEncap ?? DEFAULT_WORKLOAD_ENCAP;
  const key = `${accept},${pass},${encap.allowVxlan},${encap.allowIpip},${encap.vxlanPort},${dependencyKey(state, ep)}`;
  const chain = (direction: Direction): Chain => {
    const name = endpointChainName(ep.iface, direction);
    const old = prev?.chains.get(name);
    if (old !== undefined && old.key === key && old.source === source) return old;
    const problems: string[] = [];
    const rules = build(state, ep, direction, problems);
    const owner = { kind: 'endpoint', workloadId: ep.workloadId, iface: ep.iface, direction } as const;
    return { name, base: null, owner, rules, source, key, problems };
  };
  return [chain('ingress'), chain('egress')];
}
