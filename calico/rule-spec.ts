// A projectcalico.org/v3 policy rule as users write it (spec.ingress[] / spec.egress[]), read from
// untrusted JSON and validated the way Calico's validator and CRD rules do (alp-istio.md §2.2).
import { parseCidr, parseIp } from './ip.js';
import { parseSelector } from './selector/index.js';
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

export type RuleActionSpec = 'Allow' | 'Deny' | 'Log' | 'Pass';
export type RuleDirection = 'ingress' | 'egress';

/** Calico's protocol names, in the case Calico stores them. */
export type ProtocolName = 'TCP' | 'UDP' | 'ICMP' | 'ICMPv6' | 'SCTP' | 'UDPLite';

export type ProtocolSpec =
  | { readonly kind: 'name'; readonly name: ProtocolName }
  | { readonly kind: 'number'; readonly number: number };

export type PortSpec =
  | { readonly kind: 'range'; readonly first: number; readonly last: number }
  | { readonly kind: 'named'; readonly name: string };

export interface ServiceAccountSpec {
  readonly names: readonly string[];
  readonly selector: string;
}

export interface EntityRuleSpec {
  /** CIDRs, normalised to their network address (a bare IP becomes /32 or /128). */
  readonly nets: readonly string[];
  readonly notNets: readonly string[];
  readonly selector: string;
  readonly notSelector: string;
  readonly namespaceSelector: string;
  readonly ports: readonly PortSpec[];
  readonly notPorts: readonly PortSpec[];
  readonly serviceAccounts: ServiceAccountSpec | null;
}

export type PathSpec =
  { readonly kind: 'exact'; readonly value: string } | { readonly kind: 'prefix'; readonly value: string };

export interface HttpMatchSpec {
  readonly methods: readonly string[];
  readonly paths: readonly PathSpec[];
}

export interface IcmpSpec {
  readonly type: number | null;
  readonly code: number | null;
}

export interface RuleSpec {
  readonly action: RuleActionSpec;
  readonly ipVersion: 4 | 6 | null;
  readonly protocol: ProtocolSpec | null;
  readonly notProtocol: ProtocolSpec | null;
  readonly icmp: IcmpSpec | null;
  readonly notIcmp: IcmpSpec | null;
  readonly source: EntityRuleSpec;
  readonly destination: EntityRuleSpec;
  readonly http: HttpMatchSpec | null;
  readonly annotations: Readonly<Record<string, string>>;
}

const ACTIONS: readonly RuleActionSpec[] = ['Allow', 'Deny', 'Log', 'Pass'];
const PROTOCOL_NAMES: readonly ProtocolName[] = ['TCP', 'UDP', 'ICMP', 'ICMPv6', 'SCTP', 'UDPLite'];
const PROTOCOL_NUMBERS: Readonly<Record<ProtocolName, number>> = {
  TCP: 6,
  UDP: 17,
  ICMP: 1,
  ICMPv6: 58,
  SCTP: 132,
  UDPLite: 136,
};
const PORT_NAME = /^[A-Za-z0-9]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?$/;
const HTTP_LIST_MAX = 20;
const HTTP_PATH_MAX = 1024;

/** The IANA number of a protocol spec (names by Calico's table). */
export function protocolNumber(p: ProtocolSpec): number {
  return p.kind === 'number' ? p.number : PROTOCOL_NUMBERS[p.name];
}

/** Calico's ProtocolFromString: a number 1-255, or a name in any case (kept in its canonical case). */
export function parseProtocol(text: string): ProtocolSpec | null {
  if (/^[0-9]+$/.test(text)) {
    const n = Number(text);
    return n >= 1 && n <= 255 ? { kind: 'number', number: n } : null;
  }
  const name = PROTOCOL_NAMES.find((n) => n.toLowerCase() === text.toLowerCase());
  return name === undefined ? null : { kind: 'name', name };
}

/** The protocol's name (a number that has one is shown by it), for people to read. */
export function protocolLabel(p: ProtocolSpec): string {
  if (p.kind === 'name') return p.name;
  return PROTOCOL_NAMES.find((name) => PROTOCOL_NUMBERS[name] === p.number) ?? String(p.number);
}

/** Whether ports may be given with this protocol: TCP, UDP or SCTP (Calico's SupportsPorts). */
export function protocolSupportsPorts(p: ProtocolSpec): boolean {
  const n = protocolNumber(p);
  return n === 6 || n === 17 || n === 132;
}

/** Reads and validates one rule; `issues` collects every problem found. */
export function readRuleSpec(
  raw: unknown,
  path: string,
  direction: RuleDirection,
  issues: Issues,
): RuleSpec | null {
  if (!isRecord(raw)) {
    issues.push(`${path}: must be an object`);
    return null;
  }
  const actionText = readString(raw, 'action', path, issues);
  const action = ACTIONS.find((a) => a === actionText);
  if (action === undefined)
    issues.push(`${path}.action: must be one of Allow, Deny, Log, Pass (got "${actionText}")`);
  const ipVersionNumber = readNumber(raw, 'ipVersion', path, issues);
  let ipVersion: 4 | 6 | null = null;
  if (ipVersionNumber === 4 || ipVersionNumber === 6) ipVersion = ipVersionNumber;
  else if (ipVersionNumber !== null) issues.push(`${path}.ipVersion: must be 4 or 6`);

  const protocol = readProtocol(raw, 'protocol', path, issues);
  const notProtocol = readProtocol(raw, 'notProtocol', path, issues);
  const icmp = readIcmp(raw, 'icmp', path, issues);
  const notIcmp = readIcmp(raw, 'notICMP', path, issues);
  const source = readEntityRule(raw, 'source', path, issues);
  const destination = readEntityRule(raw, 'destination', path, issues);
  const http = readHttpMatch(raw, path, issues);
  const metadata = readRecord(raw, 'metadata', path, issues);
  const annotations =
    metadata === null ? {} : readStringMap(metadata, 'annotations', `${path}.metadata`, issues);

  const rule: RuleSpec = {
    action: action ?? 'Deny',
    ipVersion,
    protocol,
    notProtocol,
    icmp,
    notIcmp,
    source,
    destination,
    http,
    annotations,
  };
  checkRuleConsistency(rule, path, direction, issues);
  return rule;
}

// Cross-field rules from Calico's validator and CRD CEL rules.
function checkRuleConsistency(rule: RuleSpec, path: string, direction: RuleDirection, issues: Issues): void {
  const portFields: [string, readonly PortSpec[]][] = [
    ['source.ports', rule.source.ports],
    ['source.notPorts', rule.source.notPorts],
    ['destination.ports', rule.destination.ports],
    ['destination.notPorts', rule.destination.notPorts],
  ];
  for (const [field, ports] of portFields) {
    if (rule.protocol === null) {
      if (ports.some((p) => p.kind === 'range'))
        issues.push(`${path}.${field}: numeric ports need protocol TCP, UDP or SCTP`);
    } else if (!protocolSupportsPorts(rule.protocol) && ports.length > 0) {
      issues.push(`${path}.${field}: protocol does not support ports`);
    }
  }
  for (const [field, icmp] of [
    ['icmp', rule.icmp],
    ['notICMP', rule.notIcmp],
  ] as const) {
    if (icmp === null) continue;
    const n = rule.protocol === null ? null : protocolNumber(rule.protocol);
    if (n !== 1 && n !== 58)
      issues.push(`${path}.${field}: ICMP fields require protocol to be ICMP or ICMPv6`);
  }
  if (rule.protocol !== null) {
    const n = protocolNumber(rule.protocol);
    if (n === 1 && rule.ipVersion === 6) issues.push(`${path}.protocol: protocol ICMP requires ipVersion 4`);
    if (n === 58 && rule.ipVersion === 4)
      issues.push(`${path}.protocol: protocol ICMPv6 requires ipVersion 6`);
  }
  checkNetFamilies(rule, path, issues);
  if (rule.http !== null) {
    if (direction === 'egress') issues.push(`${path}.http: not allowed in egress rule`);
    if (rule.action !== 'Allow') issues.push(`${path}.http: HTTP match is only valid on Allow rules`);
    if (rule.protocol !== null && protocolNumber(rule.protocol) !== 6)
      issues.push(`${path}.http: rules with HTTP match must have protocol TCP or unset`);
  }
}

function checkNetFamilies(rule: RuleSpec, path: string, issues: Issues): void {
  const all = [
    ...rule.source.nets,
    ...rule.source.notNets,
    ...rule.destination.nets,
    ...rule.destination.notNets,
  ];
  const families = new Set(all.map((n) => (n.includes(':') ? 6 : 4)));
  if (families.size > 1) issues.push(`${path}: rule contains both IPv4 and IPv6 CIDRs`);
  const [family] = [...families];
  if (rule.ipVersion !== null && family !== undefined && family !== rule.ipVersion)
    issues.push(`${path}: rule IP version doesn't match CIDR version`);
}

function readProtocol(obj: JsonRecord, key: string, path: string, issues: Issues): ProtocolSpec | null {
  const v = obj[key];
  if (v === undefined || v === null) return null;
  const text = typeof v === 'number' ? String(v) : typeof v === 'string' ? v : null;
  const protocol = text === null ? null : parseProtocol(text);
  if (protocol !== null) return protocol;
  issues.push(
    text !== null && /^[0-9]+$/.test(text)
      ? `${path}.${key}: protocol number must be 1-255`
      : `${path}.${key}: must be a protocol number or one of ${PROTOCOL_NAMES.join(', ')}`,
  );
  return null;
}

function readIcmp(obj: JsonRecord, key: string, path: string, issues: Issues): IcmpSpec | null {
  const rec = readRecord(obj, key, path, issues);
  if (rec === null) return null;
  const p = `${path}.${key}`;
  const type = readNumber(rec, 'type', p, issues);
  const code = readNumber(rec, 'code', p, issues);
  if (type !== null && (!Number.isInteger(type) || type < 0 || type > 254))
    issues.push(`${p}.type: must be 0-254`);
  if (code !== null && (!Number.isInteger(code) || code < 0 || code > 255))
    issues.push(`${p}.code: must be 0-255`);
  if (code !== null && type === null) issues.push(`${p}: ICMP code specified without an ICMP type`);
  return type === null && code === null ? null : { type, code };
}

/** A rule side with no criteria (matches anything). */
export const NO_ENTITY: EntityRuleSpec = {
  nets: [],
  notNets: [],
  selector: '',
  notSelector: '',
  namespaceSelector: '',
  ports: [],
  notPorts: [],
  serviceAccounts: null,
};

function readEntityRule(obj: JsonRecord, key: string, path: string, issues: Issues): EntityRuleSpec {
  const rec = readRecord(obj, key, path, issues);
  if (rec === null) return NO_ENTITY;
  const p = `${path}.${key}`;
  if (rec['services'] !== undefined && rec['services'] !== null)
    issues.push(`${p}.services: service matches are not supported by alp-node`);
  const namespaceSelector = readSelectorField(rec, 'namespaceSelector', p, issues);
  if (namespaceSelector.includes('global(') && parseSelector(namespaceSelector).ok) {
    const parsed = parseSelector(namespaceSelector);
    if (parsed.ok && parsed.selector.root.kind !== 'global')
      issues.push(`${p}.namespaceSelector: global() can only be used alone`);
  }
  const selector = readSelectorField(rec, 'selector', p, issues);
  const notSelector = readSelectorField(rec, 'notSelector', p, issues);
  for (const [field, text] of [
    ['selector', selector],
    ['notSelector', notSelector],
  ] as const) {
    if (text.includes('global('))
      issues.push(`${p}.${field}: global() can only be used in an EntityRule namespaceSelector`);
  }
  const sa = readRecord(rec, 'serviceAccounts', p, issues);
  const serviceAccounts =
    sa === null
      ? null
      : {
          names: readStringArray(sa, 'names', `${p}.serviceAccounts`, issues),
          selector: readSelectorField(sa, 'selector', `${p}.serviceAccounts`, issues),
        };
  return {
    nets: readNets(rec, 'nets', p, issues),
    notNets: readNets(rec, 'notNets', p, issues),
    selector,
    notSelector,
    namespaceSelector,
    ports: readPorts(rec, 'ports', p, issues),
    notPorts: readPorts(rec, 'notPorts', p, issues),
    serviceAccounts,
  };
}

/** A selector field that must parse; its text is kept as written. */
export function readSelectorField(obj: JsonRecord, key: string, path: string, issues: Issues): string {
  const text = readString(obj, key, path, issues);
  if (text.trim() === '') return '';
  const parsed = parseSelector(text);
  if (!parsed.ok) issues.push(`${path}.${key}: invalid selector: ${parsed.error}`);
  return parsed.ok ? text : '';
}

function readNets(obj: JsonRecord, key: string, path: string, issues: Issues): string[] {
  const out: string[] = [];
  readStringArray(obj, key, path, issues).forEach((text, i) => {
    const cidr = normaliseNet(text);
    if (cidr === null) issues.push(`${path}.${key}[${i}]: invalid CIDR "${text}"`);
    else if (key === 'notNets' && cidr.endsWith('/0'))
      issues.push(`${path}.${key}[${i}]: catch-all CIDR in negation matches no traffic`);
    else out.push(cidr);
  });
  return out;
}

/** A CIDR as Felix renders it: network address and prefix; a bare IP becomes /32 or /128. */
export function normaliseNet(text: string): string | null {
  const cidr = parseCidr(text);
  if (cidr !== null) return cidr.text;
  const ip = parseIp(text);
  return ip === null ? null : `${ip.text}/${ip.family === 4 ? 32 : 128}`;
}

function readPorts(obj: JsonRecord, key: string, path: string, issues: Issues): PortSpec[] {
  const out: PortSpec[] = [];
  readArray(obj, key, path, issues).forEach((v, i) => {
    const port = parsePort(v);
    if (port === null) issues.push(`${path}.${key}[${i}]: invalid port ${JSON.stringify(v)}`);
    else out.push(port);
  });
  return out;
}

/** Calico's numorstring.Port: 80, "80", "80:90" or a port name. */
export function parsePort(v: unknown): PortSpec | null {
  const text = typeof v === 'number' ? String(v) : typeof v === 'string' ? v : null;
  if (text === null) return null;
  const range = /^([0-9]+)(?::([0-9]+))?$/.exec(text);
  if (range !== null) {
    const first = Number(range[1]);
    const last = range[2] === undefined ? first : Number(range[2]);
    if (first < 1 || last > 65535 || first > last) return null;
    return { kind: 'range', first, last };
  }
  return PORT_NAME.test(text) ? { kind: 'named', name: text } : null;
}

function readHttpMatch(obj: JsonRecord, path: string, issues: Issues): HttpMatchSpec | null {
  const rec = readRecord(obj, 'http', path, issues);
  if (rec === null) return null;
  const p = `${path}.http`;
  const methods = readStringArray(rec, 'methods', p, issues);
  if (methods.length > HTTP_LIST_MAX) issues.push(`${p}.methods: at most ${HTTP_LIST_MAX} entries`);
  const seen = new Set<string>();
  for (const m of methods) {
    if (seen.has(m)) issues.push(`${p}.methods: duplicate method "${m}"`);
    seen.add(m);
  }
  const rawPaths = readArray(rec, 'paths', p, issues);
  if (rawPaths.length > HTTP_LIST_MAX) issues.push(`${p}.paths: at most ${HTTP_LIST_MAX} entries`);
  const paths: PathSpec[] = [];
  rawPaths.forEach((raw, i) => {
    const path = readPathSpec(raw, `${p}.paths[${i}]`, issues);
    if (path !== null) paths.push(path);
  });
  return { methods, paths };
}

function readPathSpec(raw: unknown, path: string, issues: Issues): PathSpec | null {
  if (!isRecord(raw)) {
    issues.push(`${path}: must be an object with exact or prefix`);
    return null;
  }
  const exact = readString(raw, 'exact', path, issues);
  const prefix = readString(raw, 'prefix', path, issues);
  if (exact !== '' && prefix !== '') {
    issues.push(`${path}: Invalid path match. Both 'exact' and 'prefix' are set`);
    return null;
  }
  const value = exact !== '' ? exact : prefix;
  if (value === '') {
    issues.push(`${path}: Invalid path match. Either 'exact' or 'prefix' must be set`);
    return null;
  }
  if (!value.startsWith('/') || /[? #]/.test(value)) {
    issues.push(`${path}: Invalid path ${value} (must start with "/" and not contain "?", "#" or a space)`);
    return null;
  }
  if (value.length > HTTP_PATH_MAX) {
    issues.push(`${path}: path longer than ${HTTP_PATH_MAX} characters`);
    return null;
  }
  return exact !== '' ? { kind: 'exact', value } : { kind: 'prefix', value };
}
