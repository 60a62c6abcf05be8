// DataplaneState → Program: Felix's policy-only filter rules (felix/rules/static.go,
// endpoints.go, dispatch.go) in one inet table of our own.
//
//   hook-forward  (filter hook forward, priority filter): pod ↔ pod through the node and pod ↔ outside.
//     [WireGuard strict drop] → established/related accept → invalid drop (workload traffic only)
//     → iifname cali* jump from-wl-dispatch (egress of the source) → oifname cali* jump
//     to-wl-dispatch (ingress of the destination). A policy allow returns, so traffic between two
//     local pods meets both endpoints' policy.
//   hook-input    (filter hook input, priority filter): pod → host. [WireGuard port accept] →
//     conntrack → IPv6 router ICMP → from-wl-dispatch (egress policy) → defaultEndpointToHostAction.
//   hook-prerouting (filter hook prerouting, priority raw): only with WireGuard host encryption.
//   No output chain: Felix does not police host → local workload traffic (kubelet probes), see
//   filterOutputChain in felix/rules/static.go.
//
// The dispatch chains goto the endpoint's chain through a verdict map keyed by interface name;
// an interface with our prefix that no endpoint owns is dropped, as Felix does. Endpoint chains
// run the tiers with Felix's accept/pass marks, then the profiles, then drop. Marks are cleared
// before an endpoint chain returns, so none leaks out of our table.
import { isStagedKind, policyKey, renderPolicyId } from '../../calico/policy-id.js';
import type { DataplaneEndpoint, DataplaneState, EnforcementConfig, IpSetContent } from './model.js';
import {
  CHAIN_FORWARD,
  CHAIN_FROM_WL_DISPATCH,
  CHAIN_INPUT,
  CHAIN_PREROUTING,
  CHAIN_TO_WL_DISPATCH,
  endpointChainName,
  ipSetName,
  isValidIfaceName,
  MAP_FROM_WL,
  MAP_TO_WL,
  policyChainName,
  profileChainName,
  quoteSafe,
  WG_PEERS_SET_PREFIX,
} from './names.js';
import { DROP_LOG_RATE_PER_SECOND, renderRule } from './policy-rules.js';
import type { RuleContext } from './policy-rules.js';
import type {
  Chain,
  Direction,
  Family,
  Match,
  Program,
  Rule,
  RuleOrigin,
  SetDef,
  VmapDef,
} from './program.js';
import { decodeRules } from './rule-input.js';
import { addrPortElements, netElements } from './set-elements.js';

const PLUMBING: RuleOrigin = { kind: 'plumbing' };
const FAMILIES: readonly Family[] = [4, 6];
/** Felix's ICMPv6Filter: multicast listener query/report/done, router and neighbour solicitation/advert. */
const IPV6_ROUTER_ICMP = [130, 131, 132, 133, 135, 136];

function rule(
  matches: readonly Match[],
  statements: Rule['statements'],
  verdict: Rule['verdict'],
  origin: RuleOrigin = PLUMBING,
  comment: string | null = null,
): Rule {
  return { matches, statements, verdict, comment, origin };
}

/** A rate-limited log rule followed by a counted drop, both under the same matches. */
function loggedDrop(matches: readonly Match[], prefix: string, origin: RuleOrigin, comment: string): Rule[] {
  return [
    rule(
      [...matches, { kind: 'limit', perSecond: DROP_LOG_RATE_PER_SECOND }],
      [{ kind: 'log', prefix: quoteSafe(`alp-drop ${prefix} `, 120) }],
      null,
      origin,
    ),
    rule(matches, [{ kind: 'counter' }], { kind: 'drop' }, origin, quoteSafe(comment, 120)),
  ];
}

function ipSetDefs(id: string, content: IpSetContent, problems: string[]): SetDef[] {
  const isPort = content.type === 'IP_AND_PORT';
  const els = isPort ? addrPortElements(content.members) : netElements(content.members);
  if (els.invalid.length > 0) {
    problems.push(
      `IP set ${id}: ${els.invalid.length} member(s) skipped, e.g. ${JSON.stringify(els.invalid[0])}`,
    );
  }
  return FAMILIES.map((family) => ({
    name: ipSetName(id, family),
    family,
    kind: isPort ? 'addr-port' : 'addr',
    interval: !isPort,
    elements: family === 4 ? els.v4 : els.v6,
    ipSetId: id,
  }));
}

function policyChains(state: DataplaneState, problems: string[]): Chain[] {
  const out: Chain[] = [];
  const keys = [...state.policies.keys()].sort();
  for (const key of keys) {
    const { id, policy } = state.policies.get(key)!;
    if (isStagedKind(id.kind ?? '')) continue; // staged policies are never enforced
    const rendered = renderPolicyId({
      name: id.name ?? '',
      namespace: id.namespace ?? '',
      kind: id.kind ?? '',
    });
    const tier = policy.tier ?? '';
    for (const direction of ['ingress', 'egress'] as const) {
      const ctx = ruleContext(state, rendered, problems);
      const rules = decodeRules(direction === 'ingress' ? policy.inbound_rules : policy.outbound_rules);
      out.push({
        name: policyChainName(rendered, direction),
        base: null,
        owner: { kind: 'policy', tier, policy: rendered, direction },
        rules: rules.flatMap((r, i) => renderRule(r, i, ctx)),
      });
    }
  }
  return out;
}

function profileChains(state: DataplaneState, problems: string[]): Chain[] {
  const out: Chain[] = [];
  for (const name of [...state.profiles.keys()].sort()) {
    const profile = state.profiles.get(name)!;
    for (const direction of ['ingress', 'egress'] as const) {
      const ctx = ruleContext(state, `profile ${name}`, problems);
      const rules = decodeRules(direction === 'ingress' ? profile.inbound_rules : profile.outbound_rules);
      out.push({
        name: profileChainName(name, direction),
        base: null,
        owner: { kind: 'profile', profile: name, direction },
        rules: rules.flatMap((r, i) => renderRule(r, i, ctx)),
      });
    }
  }
  return out;
}

function ruleContext(state: DataplaneState, owner: string, problems: string[]): RuleContext {
  return {
    marks: state.config.marks,
    ipSetType: (id) => state.ipSets.get(id)?.type,
    owner,
    problems,
  };
}

function endpointChain(
  state: DataplaneState,
  ep: DataplaneEndpoint,
  direction: Direction,
  problems: string[],
): Chain {
  const { accept, pass } = state.config.marks;
  const both = accept | pass;
  const passClear: Match = { kind: 'mark', bits: pass, isSet: false };
  const accepted: Match = { kind: 'mark', bits: accept, isSet: true };
  const returnIfAccepted = rule([accepted], [{ kind: 'clear-mark', bits: both }], { kind: 'return' });
  const rules: Rule[] = [rule([], [{ kind: 'clear-mark', bits: both }], null)];
  for (const tier of ep.tiers) {
    const ids = (direction === 'ingress' ? tier.ingressPolicies : tier.egressPolicies).filter(
      (id) => !isStagedKind(id.kind ?? ''),
    );
    if (ids.length === 0) continue; // a tier with no enforced policy here is not entered (Felix)
    rules.push(
      rule([], [{ kind: 'clear-mark', bits: pass }], null, PLUMBING, quoteSafe(`tier ${tier.name}`, 120)),
    );
    for (const id of ids) {
      const rendered = renderPolicyId({
        name: id.name ?? '',
        namespace: id.namespace ?? '',
        kind: id.kind ?? '',
      });
      const key = policyKey({ name: id.name ?? '', namespace: id.namespace ?? '', kind: id.kind ?? '' });
      if (!state.policies.has(key)) {
        problems.push(
          `endpoint ${ep.workloadId}: policy ${rendered} is missing, dropping ${direction} traffic that reaches it`,
        );
        const origin: RuleOrigin = { kind: 'missing-policy', tier: tier.name, policy: rendered };
        rules.push(
          ...loggedDrop([passClear], `missing-policy ${rendered}`, origin, `missing policy ${rendered}`),
        );
        continue;
      }
      rules.push(rule([passClear], [], { kind: 'jump', chain: policyChainName(rendered, direction) }));
      rules.push(returnIfAccepted);
    }
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
    // A profile the state does not hold has no rule to allow anything: skip it (Dikastes does).
    if (!state.profiles.has(profile)) continue;
    rules.push(rule([], [], { kind: 'jump', chain: profileChainName(profile, direction) }));
    rules.push(returnIfAccepted);
  }
  rules.push(
    ...loggedDrop(
      [],
      `no-profile ${direction} ${ep.workloadId}`,
      { kind: 'no-profile-matched' },
      'no profile matched',
    ),
  );
  return {
    name: endpointChainName(ep.iface, direction),
    base: null,
    owner: { kind: 'endpoint', workloadId: ep.workloadId, iface: ep.iface, direction },
    rules,
  };
}

function dispatchChain(name: string, key: 'iifname' | 'oifname', map: string): Chain {
  return {
    name,
    base: null,
    owner: { kind: 'dispatch' },
    rules: [
      rule([], [], { kind: 'vmap', key, map }),
      ...loggedDrop(
        [],
        `unknown-interface ${key}`,
        { kind: 'unknown-interface' },
        'unknown workload interface',
      ),
    ],
  };
}

function wildcard(config: EnforcementConfig): string {
  return `${config.interfacePrefix}*`;
}

function forwardChain(config: EnforcementConfig): Chain {
  const fromWl: Match = { kind: 'iifname', name: wildcard(config), negate: false };
  const toWl: Match = { kind: 'oifname', name: wildcard(config), negate: false };
  const rules: Rule[] = [];
  const wg = config.wireguard;
  if (wg !== null && wg.strict && wg.interfaceName !== '') {
    for (const family of FAMILIES) {
      const m: Match[] = [
        fromWl,
        { kind: 'oifname', name: wg.interfaceName, negate: true },
        { kind: 'addr-set', family, dir: 'daddr', set: `${WG_PEERS_SET_PREFIX}${family}`, negate: false },
      ];
      rules.push(
        ...loggedDrop(
          m,
          'wireguard-strict',
          { kind: 'wireguard-strict' },
          'wireguard strict: peer pod CIDR not via the tunnel',
        ),
      );
    }
  }
  const established: Match = { kind: 'ct-state', states: ['established', 'related'] };
  const invalid: Match = { kind: 'ct-state', states: ['invalid'] };
  for (const side of [fromWl, toWl])
    rules.push(rule([side, established], [], { kind: 'accept' }, { kind: 'ct-established' }));
  for (const side of [fromWl, toWl]) {
    rules.push(
      rule(
        [side, invalid],
        [{ kind: 'counter' }],
        { kind: 'drop' },
        { kind: 'ct-invalid' },
        'conntrack invalid',
      ),
    );
  }
  rules.push(rule([fromWl], [], { kind: 'jump', chain: CHAIN_FROM_WL_DISPATCH }));
  rules.push(rule([toWl], [], { kind: 'jump', chain: CHAIN_TO_WL_DISPATCH }));
  return {
    name: CHAIN_FORWARD,
    base: { type: 'filter', hook: 'forward', priority: 'filter' },
    owner: { kind: 'base' },
    rules,
  };
}

function inputChain(config: EnforcementConfig): Chain {
  const fromWl: Match = { kind: 'iifname', name: wildcard(config), negate: false };
  const rules: Rule[] = [];
  const wg = config.wireguard;
  if (wg !== null) {
    // Felix's "Allow incoming Wireguard packets": ahead of workload policy, as in Felix.
    rules.push(
      rule(
        [
          { kind: 'l4proto', protocols: [17], negate: false },
          {
            kind: 'ports',
            dir: 'dport',
            ranges: [{ first: wg.listenPort, last: wg.listenPort }],
            negate: false,
          },
          { kind: 'fib-daddr-local' },
        ],
        [{ kind: 'counter' }],
        { kind: 'accept' },
        { kind: 'wireguard-port' },
        'wireguard',
      ),
    );
  }
  rules.push(
    rule(
      [fromWl, { kind: 'ct-state', states: ['established', 'related'] }],
      [],
      { kind: 'accept' },
      { kind: 'ct-established' },
    ),
  );
  rules.push(
    rule(
      [fromWl, { kind: 'ct-state', states: ['invalid'] }],
      [{ kind: 'counter' }],
      { kind: 'drop' },
      { kind: 'ct-invalid' },
      'conntrack invalid',
    ),
  );
  rules.push(
    rule(
      [fromWl, { kind: 'icmpv6-types', types: IPV6_ROUTER_ICMP }],
      [],
      { kind: 'accept' },
      { kind: 'ipv6-router-icmp' },
    ),
  );
  rules.push(rule([fromWl], [], { kind: 'jump', chain: CHAIN_FROM_WL_DISPATCH }));
  // Reached only when the endpoint's egress policy allowed the packet. In our own table Accept
  // and Return are the same (other tables still see the packet); Felix differs only in whether
  // its own host-endpoint rules run next, and alp-node has none.
  const action = config.defaultEndpointToHostAction;
  const origin: RuleOrigin = { kind: 'endpoint-to-host', action };
  if (action === 'Drop')
    rules.push(...loggedDrop([fromWl], 'endpoint-to-host', origin, 'DefaultEndpointToHostAction Drop'));
  else
    rules.push(
      rule(
        [fromWl],
        [{ kind: 'counter' }],
        { kind: 'accept' },
        origin,
        `DefaultEndpointToHostAction ${action}`,
      ),
    );
  return {
    name: CHAIN_INPUT,
    base: { type: 'filter', hook: 'input', priority: 'filter' },
    owner: { kind: 'base' },
    rules,
  };
}

function preroutingChain(config: EnforcementConfig): Chain | null {
  const wg = config.wireguard;
  if (wg === null || wg.hostEncryptionMark === 0) return null;
  const skip = ['lo', ...(wg.interfaceName === '' ? [] : [wg.interfaceName]), wildcard(config)];
  return {
    name: CHAIN_PREROUTING,
    base: { type: 'filter', hook: 'prerouting', priority: 'raw' },
    owner: { kind: 'base' },
    rules: [
      ...skip.map((name) => rule([{ kind: 'iifname', name, negate: false }], [], { kind: 'return' })),
      rule(
        [],
        [{ kind: 'set-mark', bits: wg.hostEncryptionMark }],
        null,
        PLUMBING,
        'wireguard incoming mark',
      ),
    ],
  };
}

/** Builds the whole program; pure and deterministic (same state, same program). */
export function buildProgram(state: DataplaneState): Program {
  const problems: string[] = [];
  const config = state.config;
  const sets = new Map<string, SetDef>();
  for (const id of [...state.ipSets.keys()].sort()) {
    for (const def of ipSetDefs(id, state.ipSets.get(id)!, problems)) sets.set(def.name, def);
  }
  if (config.wireguard !== null) {
    const els = netElements(config.wireguard.peerPodCidrs);
    for (const family of FAMILIES) {
      const name = `${WG_PEERS_SET_PREFIX}${family}`;
      const elements = family === 4 ? els.v4 : els.v6;
      sets.set(name, { name, family, kind: 'addr', interval: true, elements, ipSetId: '' });
    }
  }

  const chains = new Map<string, Chain>();
  const add = (c: Chain) => chains.set(c.name, c);
  policyChains(state, problems).forEach(add);
  profileChains(state, problems).forEach(add);

  const fromWl = new Map<string, string>();
  const toWl = new Map<string, string>();
  for (const wid of [...state.endpoints.keys()].sort()) {
    const ep = state.endpoints.get(wid)!;
    if (!isValidIfaceName(ep.iface) || !ep.iface.startsWith(config.interfacePrefix)) {
      problems.push(
        `endpoint ${wid}: interface name ${JSON.stringify(ep.iface)} is not a ${config.interfacePrefix}* interface, skipped`,
      );
      continue;
    }
    if (fromWl.has(ep.iface)) {
      problems.push(`endpoint ${wid}: interface ${ep.iface} already belongs to another endpoint, skipped`);
      continue;
    }
    const ingress = endpointChain(state, ep, 'ingress', problems);
    const egress = endpointChain(state, ep, 'egress', problems);
    add(ingress);
    add(egress);
    toWl.set(ep.iface, ingress.name);
    fromWl.set(ep.iface, egress.name);
  }
  const maps = new Map<string, VmapDef>([
    [MAP_FROM_WL, { name: MAP_FROM_WL, elements: fromWl }],
    [MAP_TO_WL, { name: MAP_TO_WL, elements: toWl }],
  ]);
  add(dispatchChain(CHAIN_FROM_WL_DISPATCH, 'iifname', MAP_FROM_WL));
  add(dispatchChain(CHAIN_TO_WL_DISPATCH, 'oifname', MAP_TO_WL));
  const pre = preroutingChain(config);
  if (pre !== null) add(pre);
  add(inputChain(config));
  add(forwardChain(config));
  return { table: config.tableName, sets, maps, chains, problems };
}
