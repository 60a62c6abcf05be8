// DataplaneState → Program: Felix's policy-only filter rules in one inet table of our own.
// Sets first, then policy and profile chains, endpoint chains, dispatch, and the hook chains
// (hook-chains.ts describes the packet path). Given the previous program, every chain whose
// inputs are unchanged is reused as the same object, and IP sets are parsed once per content
// object, so a policy edit or a pod change costs work proportional to what changed (plus a
// cheap key per endpoint).
import { isStagedKind, renderPolicyId } from '../../calico/policy-id.js';
import { endpointChains } from './endpoint-chains.js';
import { dispatchChain, forwardChain, inputChain, markChains, preroutingChain } from './hook-chains.js';
import type { DataplaneEndpoint, DataplaneState, IpSetContent, PolicyEntry } from './model.js';
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

// By members (the agent hands out one immutable members object until they change, while the
// content wrapper around it may be new on every view rebuild), then by id and type.
const builtSets = new WeakMap<ReadonlySet<string>, Map<string, BuiltSet>>();

/**
 * Whether a family's elements need an interval set: only when one is a network, not a host.
 * Hash sets are what nft 1.0 handles cheaply: adding or deleting an element of an interval set
 * makes `nft` read every interval set's elements first (tens of ms with 10,000 elements), and a
 * selector's members are pod addresses. A set that gains a network becomes another set
 * definition, which the diff turns into a full (still atomic) replace.
 */
function needsInterval(elements: readonly string[]): boolean {
  return elements.some((e) => e.includes('/'));
}

/** An IP set's two nft sets (v4, v6), parsed and collapsed once per members object. */
function ipSetDefs(id: string, content: IpSetContent): BuiltSet {
  let byId = builtSets.get(content.members);
  const cacheKey = `${content.type}\u0000${id}`;
  const cached = byId?.get(cacheKey);
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
    interval: !isPort && needsInterval(family === 4 ? els.v4 : els.v6),
    elements: family === 4 ? els.v4 : els.v6,
    ipSetId: id,
  }));
  const built = { defs, problem };
  if (byId === undefined) builtSets.set(content.members, (byId = new Map()));
  byId.set(cacheKey, built);
  return built;
}

const referencedChains = new WeakMap<DataplaneEndpoint, readonly string[]>();

/** The policy chains an endpoint's tiers jump to (staged policies never). */
function policyChainsOf(ep: DataplaneEndpoint): readonly string[] {
  let names = referencedChains.get(ep);
  if (names === undefined) {
    const out: string[] = [];
    for (const tier of ep.tiers) {
      for (const [ids, dir] of [
        [tier.ingressPolicies, 'ingress'],
        [tier.egressPolicies, 'egress'],
      ] as const) {
        for (const id of ids) {
          if (isStagedKind(id.kind ?? '')) continue;
          const rendered = renderPolicyId({
            name: id.name ?? '',
            namespace: id.namespace ?? '',
            kind: id.kind ?? '',
          });
          out.push(policyChainName(rendered, dir));
        }
      }
    }
    names = out;
    referencedChains.set(ep, names);
  }
  return names;
}

const renderedIds = new WeakMap<PolicyEntry, string | null>();

/** Calico's rendering of the entry's id (`knp/ns/name`), or null for a staged policy. */
function renderedIdOf(entry: PolicyEntry): string | null {
  let r = renderedIds.get(entry);
  if (r === undefined) {
    const { id } = entry;
    r = isStagedKind(id.kind ?? '')
      ? null
      : renderPolicyId({ name: id.name ?? '', namespace: id.namespace ?? '', kind: id.kind ?? '' });
    renderedIds.set(entry, r);
  }
  return r;
}

const setsOfChain = new WeakMap<Chain, readonly string[]>();

/** The sets a chain's rules look up (chains are reused by identity, so each is read once). */
function setsReferencedBy(c: Chain): readonly string[] {
  let names = setsOfChain.get(c);
  if (names === undefined) {
    const out: string[] = [];
    for (const r of c.rules)
      for (const m of r.matches) if (m.kind === 'addr-set' || m.kind === 'addr-port-set') out.push(m.set);
    names = out;
    setsOfChain.set(c, names);
  }
  return names;
}

/**
 * Only the IP sets some rule looks up. Rules skip an empty set (they could match nothing), so in an
 * IPv4 cluster every IPv6 set and each empty IP set is referenced by none: at issue 11's scale
 * 254 of 306 sets, each a declaration nft and the kernel handle in every full transaction and an
 * entry the kernel walks past at every set lookup while loading rules. A set a rebuilt chain
 * starts to use is then new to the diff, which declares it (with its elements) before the chain.
 */
function setsInUse(sets: ReadonlyMap<string, SetDef>, chains: Iterable<Chain>): Map<string, SetDef> {
  const used = new Set<string>();
  for (const c of chains) for (const name of setsReferencedBy(c)) used.add(name);
  const out = new Map<string, SetDef>();
  // Our own sets (WireGuard's peer CIDRs) stay: the table shows them whether strict mode uses them or not.
  for (const [name, def] of sets) if (def.ipSetId === '' || used.has(name)) out.set(name, def);
  return out;
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
  // First: every policy and endpoint chain may goto them.
  markChains(config).forEach(add);
  // A policy's chain for a direction no endpoint lists it in is never jumped to (an ingress-only
  // policy's egress chain): left out, since every chain costs nft time in every transaction.
  const referenced = new Set<string>();
  for (const ep of state.endpoints.values()) for (const name of policyChainsOf(ep)) referenced.add(name);
  const addReferenced = (c: Chain) => {
    if (referenced.has(c.name)) add(c);
  };
  for (const key of [...state.policies.keys()].sort()) {
    const entry = state.policies.get(key)!;
    const rendered = renderedIdOf(entry);
    if (rendered === null) continue; // staged policies are never enforced
    const policy = entry.policy;
    const tier = policy.tier ?? '';
    ruleChains(
      state,
      reuse,
      sets,
      policy,
      entry.rules,
      rendered,
      (dir) => policyChainName(rendered, dir),
      (direction) => ({ kind: 'policy', tier, policy: rendered, direction }),
    ).forEach(addReferenced);
  }
  for (const name of [...state.profiles.keys()].sort()) {
    ruleChains(
      state,
      reuse,
      sets,
      state.profiles.get(name)!,
      undefined,
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
  for (const c of chains.values()) if (c.problems.length > 0) problems.push(...c.problems);
  return { table: config.tableName, sets: setsInUse(sets, chains.values()), maps, chains, problems };
}
