// A plain interpreter of spec §4–§5 with alp-mesh's deliberate differences, written to be read
// rather than to be fast: no compilation, no caching, every clause in Calico's order. Property tests
// check the compiled evaluator (decide.ts) against it.
import { cidrContains, ipText, parseCidr } from '../calico/ip.js';
import type { Ip } from '../calico/ip.js';
import { NO_LABELS } from '../calico/labels.js';
import type { Labels } from '../calico/labels.js';
import { isStagedKind, policyKey, renderPolicyId } from '../calico/policy-id.js';
import type { PortRange, ProtocolMatch, Rule, ServiceAccountMatch } from '../calico/rule.js';
import { referencedIpSetIds } from '../calico/rule.js';
import { parseSelector } from '../calico/selector/index.js';
import { parseSpiffeId } from '../calico/spiffe.js';
import type { Flow, FlowPeer } from '../policy/flow.js';
import { normalizeHttpPath } from '../policy/http-path.js';
import type { ReferenceState } from './reference-state.js';
import type { Decision } from '../policy/verdict.js';

export interface ReferenceVerdict {
  code: number;
  message: string;
  decidedBy: Decision | null;
}

type Peer = { name: string; namespace: string; labels: Labels; nsLabels: Labels } | 'anonymous';
type Req = { flow: Flow; src: Peer; dst: Peer; state: ReferenceState };
type RuleResult =
  | { kind: 'matched'; index: number; action: string }
  | { kind: 'none' }
  | { kind: 'error'; code: number; message: string };

function peerOf(p: FlowPeer, state: ReferenceState): Peer | null {
  if (p.principal === '') return 'anonymous';
  const id = parseSpiffeId(p.principal);
  if (!id.ok) return null;
  const labels = new Map(p.labels);
  for (const [k, v] of state.serviceAccounts.get(`${id.id.namespace}/${id.id.serviceAccount}`) ?? [])
    labels.set(k, v);
  return {
    name: id.id.serviceAccount,
    namespace: id.id.namespace,
    labels,
    nsLabels: state.namespaces.get(id.id.namespace) ?? NO_LABELS,
  };
}

function selectorMatches(text: string, labels: Labels): boolean {
  const parsed = parseSelector(text);
  return parsed.ok && parsed.selector.matches(labels);
}

function matchServiceAccount(m: ServiceAccountMatch | null, peer: Peer): boolean {
  if (m === null || peer === 'anonymous') return true;
  return (m.names.length === 0 || m.names.includes(peer.name)) && selectorMatches(m.selector, peer.labels);
}

function matchNamespace(
  policyNs: string,
  nsSel: string,
  podSel: string,
  notPodSel: string,
  sa: ServiceAccountMatch | null,
  peer: Peer,
): boolean {
  if (peer === 'anonymous') return true;
  if (nsSel !== '') return selectorMatches(nsSel, peer.nsLabels);
  const scoped =
    podSel !== '' || notPodSel !== '' || (sa?.names.length ?? 0) > 0 || (sa?.selector ?? '') !== '';
  return policyNs === '' || !scoped || peer.namespace === policyNs;
}

function inSet(state: ReferenceState, id: string, ip: Ip | null): boolean {
  return ip !== null && (state.ipSets.get(id)?.containsIp(ip) ?? false);
}

function inKeySet(state: ReferenceState, id: string, key: string): boolean {
  return state.ipSets.get(id)?.containsKey(key) ?? false;
}

const PROTO_KEY: Record<number, string> = { 1: 'icmp', 6: 'tcp', 17: 'udp' };
const key = (ip: Ip | null, proto: number, port: number): string =>
  `${ipText(ip)},${PROTO_KEY[proto] ?? ''}:${port}`;

function matchPorts(
  ranges: readonly PortRange[],
  named: readonly string[],
  port: number,
  k: string,
  s: ReferenceState,
): boolean {
  if (ranges.length === 0 && named.length === 0) return true;
  return ranges.some((r) => r.first <= port && port <= r.last) || named.some((id) => inKeySet(s, id, k));
}

function matchNotPorts(
  ranges: readonly PortRange[],
  named: readonly string[],
  port: number,
  k: string,
  s: ReferenceState,
): boolean {
  if (ranges.length === 0 && named.length === 0) return true;
  return !(ranges.some((r) => r.first <= port && port <= r.last) || named.some((id) => inKeySet(s, id, k)));
}

function matchNet(nets: readonly string[], ip: Ip | null): boolean {
  if (nets.length === 0) return true;
  for (const n of nets) {
    const cidr = parseCidr(n);
    if (cidr === null) return false;
    if (ip !== null && cidrContains(cidr, ip)) return true;
  }
  return false;
}

function matchNotNet(nets: readonly string[], ip: Ip | null): boolean {
  for (const n of nets) {
    const cidr = parseCidr(n);
    if (cidr === null) return false;
    if (ip !== null && cidrContains(cidr, ip)) return false;
  }
  return true;
}

function matchSide(rule: Rule, policyNs: string, req: Req, side: 'src' | 'dst'): boolean {
  const { state, flow } = req;
  const src = side === 'src';
  const fp = src ? flow.source : flow.destination;
  const peer = src ? req.src : req.dst;
  const sa = src ? rule.srcServiceAccountMatch : rule.dstServiceAccountMatch;
  const k = key(fp.ip, flow.protocol, fp.port);
  const sets = src ? rule.srcIpSetIds : rule.dstIpSetIds;
  const notSets = src ? rule.notSrcIpSetIds : rule.notDstIpSetIds;
  return (
    matchServiceAccount(sa, peer) &&
    (src
      ? matchNamespace(
          policyNs,
          rule.originalSrcNamespaceSelector,
          rule.originalSrcSelector,
          rule.originalNotSrcSelector,
          sa,
          peer,
        )
      : matchNamespace(
          policyNs,
          rule.originalDstNamespaceSelector,
          rule.originalDstSelector,
          rule.originalNotDstSelector,
          sa,
          peer,
        )) &&
    sets.every((id) => inSet(state, id, fp.ip)) &&
    !notSets.some((id) => inSet(state, id, fp.ip)) &&
    (src || rule.dstIpPortSetIds.every((id) => inKeySet(state, id, k))) &&
    matchPorts(
      src ? rule.srcPorts : rule.dstPorts,
      src ? rule.srcNamedPortIpSetIds : rule.dstNamedPortIpSetIds,
      fp.port,
      k,
      state,
    ) &&
    matchNotPorts(
      src ? rule.notSrcPorts : rule.notDstPorts,
      src ? rule.notSrcNamedPortIpSetIds : rule.notDstNamedPortIpSetIds,
      fp.port,
      k,
      state,
    ) &&
    matchNet(src ? rule.srcNet : rule.dstNet, fp.ip) &&
    matchNotNet(src ? rule.notSrcNet : rule.notDstNet, fp.ip)
  );
}

function matchHttp(rule: Rule, flow: Flow): boolean | 'invalid-path' {
  const h = rule.httpMatch;
  if (h === null) return true;
  const method = flow.httpMethod;
  if (method !== null && h.methods.length > 0 && !h.methods.some((m) => m === '*' || m === method))
    return false;
  const path = flow.httpPath;
  if (h.paths.length === 0 || path === null) return true;
  if (!path.startsWith('/')) return 'invalid-path';
  const req = normalizeHttpPath(path);
  if (req === null) return false;
  return h.paths.some((p) => {
    if (p.kind === 'none') return false;
    const n = normalizeHttpPath(p.value);
    if (n === null) return false;
    return p.kind === 'exact' ? req === n : n === '/' || req === n || req.startsWith(`${n}/`);
  });
}

const PROTOCOLS: Record<string, number> = { icmp: 1, icmpv6: 58, tcp: 6, udp: 17, udplite: 136, sctp: 132 };

function protocolEquals(p: ProtocolMatch | null, n: number, ifNull: boolean): boolean {
  if (p === null) return ifNull;
  const name = p.kind === 'name' ? p.name : '';
  if (name !== '') return PROTOCOLS[name.toLowerCase()] === n;
  return (p.kind === 'number' ? p.number : 0) === n;
}

function matchRule(rule: Rule, policyNs: string, req: Req): boolean | 'invalid-path' {
  if (!matchSide(rule, policyNs, req, 'src') || !matchSide(rule, policyNs, req, 'dst')) return false;
  const http = matchHttp(rule, req.flow);
  if (http !== true) return http;
  const n = req.flow.protocol;
  return (
    n >= 1 &&
    n <= 255 &&
    protocolEquals(rule.protocol, n, true) &&
    !protocolEquals(rule.notProtocol, n, false)
  );
}

function checkRules(rules: readonly Rule[], policyNs: string, owner: string, req: Req): RuleResult {
  for (let i = 0; i < rules.length; i++) {
    const rule = rules[i]!;
    const missing = referencedIpSetIds(rule).find((id) => !req.state.ipSets.has(id));
    if (missing !== undefined) {
      return {
        kind: 'error',
        code: 13,
        message: `rule ${i} of ${owner} references IP set ${JSON.stringify(missing)} that is missing from the policy store`,
      };
    }
    const m = matchRule(rule, policyNs, req);
    if (m === 'invalid-path')
      return { kind: 'error', code: 3, message: `Invalid HTTP Path "${req.flow.httpPath ?? ''}"` };
    if (!m) continue;
    const action = rule.action.toLowerCase();
    if (action === 'log') continue;
    if (!['allow', 'deny', 'pass', 'next-tier'].includes(action))
      return { kind: 'error', code: 3, message: 'got bad action' };
    return { kind: 'matched', index: i, action: action === 'next-tier' ? 'pass' : action };
  }
  return { kind: 'none' };
}

export function referenceDecide(
  state: ReferenceState,
  flow: Flow,
  scope: 'enforced' | 'staged-as-enforced' = 'enforced',
): ReferenceVerdict {
  const ep = state.endpoint;
  if (ep === null) return { code: 13, message: 'no endpoint', decidedBy: null };
  const src = peerOf(flow.source, state);
  const dst = peerOf(flow.destination, state);
  if (src === null || dst === null) return { code: 7, message: 'invalid principal', decidedBy: null };
  const req: Req = { flow, src, dst, state };
  const done = (code: number, d: Decision): ReferenceVerdict => ({ code, message: '', decidedBy: d });

  for (const tier of ep.tiers) {
    const ids = tier.ingress_policies.filter(
      (id) => scope === 'staged-as-enforced' || !isStagedKind(id.kind),
    );
    let firstNoMatch = '';
    let passed = false;
    for (const id of ids) {
      const policy = state.policies.get(policyKey(id));
      if (policy == null)
        return {
          code: 13,
          message: `policy ${renderPolicyId(id)} of tier ${tier.name} is missing from the policy store`,
          decidedBy: null,
        };
      const r = checkRules(policy.rules, policy.namespace, `policy ${renderPolicyId(id)}`, req);
      if (r.kind === 'error') return { code: r.code, message: r.message, decidedBy: null };
      if (r.kind === 'none') {
        if (firstNoMatch === '') firstNoMatch = renderPolicyId(id);
        continue;
      }
      const d: Decision = {
        kind: 'policy-rule',
        tier: tier.name,
        policy: renderPolicyId(id),
        ruleIndex: r.index,
      };
      if (r.action === 'allow') return done(0, d);
      if (r.action === 'deny') return done(7, d);
      passed = true;
      break;
    }
    if (ids.length > 0 && !passed && tier.default_action.toLowerCase() !== 'pass') {
      return done(7, { kind: 'end-of-tier', tier: tier.name, policy: firstNoMatch, ruleIndex: -1 });
    }
  }
  if (ep.profile_ids.length === 0)
    return done(7, { kind: 'no-profiles', tier: '__PROFILE__', policy: '__PROFILE__', ruleIndex: -1 });
  for (const name of ep.profile_ids) {
    const rules = state.profiles.get(name);
    if (rules == null) continue;
    const r = checkRules(rules, '', `profile ${name}`, req);
    if (r.kind === 'error') return { code: r.code, message: r.message, decidedBy: null };
    if (r.kind === 'none') continue;
    return done(r.action === 'allow' ? 0 : 7, {
      kind: 'profile-rule',
      tier: '__PROFILE__',
      policy: name,
      ruleIndex: r.index,
    });
  }
  return done(7, { kind: 'no-profile-matched', tier: '__PROFILE__', policy: '', ruleIndex: -1 });
}
