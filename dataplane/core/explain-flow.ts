// What the kernel will do with one packet: runs the program our table was rendered from (the
// same chains, matches, marks and verdict maps, in the same order) over a 5-tuple, and says
// which endpoint chains applied and which tier, policy and rule decided. It interprets the
// program, not the policies, so it cannot drift from what `nft` was given.
import type { DataplaneState } from './model.js';
import { CHAIN_FORWARD, CHAIN_INPUT } from './names.js';
import { programOf } from './program-of.js';
import type { Chain, CtState, Family, Match, Program, Rule, SetDef } from './program.js';
import { ruleText } from './render-text.js';
import type { ParsedCidr } from './set-elements.js';
import { parseNet, PROTOCOL_NUMBERS } from './set-elements.js';

export interface FlowQuery {
  readonly srcIp: string;
  readonly dstIp: string;
  /** Number or name (`tcp`, `udp`, `sctp`, `icmp`, `icmpv6`, `udplite`). */
  readonly protocol: number | string;
  readonly srcPort?: number;
  readonly dstPort?: number;
  readonly icmpType?: number;
  readonly icmpCode?: number;
  /** The destination is this node itself (input hook) rather than forwarded. */
  readonly toHost?: boolean;
  /** Default `new`: the first packet of a connection, the one policy decides. */
  readonly ctState?: CtState;
  /** Interfaces, when not derived from the endpoints' addresses (`''` = not a workload interface). */
  readonly iifname?: string;
  readonly oifname?: string;
}

/** Who decided, as far as the program says. */
export interface Decision {
  readonly chain: string;
  /** The nft rule, as rendered. */
  readonly rule: string;
  readonly kind: string;
  readonly tier: string;
  readonly policy: string;
  readonly ruleIndex: number;
  readonly action: string;
}

export interface EndpointStep {
  readonly workloadId: string;
  readonly direction: 'ingress' | 'egress';
  readonly verdict: 'allow' | 'deny';
  readonly decidedBy: Decision | null;
}

export interface FlowExplanation {
  readonly hook: 'forward' | 'input';
  readonly iifname: string;
  readonly oifname: string;
  readonly verdict: 'allow' | 'deny';
  /** The rule that dropped the packet, or the one that accepted it last; null when no rule of ours applied. */
  readonly decidedBy: Decision | null;
  /** Endpoint chains run, in order (source egress first, then destination ingress). */
  readonly endpoints: readonly EndpointStep[];
  /** Every rule whose matches held, as `chain: rule`. */
  readonly trace: readonly string[];
  /** Set when the query could not be evaluated (bad address or protocol); the verdict is deny. */
  readonly error: string | null;
}

interface Packet {
  readonly family: Family;
  readonly src: ParsedCidr;
  readonly dst: ParsedCidr;
  readonly proto: number;
  readonly srcPort: number | null;
  readonly dstPort: number | null;
  readonly icmpType: number | null;
  readonly icmpCode: number | null;
  readonly iifname: string;
  readonly oifname: string;
  readonly ctState: CtState;
  readonly toHost: boolean;
  mark: number;
}

const parsedSets = new WeakMap<SetDef, { cidrs: ParsedCidr[]; tuples: Set<string> }>();

function setContent(s: SetDef): { cidrs: ParsedCidr[]; tuples: Set<string> } {
  let c = parsedSets.get(s);
  if (c === undefined) {
    c =
      s.kind === 'addr'
        ? { cidrs: s.elements.flatMap((e) => parseNet(e) ?? []), tuples: new Set() }
        : { cidrs: [], tuples: new Set(s.elements) };
    parsedSets.set(s, c);
  }
  return c;
}

function inCidr(c: ParsedCidr, ip: ParsedCidr): boolean {
  if (c.family !== ip.family) return false;
  const full = c.prefixLength >> 3;
  for (let i = 0; i < full; i++) if (c.bytes[i] !== ip.bytes[i]) return false;
  const rest = c.prefixLength & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return ((ip.bytes[full] as number) & mask) === c.bytes[full];
}

function ifaceMatches(pattern: string, name: string): boolean {
  return pattern.endsWith('*') ? name.startsWith(pattern.slice(0, -1)) && name !== '' : name === pattern;
}

function matches(m: Match, p: Packet, program: Program): boolean {
  switch (m.kind) {
    case 'iifname':
      return ifaceMatches(m.name, p.iifname) !== m.negate;
    case 'oifname':
      return ifaceMatches(m.name, p.oifname) !== m.negate;
    case 'ct-state':
      return m.states.includes(p.ctState);
    case 'mark':
      return ((p.mark & m.bits) !== 0) === m.isSet;
    case 'nfproto':
      return p.family === m.family;
    case 'l4proto':
      return m.protocols.includes(p.proto) !== m.negate;
    case 'addr': {
      if (p.family !== m.family) return false;
      const ip = m.dir === 'saddr' ? p.src : p.dst;
      return (
        m.cidrs.some((c) => {
          const parsed = parseNet(c);
          return parsed !== null && inCidr(parsed, ip);
        }) !== m.negate
      );
    }
    case 'addr-set': {
      if (p.family !== m.family) return false;
      const set = program.sets.get(m.set);
      const ip = m.dir === 'saddr' ? p.src : p.dst;
      const hit = set !== undefined && setContent(set).cidrs.some((c) => inCidr(c, ip));
      return hit !== m.negate;
    }
    case 'ports': {
      const port = m.dir === 'sport' ? p.srcPort : p.dstPort;
      if (port === null) return false;
      return m.ranges.some((r) => port >= r.first && port <= r.last) !== m.negate;
    }
    case 'addr-port-set': {
      if (p.family !== m.family) return false;
      const ip = m.dir === 'saddr' ? p.src : p.dst;
      const port = m.dir === 'saddr' ? p.srcPort : p.dstPort;
      if (port === null) return false;
      const set = program.sets.get(m.set);
      const hit = set !== undefined && setContent(set).tuples.has(`${ip.text} . ${p.proto} . ${port}`);
      return hit !== m.negate;
    }
    case 'icmp': {
      // nft adds the dependency: an ICMP field only exists in that family's ICMP packets.
      if (p.family !== m.family || p.proto !== (m.family === 4 ? 1 : 58)) return false;
      const v = m.field === 'type' ? p.icmpType : p.icmpCode;
      return v !== null && (v === m.value) !== m.negate;
    }
    case 'icmpv6-types':
      return p.family === 6 && p.proto === 58 && p.icmpType !== null && m.types.includes(p.icmpType);
    case 'fib-daddr-local':
      return p.toHost;
    case 'limit':
      return true;
    default: {
      const never: never = m;
      return never;
    }
  }
}

interface Walk {
  readonly program: Program;
  readonly packet: Packet;
  readonly trace: string[];
  readonly endpoints: EndpointStep[];
  /** The last policy/profile/our-own rule that decided something (accept mark, pass mark, drop). */
  last: Decision | null;
}

function decisionOf(chain: Chain, rule: Rule): Decision {
  const o = rule.origin;
  const owner = chain.owner;
  const tier =
    owner.kind === 'policy'
      ? owner.tier
      : 'tier' in o
        ? o.tier
        : owner.kind === 'profile'
          ? '__PROFILE__'
          : '';
  const policy =
    owner.kind === 'policy'
      ? owner.policy
      : owner.kind === 'profile'
        ? owner.profile
        : o.kind === 'missing-policy'
          ? o.policy
          : '';
  return {
    chain: chain.name,
    rule: ruleText(rule),
    kind: o.kind,
    tier,
    policy,
    ruleIndex: o.kind === 'rule' ? o.ruleIndex : -1,
    action: o.kind === 'rule' ? o.action : rule.verdict?.kind === 'drop' ? 'deny' : 'allow',
  };
}

type Outcome = 'accept' | 'drop' | 'return';

/** Runs one chain; `return` means it fell off the end or returned. Depth-limited against loops. */
function runChain(w: Walk, name: string, depth: number): Outcome {
  const chain = w.program.chains.get(name);
  if (chain === undefined || depth > 64) return 'drop';
  for (const rule of chain.rules) {
    if (!rule.matches.every((m) => matches(m, w.packet, w.program))) continue;
    w.trace.push(`${chain.name}: ${ruleText(rule)}`);
    for (const s of rule.statements) {
      if (s.kind === 'set-mark') w.packet.mark |= s.bits;
      else if (s.kind === 'clear-mark') w.packet.mark &= ~s.bits;
    }
    // A policy or profile rule decides by dropping or by going to a mark chain (accept, pass);
    // the mark chains' own rules are plumbing.
    const decides =
      rule.origin.kind !== 'plumbing' &&
      rule.origin.kind !== 'ct-established' &&
      (rule.verdict?.kind === 'drop' ||
        (rule.verdict?.kind === 'goto' && w.program.chains.get(rule.verdict.chain)?.owner.kind === 'mark'));
    if (decides) w.last = decisionOf(chain, rule);
    const v = rule.verdict;
    if (v === null) continue;
    switch (v.kind) {
      case 'accept':
        if (rule.origin.kind !== 'plumbing') w.last = decisionOf(chain, rule);
        return 'accept';
      case 'drop':
        return 'drop';
      case 'return':
        return 'return';
      case 'jump': {
        const r = runTarget(w, v.chain, depth + 1);
        if (r !== 'return') return r;
        continue;
      }
      case 'goto':
        return runTarget(w, v.chain, depth + 1);
      case 'vmap': {
        const map = w.program.maps.get(v.map);
        const target = map?.elements.get(v.key === 'iifname' ? w.packet.iifname : w.packet.oifname);
        if (target === undefined) continue;
        return runTarget(w, target, depth + 1);
      }
      default: {
        const never: never = v;
        return never;
      }
    }
  }
  return 'return';
}

/** Runs a jump/goto target, recording an endpoint chain's result. */
function runTarget(w: Walk, name: string, depth: number): Outcome {
  const chain = w.program.chains.get(name);
  if (chain?.owner.kind !== 'endpoint') return runChain(w, name, depth);
  const before = w.last;
  w.last = null;
  const r = runChain(w, name, depth);
  w.endpoints.push({
    workloadId: chain.owner.workloadId,
    direction: chain.owner.direction,
    verdict: r === 'drop' ? 'deny' : 'allow',
    decidedBy: w.last,
  });
  if (w.last === null) w.last = before;
  return r;
}

function endpointIface(state: DataplaneState, ip: ParsedCidr): string {
  for (const ep of state.endpoints.values()) {
    for (const net of [...ep.ipv4Nets, ...ep.ipv6Nets]) {
      const c = parseNet(net);
      if (c !== null && inCidr(c, ip)) return ep.iface;
    }
  }
  return '';
}

function denyWith(error: string): FlowExplanation {
  return {
    hook: 'forward',
    iifname: '',
    oifname: '',
    verdict: 'deny',
    decidedBy: null,
    endpoints: [],
    trace: [],
    error,
  };
}

/** Explains the verdict our table gives `q`'s first packet (or a later one, with ctState). */
export function explainFlow(state: DataplaneState, q: FlowQuery): FlowExplanation {
  const src = parseNet(q.srcIp);
  const dst = parseNet(q.dstIp);
  if (src === null || dst === null || src.text.includes('/') || dst.text.includes('/')) {
    return denyWith(`bad address: ${src === null ? q.srcIp : q.dstIp}`);
  }
  if (src.family !== dst.family) return denyWith('source and destination are of different families');
  const proto = typeof q.protocol === 'number' ? q.protocol : PROTOCOL_NUMBERS[q.protocol.toLowerCase()];
  if (proto === undefined || proto < 0 || proto > 255)
    return denyWith(`unknown protocol ${String(q.protocol)}`);
  const toHost = q.toHost === true;
  const packet: Packet = {
    family: src.family,
    src,
    dst,
    proto,
    srcPort: q.srcPort ?? null,
    dstPort: q.dstPort ?? null,
    icmpType: q.icmpType ?? null,
    icmpCode: q.icmpCode ?? null,
    iifname: q.iifname ?? endpointIface(state, src),
    oifname: toHost ? '' : (q.oifname ?? endpointIface(state, dst)),
    ctState: q.ctState ?? 'new',
    toHost,
    mark: 0,
  };
  const program = programOf(state);
  const w: Walk = { program, packet, trace: [], endpoints: [], last: null };
  const hook = toHost ? 'input' : 'forward';
  const outcome = runChain(w, toHost ? CHAIN_INPUT : CHAIN_FORWARD, 0);
  return {
    hook,
    iifname: packet.iifname,
    oifname: packet.oifname,
    verdict: outcome === 'drop' ? 'deny' : 'allow',
    decidedBy: w.last,
    endpoints: w.endpoints,
    trace: w.trace,
    error: null,
  };
}
