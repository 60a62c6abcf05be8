// Kubernetes NetworkPolicy (networking.k8s.io/v1) and Calico's StagedKubernetesNetworkPolicy,
// converted the way Calico's k8s backend does (libcalico-go conversion.go): default tier, order
// 1000, one Allow rule per protocol and peer, pod selectors pinned to the k8s orchestrator.
//
// Unlike Calico ≤ 3.31, which named these `knp.default.<name>`, Felix at the spec's HEAD sends
// PolicyID {kind: KubernetesNetworkPolicy, name: <name>}, rendered `knp/<namespace>/<name>`.
import type { PolicySpec, PolicyType, ResourceParseResult } from './resources.js';
import { DEFAULT_TIER, readMetadata } from './resources.js';
import type { EntityRuleSpec, PortSpec, ProtocolSpec, RuleSpec } from './rule-spec.js';
import { NO_ENTITY, normaliseNet, parsePort } from './rule-spec.js';
import { parseSelectorCached } from './selector/index.js';
import type { Issues, JsonRecord } from './spec-fields.js';
import {
  isRecord,
  readArray,
  readNumber,
  readRecord,
  readString,
  readStringArray,
  readStringMap,
} from './spec-fields.js';

export const KNP_ORDER = 1000;

export interface ConvertedK8sPolicy {
  readonly policy: PolicySpec;
  /** Rules Calico would drop with a warning (e.g. an invalid port), one reason each. */
  readonly droppedRules: readonly string[];
}

/** Converts a networking.k8s.io/v1 NetworkPolicy or a StagedKubernetesNetworkPolicy. */
export function convertK8sNetworkPolicy(raw: unknown): ResourceParseResult<ConvertedK8sPolicy> {
  if (!isRecord(raw)) return { ok: false, reason: 'resource must be an object' };
  const issues: Issues = [];
  const staged = raw['kind'] === 'StagedKubernetesNetworkPolicy';
  const meta = readMetadata(raw, issues);
  if (meta.namespace === '') issues.push('metadata.namespace: required');
  const spec = readRecord(raw, 'spec', '', issues) ?? {};
  const selector = k8sSelectorToCalico(readRecord(spec, 'podSelector', 'spec', issues) ?? {}, 'pod', issues);
  const dropped: string[] = [];
  const ingress: RuleSpec[] = [];
  readArray(spec, 'ingress', 'spec', issues).forEach((r, i) => {
    convertRule(r, 'from', `spec.ingress[${i}]`, ingress, dropped, issues);
  });
  const egress: RuleSpec[] = [];
  readArray(spec, 'egress', 'spec', issues).forEach((r, i) => {
    convertRule(r, 'to', `spec.egress[${i}]`, egress, dropped, issues);
  });
  const written = readStringArray(spec, 'policyTypes', 'spec', issues);
  const types: PolicyType[] = [];
  if (written.includes('Ingress')) types.push('Ingress');
  if (written.includes('Egress')) types.push('Egress');
  // A policy with no types predates the field and governs ingress only.
  if (types.length === 0) types.push('Ingress');
  const stagedAction = readString(spec, 'stagedAction', 'spec', issues);
  if (issues.length > 0) return { ok: false, reason: issues.join('; ') };
  const policy: PolicySpec = {
    id: {
      name: meta.name,
      namespace: meta.namespace,
      kind: staged ? 'StagedKubernetesNetworkPolicy' : 'KubernetesNetworkPolicy',
    },
    tier: DEFAULT_TIER,
    order: KNP_ORDER,
    selector,
    namespaceSelector: '',
    serviceAccountSelector: '',
    types,
    ingress,
    egress,
    doNotTrack: false,
    preDNAT: false,
    applyOnForward: false,
    stagedAction: staged ? (stagedAction === 'Delete' ? 'Delete' : 'Set') : null,
  };
  return { ok: true, value: { policy, droppedRules: dropped } };
}

/** Calico's k8sSelectorToCalico: matchLabels sorted by key, then matchExpressions in order. */
export function k8sSelectorToCalico(
  sel: JsonRecord | null,
  type: 'pod' | 'namespace',
  issues: Issues,
): string {
  const parts = type === 'pod' ? ["projectcalico.org/orchestrator == 'k8s'"] : [];
  if (sel === null) return parts.join(' && ');
  const path = type === 'pod' ? 'podSelector' : 'namespaceSelector';
  const labels = readStringMap(sel, 'matchLabels', path, issues);
  const expressions = readArray(sel, 'matchExpressions', path, issues);
  if (type === 'namespace' && Object.keys(labels).length === 0 && expressions.length === 0) return 'all()';
  for (const key of Object.keys(labels).sort()) parts.push(`${key} == '${labels[key]}'`);
  expressions.forEach((e, i) => {
    const p = `${path}.matchExpressions[${i}]`;
    if (!isRecord(e)) {
      issues.push(`${p}: must be an object`);
      return;
    }
    const key = readString(e, 'key', p, issues);
    const values = readStringArray(e, 'values', p, issues).join("', '");
    const op = readString(e, 'operator', p, issues);
    if (op === 'In') parts.push(`${key} in { '${values}' }`);
    else if (op === 'NotIn') parts.push(`${key} not in { '${values}' }`);
    else if (op === 'Exists') parts.push(`has(${key})`);
    else if (op === 'DoesNotExist') parts.push(`! has(${key})`);
    else issues.push(`${p}.operator: unknown operator "${op}"`);
  });
  const text = parts.join(' && ');
  const parsed = parseSelectorCached(text);
  if (!parsed.ok) issues.push(`${path}: cannot be expressed as a Calico selector: ${parsed.error}`);
  return text;
}

interface PeerFields {
  readonly selector: string;
  readonly namespaceSelector: string;
  readonly nets: readonly string[];
  readonly notNets: readonly string[];
}

const ANY_PEER: PeerFields = { selector: '', namespaceSelector: '', nets: [], notNets: [] };

function convertRule(
  raw: unknown,
  peersKey: 'from' | 'to',
  path: string,
  out: RuleSpec[],
  dropped: string[],
  issues: Issues,
): void {
  if (!isRecord(raw)) {
    issues.push(`${path}: must be an object`);
    return;
  }
  const ruleIssues: Issues = [];
  const peers = readArray(raw, peersKey, path, ruleIssues).map((p, i) =>
    readPeer(p, `${path}.${peersKey}[${i}]`, ruleIssues),
  );
  const byProtocol = groupPorts(readArray(raw, 'ports', path, ruleIssues), path, ruleIssues);
  if (ruleIssues.length > 0) {
    // Calico drops a rule it cannot convert and keeps the rest of the policy.
    dropped.push(ruleIssues.join('; '));
    return;
  }
  for (const [protocolName, ports] of [...byProtocol.entries()].sort(([a], [b]) =>
    a < b ? -1 : a > b ? 1 : 0,
  )) {
    const protocol: ProtocolSpec | null =
      protocolName === '' ? null : { kind: 'name', name: protocolName as 'TCP' | 'UDP' | 'SCTP' };
    // One port entity per protocol, shared by its peers' rules (rule specs are read-only).
    const portEntity: EntityRuleSpec = { ...NO_ENTITY, ports: simplifyPorts(ports ?? []) };
    for (const peer of peers.length === 0 ? [ANY_PEER] : peers) {
      const peerEntity: EntityRuleSpec = { ...NO_ENTITY, ...peer };
      out.push({
        action: 'Allow',
        ipVersion: null,
        protocol,
        notProtocol: null,
        icmp: null,
        notIcmp: null,
        source: peersKey === 'from' ? peerEntity : NO_ENTITY,
        destination: peersKey === 'from' ? portEntity : { ...peerEntity, ports: portEntity.ports },
        http: null,
        annotations: {},
      });
    }
  }
}

function readPeer(raw: unknown, path: string, issues: Issues): PeerFields {
  if (!isRecord(raw)) {
    issues.push(`${path}: must be an object`);
    return ANY_PEER;
  }
  const block = readRecord(raw, 'ipBlock', path, issues);
  if (block !== null) {
    const cidr = normaliseNet(readString(block, 'cidr', `${path}.ipBlock`, issues));
    if (cidr === null) issues.push(`${path}.ipBlock.cidr: invalid CIDR`);
    const notNets: string[] = [];
    for (const text of readStringArray(block, 'except', `${path}.ipBlock`, issues)) {
      const n = normaliseNet(text);
      if (n === null) issues.push(`${path}.ipBlock.except: invalid CIDR "${text}"`);
      else notNets.push(n);
    }
    return { selector: '', namespaceSelector: '', nets: cidr === null ? [] : [cidr], notNets };
  }
  const podSel = readRecord(raw, 'podSelector', path, issues);
  const nsSel = readRecord(raw, 'namespaceSelector', path, issues);
  return {
    selector: k8sSelectorToCalico(podSel, 'pod', issues),
    namespaceSelector: nsSel === null ? '' : k8sSelectorToCalico(nsSel, 'namespace', issues),
    nets: [],
    notNets: [],
  };
}

/**
 * Groups a rule's ports by protocol ('' = no ports at all). A null list means "all ports of that
 * protocol" and absorbs any specific ports, as Calico's k8sRuleToCalico does.
 */
function groupPorts(raw: readonly unknown[], path: string, issues: Issues): Map<string, PortSpec[] | null> {
  const out = new Map<string, PortSpec[] | null>();
  if (raw.length === 0) return out.set('', null);
  raw.forEach((p, i) => {
    const pp = `${path}.ports[${i}]`;
    if (!isRecord(p)) {
      issues.push(`${pp}: must be an object`);
      return;
    }
    const protocol = (readString(p, 'protocol', pp, issues) || 'TCP').toUpperCase();
    if (protocol !== 'TCP' && protocol !== 'UDP' && protocol !== 'SCTP') {
      issues.push(`${pp}.protocol: unsupported protocol "${protocol}"`);
      return;
    }
    const port = p['port'];
    if (port === undefined || port === null) {
      out.set(protocol, null);
      return;
    }
    const endPort = readNumber(p, 'endPort', pp, issues);
    const parsed = parsePort(endPort === null ? port : `${String(port)}:${endPort}`);
    if (parsed === null) {
      issues.push(`${pp}: invalid port ${JSON.stringify(port)}`);
      return;
    }
    const existing = out.get(protocol);
    if (existing === undefined) out.set(protocol, [parsed]);
    else if (existing !== null) existing.push(parsed);
  });
  return out;
}

/** Calico's SimplifyPorts: named ports first, then numeric ports merged into sorted ranges. */
export function simplifyPorts(ports: readonly PortSpec[]): PortSpec[] {
  if (ports.length <= 1) return [...ports];
  const named = ports.filter((p) => p.kind === 'named');
  const ranges = ports
    .flatMap((p) => (p.kind === 'range' ? [{ first: p.first, last: p.last }] : []))
    .sort((a, b) => a.first - b.first);
  if (ranges.length <= 1 && ranges.every((r) => r.first === r.last)) return [...ports];
  const merged: { first: number; last: number }[] = [];
  for (const r of ranges) {
    const prev = merged[merged.length - 1];
    if (prev !== undefined && r.first <= prev.last + 1) prev.last = Math.max(prev.last, r.last);
    else merged.push({ ...r });
  }
  return [...named, ...merged.map((r): PortSpec => ({ kind: 'range', first: r.first, last: r.last }))];
}
