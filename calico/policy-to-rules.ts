// Calico v3 policy → the rules Felix sends over PolicySync, as Calico's update processors
// (updateprocessors/rules.go) and Felix's rule scanner (felix/calc/rule_scanner.go) do it:
// entity selectors, namespace selectors and service-account matches become one selector per
// side, rendered into IP sets named by a hash of its canonical text (`s:<hash>`, `n:<hash>` for
// named ports), while the original v3 selectors travel alongside for Dikastes.
import { createHash } from 'node:crypto';
import type { PolicySpec } from './resources.js';
import type { EntityRuleSpec, PortSpec, ProtocolSpec, RuleSpec } from './rule-spec.js';
import { protocolNumber } from './rule-spec.js';
import type { PortRange, ProtocolMatch, Rule, ServiceAccountMatch } from './rule.js';
import { emptyRule } from './rule.js';
import type { Selector, SelectorNode } from './selector/index.js';
import { parseSelectorCached, renderSelector } from './selector/index.js';
import {
  LABEL_NAMESPACE,
  LABEL_SERVICE_ACCOUNT,
  NAMESPACE_LABEL_PREFIX,
  SERVICE_ACCOUNT_LABEL_PREFIX,
} from './workload-labels.js';

/** Protocol of a named-port IP set; `any` when the rule names no protocol. */
export type NamedPortProtocol = 'tcp' | 'udp' | 'sctp' | 'any';

/** An IP set a rule references: which endpoints (and, for named ports, which ports) it holds. */
export interface IpSetSpec {
  readonly id: string;
  /** Selector sets hold CIDRs (NET); named-port sets hold `<ip>,<proto>:<port>` (IP_AND_PORT). */
  readonly type: 'NET' | 'IP_AND_PORT';
  /** Evaluated against an endpoint's full labels (workload-labels.ts). */
  readonly selector: Selector;
  readonly namedPort: { readonly name: string; readonly protocol: NamedPortProtocol } | null;
}

export interface PolicyRules {
  readonly inbound: readonly Rule[];
  readonly outbound: readonly Rule[];
  /** Every IP set the rules reference, once each. */
  readonly ipSets: readonly IpSetSpec[];
  /** Which endpoints the policy applies to, namespace and SA restrictions included. */
  readonly endpointSelector: Selector;
}

export type PolicyRulesResult =
  { readonly ok: true; readonly value: PolicyRules } | { readonly ok: false; readonly reason: string };

/** Converts a validated policy. Fails only if a combined selector does not parse (a bug upstream). */
export function policyToRules(policy: PolicySpec): PolicyRulesResult {
  const sets = new Map<string, IpSetSpec>();
  const problems: string[] = [];
  const ns = policy.id.namespace;
  const convert = (r: RuleSpec): Rule => ruleSpecToRule(r, ns, sets, problems);
  const inbound = policy.ingress.map(convert);
  const outbound = policy.egress.map(convert);
  const endpointSelector = parseOrNote(policyEndpointSelectorText(policy) || 'all()', problems);
  if (problems.length > 0 || endpointSelector === null) return { ok: false, reason: problems.join('; ') };
  return { ok: true, value: { inbound, outbound, ipSets: [...sets.values()], endpointSelector } };
}

/** The combined selector text of the endpoints a policy applies to (Felix's Policy.Selector). */
export function policyEndpointSelectorText(policy: PolicySpec): string {
  let sel = policy.selector;
  const ns = policy.id.namespace;
  if (ns !== '') {
    const nsSel = `${LABEL_NAMESPACE} == '${ns}'`;
    sel = sel === '' ? nsSel : `(${sel}) && ${nsSel}`;
  }
  if (policy.namespaceSelector !== '') {
    sel = appendPrefixed(sel, policy.namespaceSelector, NAMESPACE_LABEL_PREFIX);
    sel = sel.replaceAll('all()', `has(${LABEL_NAMESPACE})`);
  }
  if (policy.serviceAccountSelector !== '') {
    sel = appendPrefixed(sel, policy.serviceAccountSelector, SERVICE_ACCOUNT_LABEL_PREFIX);
    if (ns === '') sel = sel.replaceAll('all()', `has(${LABEL_SERVICE_ACCOUNT})`);
  }
  return sel;
}

function appendPrefixed(current: string, added: string, prefix: string): string {
  const prefixed = prefixSelectorText(added, prefix);
  if (prefixed === '') return current;
  return current === '' ? prefixed : `(${current}) && ${prefixed}`;
}

/** Prefixes every label name in a selector (Calico's PrefixVisitor); '' if it does not parse. */
export function prefixSelectorText(text: string, prefix: string): string {
  const parsed = parseSelectorCached(text);
  return parsed.ok ? renderSelector(prefixLabels(parsed.selector.root, prefix)) : '';
}

function prefixLabels(node: SelectorNode, prefix: string): SelectorNode {
  switch (node.kind) {
    case 'all':
    case 'global':
      return node;
    case 'not':
      return { kind: 'not', operand: prefixLabels(node.operand, prefix) };
    case 'and':
    case 'or':
      return { kind: node.kind, operands: node.operands.map((o) => prefixLabels(o, prefix)) };
    default:
      return { ...node, label: prefix + node.label };
  }
}

/** GetEntityRuleSelector: one selector for the endpoints an entity rule matches, or ''. */
export function entitySelectorText(entity: EntityRuleSpec, policyNamespace: string): string {
  let saSel = '';
  if (entity.serviceAccounts !== null) {
    const { names, selector } = entity.serviceAccounts;
    saSel = selector === '' ? '' : prefixSelectorText(selector, SERVICE_ACCOUNT_LABEL_PREFIX);
    if (names.length > 0) {
      const parsed = parseSelectorCached(`${LABEL_SERVICE_ACCOUNT} in { '${names.join("', '")}' }`);
      const namesSel = parsed.ok ? parsed.selector.toString() : '';
      saSel = saSel === '' ? namesSel : `(${saSel}) && (${namesSel})`;
    }
  }
  let nsSel = '';
  if (entity.namespaceSelector !== '') {
    nsSel = prefixSelectorText(entity.namespaceSelector, NAMESPACE_LABEL_PREFIX)
      .replaceAll('all()', `has(${LABEL_NAMESPACE})`)
      .replaceAll('global()', `!has(${LABEL_NAMESPACE})`);
  } else if (policyNamespace !== '') {
    nsSel = `${LABEL_NAMESPACE} == '${policyNamespace}'`;
  }
  const parts = [saSel, entity.selector].filter((s) => s !== '');
  let sel = parts.length === 1 ? (parts[0] as string) : parts.length > 1 ? `(${parts.join(') && (')})` : '';
  if (nsSel !== '' && (sel !== '' || entity.notSelector !== '' || entity.namespaceSelector !== '')) {
    sel = sel === '' ? nsSel : `(${nsSel}) && (${sel})`;
  }
  return sel;
}

const ACTIONS = { Allow: 'allow', Deny: 'deny', Pass: 'next-tier', Log: 'log' } as const;
const NONE: readonly never[] = Object.freeze([]);
const NO_ANNOTATIONS: ReadonlyMap<string, string> = new Map();

function hasKeys(o: Readonly<Record<string, string>>): boolean {
  for (const _ in o) return true;
  return false;
}

/** Converts one rule, adding the IP sets it references to `sets`. */
export function ruleSpecToRule(
  spec: RuleSpec,
  policyNamespace: string,
  sets: Map<string, IpSetSpec>,
  problems: string[],
): Rule {
  const side = (entity: EntityRuleSpec) => {
    let sel = entitySelectorText(entity, policyNamespace);
    let notSel = entity.notSelector;
    // With a positive selector the rule only matches known endpoints, so the negation can be
    // folded into the same IP set (Felix's combineMatchesIfPossible).
    if (sel !== '' && notSel !== '') {
      sel = `(${sel}) && (!(${notSel}))`;
      notSel = '';
    }
    return { positive: parseOrNote(sel, problems), negative: parseOrNote(notSel, problems) };
  };
  const src = side(spec.source);
  const dst = side(spec.destination);
  const portProto = namedPortProtocol(spec.protocol);
  const add = (set: IpSetSpec): string => {
    sets.set(set.id, set);
    return set.id;
  };
  const namedSets = (ports: readonly PortSpec[], positive: Selector | null): string[] =>
    ports.flatMap((p) => (p.kind === 'named' ? [add(namedPortSet(positive, p.name, portProto))] : []));
  const selectorSets = (ports: readonly PortSpec[], sel: Selector | null): string[] => {
    const hasNumeric = ports.some((p) => p.kind === 'range');
    const hasNamed = ports.some((p) => p.kind === 'named');
    // A named-port set is already filtered by the selector, so it replaces the selector set.
    if (sel === null || (hasNamed && !hasNumeric)) return [];
    return [add(selectorSet(sel))];
  };

  // Shared empties: the fields below replace these lists and the map, so fresh ones would be garbage.
  const base = emptyRule(ACTIONS[spec.action], NONE, NO_ANNOTATIONS);
  return {
    ...base,
    ipVersion: spec.ipVersion ?? impliedIpVersion(spec.protocol),
    protocol: protocolMatch(spec.protocol),
    notProtocol: protocolMatch(spec.notProtocol),
    srcNet: [...spec.source.nets],
    srcPorts: numericPorts(spec.source.ports),
    srcNamedPortIpSetIds: namedSets(spec.source.ports, src.positive),
    srcIpSetIds: selectorSets(spec.source.ports, src.positive),
    notSrcNet: [...spec.source.notNets],
    notSrcPorts: numericPorts(spec.source.notPorts),
    notSrcIpSetIds: src.negative === null ? [] : [add(selectorSet(src.negative))],
    notSrcNamedPortIpSetIds: namedSets(spec.source.notPorts, src.positive),
    dstNet: [...spec.destination.nets],
    dstPorts: numericPorts(spec.destination.ports),
    dstNamedPortIpSetIds: namedSets(spec.destination.ports, dst.positive),
    dstIpSetIds: selectorSets(spec.destination.ports, dst.positive),
    notDstNet: [...spec.destination.notNets],
    notDstPorts: numericPorts(spec.destination.notPorts),
    notDstIpSetIds: dst.negative === null ? [] : [add(selectorSet(dst.negative))],
    notDstNamedPortIpSetIds: namedSets(spec.destination.notPorts, dst.positive),
    icmp: spec.icmp?.type == null ? null : { type: spec.icmp.type, code: spec.icmp.code },
    notIcmp: spec.notIcmp?.type == null ? null : { type: spec.notIcmp.type, code: spec.notIcmp.code },
    originalSrcSelector: spec.source.selector,
    originalDstSelector: spec.destination.selector,
    originalSrcNamespaceSelector: spec.source.namespaceSelector,
    originalDstNamespaceSelector: spec.destination.namespaceSelector,
    originalNotSrcSelector: spec.source.notSelector,
    originalNotDstSelector: spec.destination.notSelector,
    srcServiceAccountMatch: saMatch(spec.source),
    dstServiceAccountMatch: saMatch(spec.destination),
    httpMatch:
      spec.http === null
        ? null
        : {
            methods: [...spec.http.methods],
            paths: spec.http.paths.map((p) => ({ kind: p.kind, value: p.value })),
          },
    annotations: hasKeys(spec.annotations) ? new Map(Object.entries(spec.annotations)) : NO_ANNOTATIONS,
  };
}

function parseOrNote(text: string, problems: string[]): Selector | null {
  if (text === '') return null;
  const parsed = parseSelectorCached(text);
  if (!parsed.ok) {
    problems.push(`combined selector ${JSON.stringify(text)} does not parse: ${parsed.error}`);
    return null;
  }
  return parsed.selector;
}

const ALL_SELECTOR: Selector = mustParse('all()');

function mustParse(text: string): Selector {
  const parsed = parseSelectorCached(text);
  if (!parsed.ok) throw new Error(`built-in selector ${text} does not parse: ${parsed.error}`);
  return parsed.selector;
}

function selectorSet(sel: Selector): IpSetSpec {
  return { id: selectorIpSetId(sel), type: 'NET', selector: sel, namedPort: null };
}

function namedPortSet(positive: Selector | null, name: string, protocol: NamedPortProtocol): IpSetSpec {
  const sel = positive ?? ALL_SELECTOR;
  const id = uniqueId('n', `${selectorIpSetId(sel)},${protocol},${name}`);
  return { id, type: 'IP_AND_PORT', selector: sel, namedPort: { name, protocol } };
}

/** Felix's selector UniqueID: `s:` + base64url(SHA-224("s:" + canonical selector)). */
/** Ids by selector (parsed selectors are shared through the parse cache, so most are hits). */
const selectorIds = new WeakMap<Selector, string>();

export function selectorIpSetId(sel: Selector): string {
  let id = selectorIds.get(sel);
  if (id === undefined) selectorIds.set(sel, (id = uniqueId('s', sel.toString())));
  return id;
}

function uniqueId(prefix: string, content: string): string {
  return `${prefix}:${createHash('sha224').update(`${prefix}:${content}`).digest('base64url')}`;
}

function namedPortProtocol(p: ProtocolSpec | null): NamedPortProtocol {
  if (p === null) return 'any';
  const n = protocolNumber(p);
  return n === 17 ? 'udp' : n === 132 ? 'sctp' : 'tcp';
}

function impliedIpVersion(p: ProtocolSpec | null): 0 | 4 | 6 {
  if (p?.kind !== 'name') return 0;
  return p.name === 'ICMP' ? 4 : p.name === 'ICMPv6' ? 6 : 0;
}

/** v3 names become Felix's lower-case v1 names; numbers stay numbers. */
function protocolMatch(p: ProtocolSpec | null): ProtocolMatch | null {
  if (p === null) return null;
  return p.kind === 'number'
    ? { kind: 'number', number: p.number }
    : { kind: 'name', name: p.name.toLowerCase() };
}

function numericPorts(ports: readonly PortSpec[]): PortRange[] {
  return ports.flatMap((p) => (p.kind === 'range' ? [{ first: p.first, last: p.last }] : []));
}

function saMatch(entity: EntityRuleSpec): ServiceAccountMatch | null {
  const sa = entity.serviceAccounts;
  if (sa === null || (sa.names.length === 0 && sa.selector === '')) return null;
  return { selector: sa.selector, names: [...sa.names] };
}
