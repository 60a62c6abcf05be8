// One felix.Rule → nft rules, as Felix's rule renderer does it (felix/rules/policy.go):
//  - a rule without an IP version is rendered once per family its matches allow; a family is
//    skipped when filtering its CIDR lists to that family empties one, or when a negated list
//    holds that family's catch-all (Felix's FilterRuleToIPVersion);
//  - numeric ports and named ports on one side are alternatives (Felix ORs them with mark
//    blocks); we render one nft rule per alternative with the same verdict, which is equivalent
//    because every verdict but `log` ends the chain;
//  - the HTTP clause is ignored, exactly as Felix's iptables and nftables renderers ignore it:
//    L4 enforces the rest of the rule (an Allow with an HTTP clause allows the connection, the
//    sidecar then checks the request; a Deny with one drops every packet matching the rest);
//  - service-account matches are already folded into the rule's IP sets by the agent
//    (calico/policy-to-rules.ts, like Felix's rule scanner), so they need nothing here;
//  - a rule that references an IP set the state does not hold drops whatever reaches it (fail
//    closed, as the sidecar answers INTERNAL for it).
import { ruleActionFromWire, type RuleAction } from '../../calico/rule-action.js';
import type { IcmpMatch, Rule as CalicoRule, ProtocolMatch } from '../../calico/rule.js';
import type { IpSetType, MarkBits } from './model.js';
import { CHAIN_MARK_ACCEPT, CHAIN_MARK_PASS, ipSetName, quoteSafe } from './names.js';
import type { AddrDir, Family, Match, PortDir, Rule, Statement } from './program.js';
import { mergePortRanges, netElements, PROTOCOL_NUMBERS, type NetElements } from './set-elements.js';

export interface RuleContext {
  readonly marks: MarkBits;
  readonly ipSetType: (id: string) => IpSetType | undefined;
  /**
   * Whether an nft set (by name) has no elements. A positive match on an empty set can never
   * hold, so that family's variant is left out (a single-stack cluster gets half the rules);
   * the chain's key includes this, so the first member of a family brings the variant back.
   */
  readonly isEmptySet: (setName: string) => boolean;
  /** Names the owner in log prefixes: a rendered policy id or `profile kns.x`. */
  readonly owner: string;
  readonly problems: string[];
}

export type { RuleAction } from '../../calico/rule-action.js';

export const DROP_LOG_RATE_PER_SECOND = 10;
/** The kernel's log prefix limit is 127 bytes. */
const LOG_PREFIX_MAX = 120;

/** Protocols that carry ports (guard for port matches in a rule that names no protocol). */
const PORT_PROTOCOLS: readonly number[] = [6, 17, 132, 136];

type ProtocolNumber = number | 'never' | null;

function protocolNumber(p: ProtocolMatch | null): ProtocolNumber {
  if (p === null) return null;
  switch (p.kind) {
    case 'number':
      return p.number >= 0 && p.number <= 255 ? p.number : 'never';
    case 'name':
      return PROTOCOL_NUMBERS[p.name.toLowerCase()] ?? 'never';
    case 'empty':
      return 'never';
    default: {
      const never: never = p;
      return never;
    }
  }
}

const CATCH_ALL: Readonly<Record<Family, string>> = { 4: '0.0.0.0/0', 6: '::/0' };

// A rule's CIDR lists, split by family once per list object (rules are immutable model objects,
// and each list is read for both families, and again whenever its chain is rebuilt).
const listElements = new WeakMap<readonly string[], NetElements>();

/** The rule's CIDR list for one family, or null when the family must be skipped (Felix's filterNets). */
function netsFor(list: readonly string[], family: Family, negated: boolean): readonly string[] | null {
  if (list.length === 0) return [];
  let els = listElements.get(list);
  if (els === undefined) {
    els = netElements(list);
    listElements.set(list, els);
  }
  const mine = family === 4 ? els.v4 : els.v6;
  if (mine.length === 0) return null;
  if (negated && mine.includes(CATCH_ALL[family])) return null;
  return mine;
}

function usesAddresses(r: CalicoRule): boolean {
  return (
    r.srcNet.length + r.dstNet.length + r.notSrcNet.length + r.notDstNet.length > 0 ||
    r.srcIpSetIds.length + r.dstIpSetIds.length + r.notSrcIpSetIds.length + r.notDstIpSetIds.length > 0 ||
    r.srcNamedPortIpSetIds.length + r.dstNamedPortIpSetIds.length > 0 ||
    r.notSrcNamedPortIpSetIds.length + r.notDstNamedPortIpSetIds.length + r.dstIpPortSetIds.length > 0 ||
    r.icmp !== null ||
    r.notIcmp !== null
  );
}

function familiesFor(r: CalicoRule, proto: ProtocolNumber): (Family | null)[] {
  let fams: (Family | null)[] =
    r.ipVersion === 4 ? [4] : r.ipVersion === 6 ? [6] : usesAddresses(r) ? [4, 6] : [null];
  // ICMP is IPv4's, ICMPv6 IPv6's: the other family's variant could never match.
  if (proto === 1) fams = fams.filter((f) => f !== 6);
  if (proto === 58) fams = fams.filter((f) => f !== 4);
  return fams;
}

/** Which referenced IP set is missing or of the wrong type, or null if all are there. */
function missingSet(r: CalicoRule, ctx: RuleContext): string | null {
  for (const ids of [r.srcIpSetIds, r.dstIpSetIds, r.notSrcIpSetIds, r.notDstIpSetIds]) {
    for (const id of ids) {
      const t = ctx.ipSetType(id);
      if (t !== 'NET' && t !== 'IP') return id;
    }
  }
  for (const ids of [
    r.srcNamedPortIpSetIds,
    r.dstNamedPortIpSetIds,
    r.notSrcNamedPortIpSetIds,
    r.notDstNamedPortIpSetIds,
    r.dstIpPortSetIds,
  ]) {
    for (const id of ids) if (ctx.ipSetType(id) !== 'IP_AND_PORT') return id;
  }
  return null;
}

function icmpMatches(m: IcmpMatch, family: Family, negate: boolean): Match[][] {
  const type: Match = { kind: 'icmp', family, field: 'type', value: m.type, negate: false };
  if (!negate) {
    return [
      m.code === null
        ? [type]
        : [type, { kind: 'icmp', family, field: 'code', value: m.code, negate: false }],
    ];
  }
  // not (type = t and code = c) = type != t, or type = t and code != c.
  const notType: Match = { ...type, negate: true };
  if (m.code === null) return [[notType]];
  return [[notType], [type, { kind: 'icmp', family, field: 'code', value: m.code, negate: true }]];
}

function portAlternatives(
  ranges: CalicoRule['srcPorts'],
  namedIds: readonly string[],
  dir: PortDir,
  family: Family | null,
): Match[][] {
  if (ranges.length === 0 && namedIds.length === 0) return [[]];
  const out: Match[][] = [];
  const merged = mergePortRanges(ranges);
  if (merged.length > 0) out.push([{ kind: 'ports', dir, ranges: merged, negate: false }]);
  const addrDir: AddrDir = dir === 'sport' ? 'saddr' : 'daddr';
  if (family !== null) {
    for (const id of namedIds) {
      out.push([{ kind: 'addr-port-set', family, dir: addrDir, set: ipSetName(id, family), negate: false }]);
    }
  }
  return out;
}

function cross(a: Match[][], b: Match[][]): Match[][] {
  // Most rules have no port or ICMP alternatives: nothing to combine.
  if (b.length === 1 && b[0]!.length === 0) return a;
  const out: Match[][] = [];
  for (const x of a) for (const y of b) out.push([...x, ...y]);
  return out;
}

/** The shared matches of one family variant, or null when the variant cannot match. */
function variantMatches(r: CalicoRule, family: Family | null, proto: ProtocolNumber): Match[] | null {
  const m: Match[] = [];
  if (family !== null) m.push({ kind: 'nfproto', family });
  const notProto = protocolNumber(r.notProtocol);
  const hasPorts = r.srcPorts.length + r.dstPorts.length + r.notSrcPorts.length + r.notDstPorts.length > 0;
  if (typeof proto === 'number') m.push({ kind: 'l4proto', protocols: [proto], negate: false });
  else if (hasPorts) m.push({ kind: 'l4proto', protocols: PORT_PROTOCOLS, negate: false });
  if (typeof notProto === 'number') m.push({ kind: 'l4proto', protocols: [notProto], negate: true });

  const addr = (list: readonly string[], dir: AddrDir, negate: boolean): boolean => {
    if (family === null) return true;
    const cidrs = netsFor(list, family, negate);
    if (cidrs === null) return false;
    if (cidrs.length > 0) m.push({ kind: 'addr', family, dir, cidrs, negate });
    return true;
  };
  if (!addr(r.srcNet, 'saddr', false) || !addr(r.notSrcNet, 'saddr', true)) return null;
  if (!addr(r.dstNet, 'daddr', false) || !addr(r.notDstNet, 'daddr', true)) return null;

  if (family !== null) {
    const sets = (
      ids: readonly string[],
      dir: AddrDir,
      negate: boolean,
      kind: 'addr-set' | 'addr-port-set',
    ) => {
      for (const id of ids) m.push({ kind, family, dir, set: ipSetName(id, family), negate });
    };
    sets(r.srcIpSetIds, 'saddr', false, 'addr-set');
    sets(r.notSrcIpSetIds, 'saddr', true, 'addr-set');
    sets(r.dstIpSetIds, 'daddr', false, 'addr-set');
    sets(r.notDstIpSetIds, 'daddr', true, 'addr-set');
    sets(r.dstIpPortSetIds, 'daddr', false, 'addr-port-set');
    sets(r.notSrcNamedPortIpSetIds, 'saddr', true, 'addr-port-set');
    sets(r.notDstNamedPortIpSetIds, 'daddr', true, 'addr-port-set');
  }
  const notPorts = (ranges: CalicoRule['srcPorts'], dir: PortDir) => {
    const merged = mergePortRanges(ranges);
    if (merged.length > 0) m.push({ kind: 'ports', dir, ranges: merged, negate: true });
  };
  notPorts(r.notSrcPorts, 'sport');
  notPorts(r.notDstPorts, 'dport');
  return m;
}

function logPrefix(kind: 'alp-drop' | 'alp-log', owner: string, index: number): string {
  return quoteSafe(`${kind} ${owner} #${index} `, LOG_PREFIX_MAX);
}

/** Statements and verdicts for one action; deny is two rules (rate-limited log, then drop). */
function actionRules(
  action: RuleAction,
  matches: readonly Match[],
  index: number,
  rawAction: string,
  ctx: RuleContext,
): Rule[] {
  const origin = { kind: 'rule', ruleIndex: index, action } as const;
  const comment = `#${index} ${action}`;
  const counter: Statement = { kind: 'counter' };
  switch (action) {
    case 'allow':
    case 'pass': {
      // The mark chain sets the mark and, reached by goto, returns to the endpoint chain: the
      // same as setting it here and returning, in 1 expression instead of 4 (markChains).
      const chain = action === 'allow' ? CHAIN_MARK_ACCEPT : CHAIN_MARK_PASS;
      return [
        {
          matches,
          statements: [counter],
          verdict: { kind: 'goto', chain },
          comment,
          origin,
        },
      ];
    }
    case 'deny':
      return [
        {
          matches: [...matches, { kind: 'limit', perSecond: DROP_LOG_RATE_PER_SECOND }],
          statements: [{ kind: 'log', prefix: logPrefix('alp-drop', ctx.owner, index) }],
          verdict: null,
          comment: null,
          origin,
        },
        { matches, statements: [counter], verdict: { kind: 'drop' }, comment, origin },
      ];
    case 'log':
      return [
        {
          matches,
          statements: [counter, { kind: 'log', prefix: logPrefix('alp-log', ctx.owner, index) }],
          verdict: null,
          comment,
          origin,
        },
      ];
    case 'invalid':
      ctx.problems.push(
        `${ctx.owner} rule ${index}: unknown action ${JSON.stringify(rawAction)}, dropping what reaches it`,
      );
      return [{ matches, statements: [counter], verdict: { kind: 'drop' }, comment, origin }];
    default: {
      const never: never = action;
      return never;
    }
  }
}

/** The nft rules of rule `index` of a policy or profile. */
export function renderRule(r: CalicoRule, index: number, ctx: RuleContext): Rule[] {
  const action = ruleActionFromWire(r.action);
  const missing = missingSet(r, ctx);
  if (missing !== null) {
    ctx.problems.push(
      `${ctx.owner} rule ${index}: IP set ${missing} is missing, dropping what reaches the rule`,
    );
    return [
      {
        matches: [],
        statements: [{ kind: 'counter' }],
        verdict: { kind: 'drop' },
        comment: `#${index} missing-ip-set`,
        origin: { kind: 'rule', ruleIndex: index, action: 'deny' },
      },
    ];
  }
  const proto = protocolNumber(r.protocol);
  if (proto === 'never') return []; // an empty or unknown protocol never matches
  const out: Rule[] = [];
  for (const family of familiesFor(r, proto)) {
    const base = variantMatches(r, family, proto);
    if (base === null) continue;
    let alts: Match[][] = [base];
    alts = cross(alts, portAlternatives(r.srcPorts, r.srcNamedPortIpSetIds, 'sport', family));
    alts = cross(alts, portAlternatives(r.dstPorts, r.dstNamedPortIpSetIds, 'dport', family));
    if (family !== null && r.icmp !== null) alts = cross(alts, icmpMatches(r.icmp, family, false));
    if (family !== null && r.notIcmp !== null) alts = cross(alts, icmpMatches(r.notIcmp, family, true));
    for (const matches of alts) {
      if (
        matches.some(
          (m) => (m.kind === 'addr-set' || m.kind === 'addr-port-set') && !m.negate && ctx.isEmptySet(m.set),
        )
      ) {
        continue;
      }
      out.push(...actionRules(action, matches, index, r.action, ctx));
    }
  }
  return out;
}
