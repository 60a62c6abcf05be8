// Policy and profile chains (Felix's cali-pi-/cali-po-, cali-pri-/cali-pro-): one per owner and
// direction, its rules in order. Decoding is cached per Policy/Profile object (and skipped when
// the state carries the rules in the model already, as the agent's do), and a chain whose key
// (input, referenced IP set types, marks) is unchanged is reused from the previous program, so a
// policy edit rebuilds only that policy's chains.
import type { Rule as CalicoRule } from '../../calico/rule.js';
import { referencedIpSetIds } from '../../calico/rule.js';
import type { DataplaneState, Policy, PolicyRuleLists, Profile } from './model.js';
import { renderRule } from './policy-rules.js';
import { ipSetName } from './names.js';
import type { Chain, ChainOwner, Direction, Program, SetDef } from './program.js';
import { decodeRules } from './rule-input.js';

interface Decoded {
  readonly text: string;
  readonly ingress: readonly CalicoRule[];
  readonly egress: readonly CalicoRule[];
  readonly ipSetIds: readonly string[];
}

const decoded = new WeakMap<Policy | Profile | PolicyRuleLists, Decoded>();
let modelRulesSeen = 0;

/**
 * The owner's rules in the model, with a text that is equal for equal input. Rules the state
 * already holds in the model are used as they are; their text is an identity (the producer makes
 * a new object only for a new revision), which spares both the decoding and the serializing of
 * every policy at start-up.
 */
function decode(owner: Policy | Profile, model: PolicyRuleLists | undefined): Decoded {
  const cacheKey = model ?? owner;
  let d = decoded.get(cacheKey);
  if (d === undefined) {
    const ingress = model?.inbound ?? decodeRules(owner.inbound_rules);
    const egress = model?.outbound ?? decodeRules(owner.outbound_rules);
    const ids = new Set<string>();
    for (const list of [ingress, egress])
      for (const r of list) for (const id of referencedIpSetIds(r)) ids.add(id);
    const text =
      model === undefined
        ? JSON.stringify([owner.inbound_rules ?? [], owner.outbound_rules ?? []])
        : `model rules #${++modelRulesSeen}`;
    d = { text, ingress, egress, ipSetIds: [...ids].sort() };
    decoded.set(cacheKey, d);
  }
  return d;
}

function ownerKey(o: ChainOwner): string {
  switch (o.kind) {
    case 'policy':
      return `${o.tier}\u0000${o.policy}\u0000${o.direction}`;
    case 'profile':
      return `${o.profile}\u0000${o.direction}`;
    default:
      return o.kind;
  }
}

interface Built {
  readonly logName: string;
  readonly accept: number;
  readonly pass: number;
  /** The referenced IP sets' members objects (immutable; compared by identity) and types. */
  readonly members: readonly (ReadonlySet<string> | undefined)[];
  readonly types: readonly (string | undefined)[];
  readonly chains: Chain[];
}

// The last chains built per input object: a state where its IP sets kept their members objects
// returns them without building a key (a policy edit or pod change then costs O(what changed)).
const built = new WeakMap<Policy | Profile | PolicyRuleLists, Built>();

/**
 * The two chains of a policy or profile. `model` is the source's rules in the model when the
 * state has them; `logName` names it in log prefixes and problems; `names` gives the chain name
 * per direction.
 */
export function ruleChains(
  state: DataplaneState,
  prev: Program | null,
  sets: ReadonlyMap<string, SetDef>,
  source: Policy | Profile,
  model: PolicyRuleLists | undefined,
  logName: string,
  names: (dir: Direction) => string,
  owner: (dir: Direction) => ChainOwner,
): Chain[] {
  const d = decode(source, model);
  const { accept, pass } = state.config.marks;
  const builtKey = model ?? source;
  const last = built.get(builtKey);
  // `logName` determines the chain names and owners (a policy's id and tier, a profile's name).
  if (last !== undefined && last.logName === logName && last.accept === accept && last.pass === pass) {
    let isSame = true;
    for (let i = 0; i < d.ipSetIds.length && isSame; i++) {
      const c = state.ipSets.get(d.ipSetIds[i] as string);
      isSame = c?.members === last.members[i] && c?.type === last.types[i];
    }
    if (isSame) return last.chains;
  }
  const isEmptySet = (name: string) => (sets.get(name)?.elements.length ?? 0) === 0;
  const setTypes = d.ipSetIds
    .map(
      (id) =>
        `${state.ipSets.get(id)?.type ?? '-'}${isEmptySet(ipSetName(id, 4)) ? 0 : 1}${isEmptySet(ipSetName(id, 6)) ? 0 : 1}`,
    )
    .join(',');
  const out: Chain[] = [];
  for (const direction of ['ingress', 'egress'] as const) {
    const name = names(direction);
    const ownerValue = owner(direction);
    const key = `${accept},${pass},${logName},${ownerKey(ownerValue)},${setTypes}`;
    const old = prev?.chains.get(name);
    if (old !== undefined && old.key === key && old.source === d.text) {
      out.push(old);
      continue;
    }
    const problems: string[] = [];
    const ctx = {
      marks: state.config.marks,
      ipSetType: (id: string) => state.ipSets.get(id)?.type,
      isEmptySet,
      owner: logName,
      problems,
    };
    const rules = (direction === 'ingress' ? d.ingress : d.egress).flatMap((r, i) => renderRule(r, i, ctx));
    out.push({ name, base: null, owner: ownerValue, rules, source: d.text, key, problems });
  }
  const members = d.ipSetIds.map((id) => state.ipSets.get(id)?.members);
  const types = d.ipSetIds.map((id) => state.ipSets.get(id)?.type);
  built.set(builtKey, { logName, accept, pass, members, types, chains: out });
  return out;
}
