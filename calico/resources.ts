// Calico's policy resources (GlobalNetworkPolicy, NetworkPolicy, their staged kinds, Tier,
// GlobalNetworkSet, NetworkSet) read from untrusted JSON, defaulted and validated as Calico's
// API server would, so a bad resource becomes a rejection with a reason instead of a surprise.
import type { PolicyId } from './policy-id.js';
import type { RuleSpec } from './rule-spec.js';
import { normaliseNet, readRuleSpec, readSelectorField } from './rule-spec.js';
import type { Issues, JsonRecord } from './spec-fields.js';
import {
  isRecord,
  readArray,
  readBoolean,
  readNumber,
  readRecord,
  readString,
  readStringArray,
  readStringMap,
} from './spec-fields.js';

export type PolicyType = 'Ingress' | 'Egress';
export type StagedAction = 'Set' | 'Delete';

/** A policy in the form the calculation uses, whatever kind it was written as. */
export interface PolicySpec {
  readonly id: PolicyId;
  readonly tier: string;
  /** null sorts after every number, as Calico's missing order does. */
  readonly order: number | null;
  readonly selector: string;
  /** GlobalNetworkPolicy only: restricts the selected endpoints to matching namespaces. */
  readonly namespaceSelector: string;
  readonly serviceAccountSelector: string;
  readonly types: readonly PolicyType[];
  readonly ingress: readonly RuleSpec[];
  readonly egress: readonly RuleSpec[];
  readonly doNotTrack: boolean;
  readonly preDNAT: boolean;
  readonly applyOnForward: boolean;
  /** Staged kinds only; `Delete` means "staged removal", which Felix never sends. */
  readonly stagedAction: StagedAction | null;
}

export interface TierSpec {
  readonly name: string;
  readonly order: number | null;
  readonly defaultAction: 'Deny' | 'Pass';
}

export interface NetworkSetSpec {
  readonly kind: 'GlobalNetworkSet' | 'NetworkSet';
  readonly name: string;
  /** '' for a GlobalNetworkSet. */
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
  /** Normalised CIDRs (network address; a bare IP becomes /32 or /128). */
  readonly nets: readonly string[];
}

export type CalicoResource =
  | { readonly kind: 'policy'; readonly policy: PolicySpec }
  | { readonly kind: 'tier'; readonly tier: TierSpec }
  | { readonly kind: 'network-set'; readonly networkSet: NetworkSetSpec };

export type ResourceParseResult<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: string };

export const CALICO_API_VERSIONS: readonly string[] = ['projectcalico.org/v3', 'crd.projectcalico.org/v1'];

export const DEFAULT_TIER = 'default';
/** Calico creates the default tier with this order and a Deny default action. */
export const DEFAULT_TIER_ORDER = 1_000_000;

const CALICO_POLICY_KINDS = [
  'GlobalNetworkPolicy',
  'NetworkPolicy',
  'StagedGlobalNetworkPolicy',
  'StagedNetworkPolicy',
] as const;
type CalicoPolicyKind = (typeof CALICO_POLICY_KINDS)[number];

/** Whether parseCalicoResource understands this apiVersion and kind. */
export function isCalicoKind(apiVersion: string, kind: string): boolean {
  if (!CALICO_API_VERSIONS.includes(apiVersion)) return false;
  return (
    (CALICO_POLICY_KINDS as readonly string[]).includes(kind) ||
    kind === 'Tier' ||
    kind === 'GlobalNetworkSet' ||
    kind === 'NetworkSet'
  );
}

/** Reads one Calico resource. StagedKubernetesNetworkPolicy is read by k8s-network-policy.ts. */
export function parseCalicoResource(raw: unknown): ResourceParseResult<CalicoResource> {
  if (!isRecord(raw)) return { ok: false, reason: 'resource must be an object' };
  const issues: Issues = [];
  const kind = readString(raw, 'kind', '', issues);
  const meta = readMetadata(raw, issues);
  const spec = readRecord(raw, 'spec', '', issues) ?? {};
  let resource: CalicoResource | null = null;
  const policyKind = CALICO_POLICY_KINDS.find((k) => k === kind);
  if (policyKind !== undefined)
    resource = { kind: 'policy', policy: readPolicy(policyKind, meta, spec, issues) };
  else if (kind === 'Tier') resource = { kind: 'tier', tier: readTier(meta, spec, issues) };
  else if (kind === 'GlobalNetworkSet' || kind === 'NetworkSet')
    resource = { kind: 'network-set', networkSet: readNetworkSet(kind, meta, spec, issues) };
  else issues.push(`kind: unsupported kind "${kind}"`);
  if (issues.length > 0 || resource === null) return { ok: false, reason: issues.join('; ') };
  return { ok: true, value: resource };
}

export interface ObjectMeta {
  readonly name: string;
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
}

/** metadata.name (required), metadata.namespace and metadata.labels. */
export function readMetadata(raw: JsonRecord, issues: Issues): ObjectMeta {
  const meta = readRecord(raw, 'metadata', '', issues) ?? {};
  const name = readString(meta, 'name', 'metadata', issues);
  if (name === '') issues.push('metadata.name: required');
  return {
    name,
    namespace: readString(meta, 'namespace', 'metadata', issues),
    labels: readStringMap(meta, 'labels', 'metadata', issues),
  };
}

const NAMESPACED_POLICY_KINDS = new Set<string>(['NetworkPolicy', 'StagedNetworkPolicy']);

function readPolicy(kind: CalicoPolicyKind, meta: ObjectMeta, spec: JsonRecord, issues: Issues): PolicySpec {
  const namespaced = NAMESPACED_POLICY_KINDS.has(kind);
  if (namespaced && meta.namespace === '') issues.push(`metadata.namespace: required for ${kind}`);
  const tier = readString(spec, 'tier', 'spec', issues) || DEFAULT_TIER;
  const ingress = readRules(spec, 'ingress', issues);
  const egress = readRules(spec, 'egress', issues);
  const staged = kind.startsWith('Staged');
  const stagedText = readString(spec, 'stagedAction', 'spec', issues);
  let stagedAction: StagedAction | null = null;
  if (staged) {
    if (stagedText === '' || stagedText === 'Set' || stagedText === 'Delete')
      stagedAction = stagedText === 'Delete' ? 'Delete' : 'Set';
    else issues.push('spec.stagedAction: must be Set or Delete');
  }
  const policy: PolicySpec = {
    id: { name: meta.name, namespace: namespaced ? meta.namespace : '', kind },
    tier,
    order: readNumber(spec, 'order', 'spec', issues),
    selector: readSelectorField(spec, 'selector', 'spec', issues),
    namespaceSelector: namespaced ? '' : readSelectorField(spec, 'namespaceSelector', 'spec', issues),
    serviceAccountSelector: readSelectorField(spec, 'serviceAccountSelector', 'spec', issues),
    types: readPolicyTypes(spec, ingress.length, egress.length, issues),
    ingress,
    egress,
    doNotTrack: readBoolean(spec, 'doNotTrack', 'spec', issues),
    preDNAT: readBoolean(spec, 'preDNAT', 'spec', issues),
    applyOnForward: readBoolean(spec, 'applyOnForward', 'spec', issues),
    stagedAction,
  };
  if (policy.doNotTrack && policy.preDNAT) issues.push('spec: preDNAT and doNotTrack cannot both be true');
  if (policy.preDNAT && egress.length > 0) issues.push('spec: preDNAT policy cannot have any egress rules');
  for (const [field, text] of [
    ['selector', policy.selector],
    ['serviceAccountSelector', policy.serviceAccountSelector],
  ] as const) {
    if (text.includes('global('))
      issues.push(`spec.${field}: global() can only be used in an EntityRule namespaceSelector`);
  }
  return policy;
}

function readRules(spec: JsonRecord, key: 'ingress' | 'egress', issues: Issues): RuleSpec[] {
  const out: RuleSpec[] = [];
  readArray(spec, key, 'spec', issues).forEach((raw, i) => {
    const rule = readRuleSpec(raw, `spec.${key}[${i}]`, key, issues);
    if (rule !== null) out.push(rule);
  });
  return out;
}

/** spec.types, defaulted from the rules present as Calico's API defaulting does. */
function readPolicyTypes(
  spec: JsonRecord,
  ingressCount: number,
  egressCount: number,
  issues: Issues,
): PolicyType[] {
  const written = readStringArray(spec, 'types', 'spec', issues);
  if (written.length === 0) {
    if (egressCount === 0) return ['Ingress'];
    return ingressCount === 0 ? ['Egress'] : ['Ingress', 'Egress'];
  }
  const out: PolicyType[] = [];
  for (const t of written) {
    if (t !== 'Ingress' && t !== 'Egress') issues.push(`spec.types: unknown type "${t}"`);
    else if (out.includes(t)) issues.push(`spec.types: '${t}' type specified more than once`);
    else out.push(t);
  }
  return out;
}

function readTier(meta: ObjectMeta, spec: JsonRecord, issues: Issues): TierSpec {
  const action = readString(spec, 'defaultAction', 'spec', issues);
  if (action !== '' && action !== 'Deny' && action !== 'Pass')
    issues.push('spec.defaultAction: must be Deny or Pass');
  const order = readNumber(spec, 'order', 'spec', issues);
  return {
    name: meta.name,
    order: order ?? (meta.name === DEFAULT_TIER ? DEFAULT_TIER_ORDER : null),
    // Felix maps anything but Pass to Deny (tierprocessor.go).
    defaultAction: action === 'Pass' ? 'Pass' : 'Deny',
  };
}

function readNetworkSet(
  kind: 'GlobalNetworkSet' | 'NetworkSet',
  meta: ObjectMeta,
  spec: JsonRecord,
  issues: Issues,
): NetworkSetSpec {
  if (kind === 'NetworkSet' && meta.namespace === '')
    issues.push('metadata.namespace: required for NetworkSet');
  const nets: string[] = [];
  readStringArray(spec, 'nets', 'spec', issues).forEach((text, i) => {
    const cidr = normaliseNet(text);
    if (cidr === null) issues.push(`spec.nets[${i}]: invalid CIDR "${text}"`);
    else nets.push(cidr);
  });
  return {
    kind,
    name: meta.name,
    namespace: kind === 'NetworkSet' ? meta.namespace : '',
    labels: meta.labels,
    nets,
  };
}
