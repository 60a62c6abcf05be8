// DataplaneState → Program: Felix's policy-only filter rules in one inet table of our own.
// Sets first, then policy and profile chains, endpoint chains, dispatch, and the hook chains
// (hook-chains.ts describes the packet path). Given the previous program, every chain whose
// inputs are unchanged is reused as the same object, and IP sets are parsed once per content
// object, so a policy edit or a pod change costs work proportional to what changed (plus a
// cheap key per endpoint).
import { isStagedKind, renderPolicyId } from '../../calico/policy-id.js';
import { endpointChains } from './endpoint-chains.js';
import { dispatchChain, forwardChain, inputChain, preroutingChain } from './hook-chains.js';
import type { DataplaneState, IpSetContent } from './model.js';
import {
  CHAIN_FROM_WL_DISPATCH,
  CHAIN_TO_WL_DISPATCH,
  ipSetName,
  isValidIfaceName,
  MAP_FROM_WL,
  MAP_TO_WL,
  policyChainName,
  profileChainName,
  WG_PEERS_SET_PREFIX,
} from './names.js';
import type { Chain, Family, Program, SetDef, VmapDef } from './program.js';
import { ruleChains } from './rule-chains.js';
import { addrPortElements, netElements } from './set-elements.js';

const FAMILIES: readonly Family[] = [4, 6];

interface BuiltSet {
  readonly defs: readonly SetDef[];
  readonly problem: string | null;
}

const builtSets = new WeakMap<IpSetContent, Map<string, BuiltSet>>();

/** An IP set's two nft sets (v4, v6), parsed and collapsed once per content object. */
function ipSetDefs(id: string, content: IpSetContent): BuiltSet {
  let byId = builtSets.get(content);
  const cached = byId?.get(id);
  if (cached !== undefined) return cached;
  const isPort = content.type === 'IP_AND_PORT';
  const els = isPort ? addrPortElements(content.members) : netElements(content.members);
  const problem =
    els.invalid.length === 0
      ? null
      : `IP set ${id}: ${els.invalid.length} member(s) skipped, e.g. ${JSON.stringify(els.invalid[0])}`;
  const defs = FAMILIES.map((family): SetDef => ({
    name: ipSetName(id, family),
    family,
    kind: isPort ? 'addr-port' : 'addr',
    interval: !isPort,
    elements: family === 4 ? els.v4 : els.v6,
    ipSetId: id,
  }));
  const built = { defs, problem };
  if (byId === undefined) builtSets.set(content, (byId = new Map()));
  byId.set(id, built);
  return built;
}

/** Builds the whole program; pure and deterministic (same state, same program text). */
export function buildProgram(state: DataplaneState, prev: Program | null = null): Program {
  const problems: string[] = [];
  const config = state.config;
  const reuse = prev !== null && prev.table === config.tableName ? prev : null;

  const sets = new Map<string, SetDef>();
  for (const id of [...state.ipSets.keys()].sort()) {
    const built = ipSetDefs(id, state.ipSets.get(id)!);
    if (built.problem !== null) problems.push(built.problem);
    for (const def of built.defs) sets.set(def.name, def);
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
  for (const key of [...state.policies.keys()].sort()) {
    const { id, policy } = state.policies.get(key)!;
    if (isStagedKind(id.kind ?? '')) continue; // staged policies are never enforced
    const rendered = renderPolicyId({
      name: id.name ?? '',
      namespace: id.namespace ?? '',
      kind: id.kind ?? '',
    });
    const tier = policy.tier ?? '';
    ruleChains(
      state,
      reuse,
      sets,
      policy,
      rendered,
      (dir) => policyChainName(rendered, dir),
      (direction) => ({ kind: 'policy', tier, policy: rendered, direction }),
    ).forEach(add);
  }
  for (const name of [...state.profiles.keys()].sort()) {
    ruleChains(
      state,
      reuse,
      sets,
      state.profiles.get(name)!,
      `profile ${name}`,
      (dir) => profileChainName(name, dir),
      (direction) => ({ kind: 'profile', profile: name, direction }),
    ).forEach(add);
  }

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
    const [ingress, egress] = endpointChains(state, reuse, ep);
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
  for (const c of chains.values()) problems.push(...c.problems);
  return { table: config.tableName, sets, maps, chains, problems };
}
