// Compiles one Calico rule into the fixed shape a Check walks: selectors and CIDRs parsed, rule
// paths normalised, IP sets bound to slots, the namespace scoping of spec §5.4 resolved.
import { ruleActionFromWire } from '../calico/rule-action.js';
import { parseCidr } from '../calico/ip.js';
import type { Cidr } from '../calico/ip.js';
import type { Rule, PortRange, ProtocolMatch, ServiceAccountMatch } from '../calico/rule.js';
import { parseSelectorCached } from '../calico/selector/index.js';
import type { IpSetSlot } from './ip-set-slots.js';
import type {
  CompiledRule,
  IdentityClause,
  LabelMatcher,
  MethodClause,
  NetList,
  PathEntry,
  PortClause,
} from './compiled.js';
import {
  CLAUSE_PATHS,
  CLAUSE_PROTOCOL,
  CLAUSE_DST_PORT,
  CLAUSE_SRC_PORT,
  CLAUSE_NOT_DST_PORT,
  CLAUSE_NOT_SRC_PORT,
  CLAUSE_DST_IP_PORT_SETS,
  CLAUSE_SRC_NET,
  CLAUSE_DST_NET,
  CLAUSE_NOT_SRC_NET,
  CLAUSE_NOT_DST_NET,
  CLAUSE_SRC_SETS,
  CLAUSE_DST_SETS,
  CLAUSE_SRC_SERVICE_ACCOUNT,
  CLAUSE_SRC_NAMESPACE,
  CLAUSE_DST_SERVICE_ACCOUNT,
  CLAUSE_DST_NAMESPACE,
  CLAUSE_METHODS,
} from './compiled.js';
import { normalizeHttpPath } from './http-path.js';

export type BindSlot = (id: string) => IpSetSlot;

const PROTOCOL_NUMBERS: ReadonlyMap<string, number> = new Map([
  ['icmp', 1],
  ['icmpv6', 58],
  ['tcp', 6],
  ['udp', 17],
  ['udplite', 136],
  ['sctp', 132],
]);

/** Unknown names become −1, which never equals a request protocol (1–255). */
function protocolNumber(p: ProtocolMatch | null): number | null {
  if (p === null) return null;
  switch (p.kind) {
    case 'number':
      return p.number;
    // Calico takes a name only when it is non-empty; `name: ""` reads as number 0.
    case 'name':
      return p.name === '' ? 0 : (PROTOCOL_NUMBERS.get(p.name.toLowerCase()) ?? -1);
    case 'empty':
      return 0;
    default: {
      const never: never = p;
      return never;
    }
  }
}

const NO_SLOTS: readonly IpSetSlot[] = Object.freeze([]);
const NO_WARNINGS: readonly string[] = Object.freeze([]);

/**
 * Port clauses of one range and no named ports, shared between rules (a production store guards
 * most of its ~20,000 rules with the same port); keyed by first × 2^32 + last. Clauses are never
 * changed once made. Bounded, as the ports come from the wire.
 */
const SINGLE_RANGE_CLAUSES = new Map<number, PortClause>();
const MAX_SHARED_CLAUSES = 4096;

function singleRangeClause(first: number, last: number): PortClause {
  const key = first * 0x1_0000_0000 + (last >>> 0);
  let clause = SINGLE_RANGE_CLAUSES.get(key);
  if (clause === undefined) {
    clause = { ranges: Int32Array.of(first, last), named: NO_SLOTS };
    if (SINGLE_RANGE_CLAUSES.size < MAX_SHARED_CLAUSES) SINGLE_RANGE_CLAUSES.set(key, clause);
  }
  return clause;
}

/** Collects compile warnings for one rule; the caller prefixes the owner. */
class RuleCompiler {
  warnings: readonly string[] = NO_WARNINGS;
  readonly slots: IpSetSlot[] = [];

  constructor(private readonly bind: BindSlot) {}

  warn(line: string): void {
    if (this.warnings === NO_WARNINGS) this.warnings = [line];
    else (this.warnings as string[]).push(line);
  }

  sets(ids: readonly string[]): IpSetSlot[] | null {
    if (ids.length === 0) return null;
    const out: IpSetSlot[] = [];
    for (const id of ids) {
      const slot = this.bind(id);
      out.push(slot);
      this.slots.push(slot);
    }
    return out;
  }

  ports(ranges: readonly PortRange[], named: IpSetSlot[] | null): PortClause | null {
    if (ranges.length === 0 && named === null) return null;
    // Ports are int32 on the wire; the model may hold any number, stored as Int32Array would.
    if (ranges.length === 1 && named === null)
      return singleRangeClause(ranges[0]!.first | 0, ranges[0]!.last | 0);
    const pairs = new Int32Array(ranges.length * 2);
    ranges.forEach((r, i) => {
      pairs[2 * i] = r.first;
      pairs[2 * i + 1] = r.last;
    });
    return { ranges: pairs, named: named ?? NO_SLOTS };
  }

  nets(field: string, texts: readonly string[]): NetList | null {
    if (texts.length === 0) return null;
    const cidrs: Cidr[] = [];
    for (const text of texts) {
      const cidr = parseCidr(text);
      if (cidr === null) {
        this.warn(`${field} "${text}" is not a CIDR; the rule stops matching at it`);
        return { cidrs, endsInvalid: true };
      }
      cidrs.push(cidr);
    }
    return { cidrs, endsInvalid: false };
  }

  selector(field: string, text: string): { selector: LabelMatcher | null; selectorInvalid: boolean } {
    if (text === '') return { selector: null, selectorInvalid: false };
    const parsed = parseSelectorCached(text);
    if (parsed.ok)
      return { selector: parsed.selector.isAll ? null : parsed.selector, selectorInvalid: false };
    this.warn(`${field} "${text}" does not parse (${parsed.error}); it never matches a known peer`);
    return { selector: null, selectorInvalid: true };
  }

  serviceAccount(field: string, m: ServiceAccountMatch | null): IdentityClause | null {
    if (m === null) return null;
    const names = m.names.length > 0 ? m.names : null;
    const sel = this.selector(`${field}.selector`, m.selector);
    if (names === null && sel.selector === null && !sel.selectorInvalid) return null;
    return { names, ...sel };
  }

  // Spec §5.4: a namespace selector wins; otherwise a namespaced policy whose rule names pods or
  // service accounts on this side is confined to its own namespace.
  namespace(
    field: string,
    policyNamespace: string,
    nsSelector: string,
    podSelector: string,
    notPodSelector: string,
    sa: ServiceAccountMatch | null,
  ): IdentityClause | null {
    if (nsSelector !== '') {
      const sel = this.selector(field, nsSelector);
      if (sel.selector === null && !sel.selectorInvalid) return null;
      return { names: null, ...sel };
    }
    const scoped =
      podSelector !== '' ||
      notPodSelector !== '' ||
      (sa !== null && (sa.names.length > 0 || sa.selector !== ''));
    if (policyNamespace !== '' && scoped)
      return { names: [policyNamespace], selector: null, selectorInvalid: false };
    return null;
  }

  methods(rule: Rule): MethodClause | null {
    const methods = rule.httpMatch?.methods ?? [];
    if (methods.length === 0) return null;
    return { any: methods.includes('*'), methods };
  }

  paths(rule: Rule): PathEntry[] | null {
    const paths = rule.httpMatch?.paths ?? [];
    if (paths.length === 0) return null;
    const out: PathEntry[] = [];
    for (const p of paths) {
      if (p.kind === 'none') continue;
      const path = normalizeHttpPath(p.value);
      if (path === null) {
        this.warn(`http ${p.kind} path "${p.value}" cannot be normalised; it is skipped`);
        continue;
      }
      out.push({ prefix: p.kind === 'prefix', path });
    }
    return out;
  }
}

/** True when the port bounds alone decide the clause: absent, or one range without named ports. */
function decidedByBounds(clause: PortClause | null): boolean {
  return clause === null || (clause.named.length === 0 && clause.ranges.length === 2);
}

/** The least first port of a positive port clause, or -Infinity when it cannot prefilter. */
function portMin(clause: PortClause | null): number {
  if (clause === null || clause.named.length > 0 || clause.ranges.length === 0) return -Infinity;
  let min = Infinity;
  for (let i = 0; i < clause.ranges.length; i += 2) min = Math.min(min, clause.ranges[i]!);
  return min;
}

/** The greatest last port of a positive port clause, or Infinity when it cannot prefilter. */
function portMax(clause: PortClause | null): number {
  if (clause === null || clause.named.length > 0 || clause.ranges.length === 0) return Infinity;
  let max = -Infinity;
  for (let i = 1; i < clause.ranges.length; i += 2) max = Math.max(max, clause.ranges[i]!);
  return max;
}

export interface RuleCompileResult {
  readonly rule: CompiledRule;
  /** Every slot the rule acquired, to release when the rule is dropped. */
  readonly slots: readonly IpSetSlot[];
  readonly warnings: readonly string[];
}

/** Compiles `rule` at position `index` of a policy whose Policy.namespace is `policyNamespace`. */
export function compileRule(
  rule: Rule,
  index: number,
  policyNamespace: string,
  bind: BindSlot,
): RuleCompileResult {
  const c = new RuleCompiler(bind);
  const action = ruleActionFromWire(rule.action);
  if (action === 'invalid') c.warn(`action "${rule.action}" is not allowed, deny, pass, next-tier or log`);
  // Acquire slots in Calico's reference order, so the missing set we report is deterministic.
  const srcSets = c.sets(rule.srcIpSetIds);
  const notSrcSets = c.sets(rule.notSrcIpSetIds);
  const srcNamed = c.sets(rule.srcNamedPortIpSetIds);
  const notSrcNamed = c.sets(rule.notSrcNamedPortIpSetIds);
  const dstSets = c.sets(rule.dstIpSetIds);
  const notDstSets = c.sets(rule.notDstIpSetIds);
  const dstIpPortSets = c.sets(rule.dstIpPortSetIds);
  const dstNamed = c.sets(rule.dstNamedPortIpSetIds);
  const notDstNamed = c.sets(rule.notDstNamedPortIpSetIds);
  const srcSa = rule.srcServiceAccountMatch;
  const dstSa = rule.dstServiceAccountMatch;
  const srcPort = c.ports(rule.srcPorts, srcNamed);
  const dstPort = c.ports(rule.dstPorts, dstNamed);
  const srcPortMin = portMin(srcPort);
  const srcPortMax = portMax(srcPort);
  const dstPortMin = portMin(dstPort);
  const dstPortMax = portMax(dstPort);
  const protocol = protocolNumber(rule.protocol);
  const notProtocol = protocolNumber(rule.notProtocol);
  const notSrcPort = c.ports(rule.notSrcPorts, notSrcNamed);
  const notDstPort = c.ports(rule.notDstPorts, notDstNamed);
  const srcNet = c.nets('src_net', rule.srcNet);
  const notSrcNet = c.nets('not_src_net', rule.notSrcNet);
  const dstNet = c.nets('dst_net', rule.dstNet);
  const notDstNet = c.nets('not_dst_net', rule.notDstNet);
  const srcServiceAccount = c.serviceAccount('src_service_account_match', srcSa);
  const srcNamespace = c.namespace(
    'original_src_namespace_selector',
    policyNamespace,
    rule.originalSrcNamespaceSelector,
    rule.originalSrcSelector,
    rule.originalNotSrcSelector,
    srcSa,
  );
  const dstServiceAccount = c.serviceAccount('dst_service_account_match', dstSa);
  const dstNamespace = c.namespace(
    'original_dst_namespace_selector',
    policyNamespace,
    rule.originalDstNamespaceSelector,
    rule.originalDstSelector,
    rule.originalNotDstSelector,
    dstSa,
  );
  const methods = c.methods(rule);
  const paths = c.paths(rule);
  const bit = (present: boolean, flag: number): number => (present ? flag : 0);
  const clauses =
    bit(paths !== null, CLAUSE_PATHS) |
    bit(protocol !== null || notProtocol !== null, CLAUSE_PROTOCOL) |
    bit(!decidedByBounds(dstPort), CLAUSE_DST_PORT) |
    bit(!decidedByBounds(srcPort), CLAUSE_SRC_PORT) |
    bit(notDstPort !== null, CLAUSE_NOT_DST_PORT) |
    bit(notSrcPort !== null, CLAUSE_NOT_SRC_PORT) |
    bit(dstIpPortSets !== null, CLAUSE_DST_IP_PORT_SETS) |
    bit(srcNet !== null, CLAUSE_SRC_NET) |
    bit(dstNet !== null, CLAUSE_DST_NET) |
    bit(notSrcNet !== null, CLAUSE_NOT_SRC_NET) |
    bit(notDstNet !== null, CLAUSE_NOT_DST_NET) |
    bit(srcSets !== null || notSrcSets !== null, CLAUSE_SRC_SETS) |
    bit(dstSets !== null || notDstSets !== null, CLAUSE_DST_SETS) |
    bit(srcServiceAccount !== null, CLAUSE_SRC_SERVICE_ACCOUNT) |
    bit(srcNamespace !== null, CLAUSE_SRC_NAMESPACE) |
    bit(dstServiceAccount !== null, CLAUSE_DST_SERVICE_ACCOUNT) |
    bit(dstNamespace !== null, CLAUSE_DST_NAMESPACE) |
    bit(methods !== null, CLAUSE_METHODS);
  const compiled: CompiledRule = {
    index,
    action,
    slots: c.slots.length > 0 ? c.slots : null,
    dstPortMin,
    dstPortMax,
    srcPortMin,
    srcPortMax,
    clauses,
    protocol,
    notProtocol,
    srcPort,
    notSrcPort,
    dstPort,
    notDstPort,
    dstIpPortSets,
    srcNet,
    notSrcNet,
    dstNet,
    notDstNet,
    srcSets,
    notSrcSets,
    dstSets,
    notDstSets,
    srcServiceAccount,
    srcNamespace,
    dstServiceAccount,
    dstNamespace,
    methods,
    paths,
  };
  return { rule: compiled, slots: c.slots, warnings: c.warnings };
}
