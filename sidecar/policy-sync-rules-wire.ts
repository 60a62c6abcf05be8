// PolicySync's ActivePolicyUpdate and ActiveProfileUpdate read straight from their bytes into the
// Rule model. Through proto-loader a production snapshot's ~20,000 rules were each decoded by
// reflection, copied by toObject with every default filled in, then converted by ruleFromWire:
// after the IP sets, the largest cost from stream to store.
//
// Exactness comes first: a message is taken only when every field is a declared one with its
// declared wire type, and in a form protobufjs reads the same way; anything else (unknown fields,
// undeclared enum values, both members of a oneof, a message field given twice, rule metadata,
// long or cut-off varints) returns null and the caller decodes the message through proto-loader.
// The returned object is what proto-loader gives (our loader options), except that the rule lists
// (`inbound_rules`, `outbound_rules`) are made through proto-loader only when something reads
// them; the store reads the inbound rules as Rules under INBOUND_RULES instead.
// policy-sync-wire.test.ts compares both with proto-loader and ruleFromWire.
import {
  emptyRule,
  type HttpMatch,
  type IcmpMatch,
  type PathMatch,
  type PortRange,
  type ProtocolMatch,
  type Rule,
} from '../calico/rule.js';
import type { ServiceAccountMatch } from '../calico/rule.js';
import { INBOUND_RULES } from '../policy/wire-rules.js';
import type { ToDataplane__Output } from '../proto/gen/felix/ToDataplane.js';
import { Cursor } from './wire-cursor.js';

/** Shared by every rule that leaves a list empty; the model's lists are read-only. */
const NONE: readonly never[] = Object.freeze([]);
const NO_ANNOTATIONS: ReadonlyMap<string, string> = new Map();

const WIRE_VARINT = 0;
const WIRE_DELIMITED = 2;

/** The decoder proto-loader would use, for the lazily made rule lists. */
export type SlowDecode = (buf: Buffer) => ToDataplane__Output;

/** A delimited field's content as a sub-cursor (advancing `c` past it), or null. */
function sub(c: Cursor): Cursor | null {
  const end = c.delimited();
  if (end < 0) return null;
  const inner = new Cursor(c.buf, c.pos, end);
  c.pos = end;
  return inner;
}

/** felix.Protocol: {number | name}, or empty; null to give up. */
function readProtocol(c: Cursor): ProtocolMatch | null {
  let out: ProtocolMatch = { kind: 'empty' };
  while (c.pos < c.end) {
    const tag = c.varint();
    if (out.kind !== 'empty') return null; // a oneof member given twice or both: left to proto-loader
    if (tag === 0x08) {
      const v = c.varint();
      if (v < 0) return null;
      out = { kind: 'number', number: v | 0 };
    } else if (tag === 0x12) {
      const s = c.string();
      if (s === null) return null;
      out = { kind: 'name', name: s };
    } else return null;
  }
  return out;
}

/** felix.PortRange or felix.IcmpTypeAndCode: two int32 fields, 1 and 2. */
function readIntPair(c: Cursor): [number, number] | null {
  let a = 0;
  let b = 0;
  while (c.pos < c.end) {
    const tag = c.varint();
    if (tag !== 0x08 && tag !== 0x10) return null;
    const v = c.varint();
    if (v < 0) return null;
    if (tag === 0x08) a = v | 0;
    else b = v | 0;
  }
  return [a, b];
}

function readServiceAccountMatch(c: Cursor): ServiceAccountMatch | null {
  let selector = '';
  const names: string[] = [];
  while (c.pos < c.end) {
    const tag = c.varint();
    if (tag !== 0x0a && tag !== 0x12) return null;
    const s = c.string();
    if (s === null) return null;
    if (tag === 0x0a) selector = s;
    else names.push(s);
  }
  return { selector, names };
}

function readPathMatch(c: Cursor): PathMatch | null {
  let out: PathMatch = { kind: 'none' };
  while (c.pos < c.end) {
    const tag = c.varint();
    if (out.kind !== 'none' || (tag !== 0x0a && tag !== 0x12)) return null;
    const s = c.string();
    if (s === null) return null;
    out = { kind: tag === 0x0a ? 'exact' : 'prefix', value: s };
  }
  return out;
}

function readHttpMatch(c: Cursor): HttpMatch | null {
  const methods: string[] = [];
  const paths: PathMatch[] = [];
  while (c.pos < c.end) {
    const tag = c.varint();
    if (tag === 0x0a) {
      const s = c.string();
      if (s === null) return null;
      methods.push(s);
    } else if (tag === 0x12) {
      const inner = sub(c);
      const p = inner === null ? null : readPathMatch(inner);
      if (p === null) return null;
      paths.push(p);
    } else return null;
  }
  return { methods, paths };
}

const IP_VERSIONS: ReadonlyMap<number, 0 | 4 | 6> = new Map([
  [0, 0],
  [4, 4],
  [6, 6],
]);

/** Field number → the Rule's repeated-string property (felix.Rule). */
const STRING_LISTS: ReadonlyMap<number, keyof Rule> = new Map<number, keyof Rule>([
  [4, 'srcNet'],
  [12, 'srcNamedPortIpSetIds'],
  [10, 'srcIpSetIds'],
  [103, 'notSrcNet'],
  [109, 'notSrcIpSetIds'],
  [112, 'notSrcNamedPortIpSetIds'],
  [6, 'dstNet'],
  [13, 'dstNamedPortIpSetIds'],
  [11, 'dstIpSetIds'],
  [15, 'dstIpPortSetIds'],
  [105, 'notDstNet'],
  [110, 'notDstIpSetIds'],
  [113, 'notDstNamedPortIpSetIds'],
]);

/** Field number → the Rule's string property. */
const STRINGS: ReadonlyMap<number, keyof Rule> = new Map<number, keyof Rule>([
  [1, 'action'],
  [114, 'originalSrcSelector'],
  [115, 'originalDstSelector'],
  [116, 'originalSrcNamespaceSelector'],
  [117, 'originalDstNamespaceSelector'],
  [118, 'originalNotSrcSelector'],
  [119, 'originalNotDstSelector'],
  [130, 'originalDstService'],
  [131, 'originalDstServiceNamespace'],
  [132, 'originalSrcService'],
  [133, 'originalSrcServiceNamespace'],
  [201, 'ruleId'],
]);

/** Field number → the Rule's port-range list property. */
const PORT_LISTS: ReadonlyMap<number, keyof Rule> = new Map<number, keyof Rule>([
  [5, 'srcPorts'],
  [104, 'notSrcPorts'],
  [7, 'dstPorts'],
  [106, 'notDstPorts'],
]);

/**
 * A fresh rule to be filled from the wire: calico/rule.ts's empty rule (one object literal, so one
 * shape for every rule; a copy of a frozen template cost ~9 µs a rule on the slow path), its empty
 * lists and annotations the shared read-only ones, so that a rule only allocates the lists it fills.
 */
function emptyWireRule(): { -readonly [K in keyof Rule]: Rule[K] } {
  return emptyRule('', NONE, NO_ANNOTATIONS);
}

/** Appends to a list property that may still be the shared empty list. */
function append<T>(rule: Record<string, unknown>, key: string, value: T): void {
  const list = rule[key] as T[];
  if ((list as readonly unknown[]) === NONE) rule[key] = [value];
  else list.push(value);
}

/** One felix.Rule as ruleFromWire would make it from proto-loader's object; null to give up. */
function readRule(c: Cursor): Rule | null {
  const rule = emptyWireRule();
  const r = rule as unknown as Record<string, unknown>;
  // Singular message fields seen (protobufjs replaces where the spec merges): bit per field.
  let seen = 0;
  const once = (bit: number): boolean => {
    if ((seen & bit) !== 0) return false;
    seen |= bit;
    return true;
  };
  while (c.pos < c.end) {
    const tag = c.varint();
    if (tag < 0) return null;
    const field = tag >>> 3;
    const wire = tag & 7;
    if (wire === WIRE_DELIMITED) {
      const listKey = STRING_LISTS.get(field);
      if (listKey !== undefined) {
        const s = c.string();
        if (s === null) return null;
        append(r, listKey, s);
        continue;
      }
      const key = STRINGS.get(field);
      if (key !== undefined) {
        const s = c.string();
        if (s === null) return null;
        r[key] = s;
        continue;
      }
      const inner = sub(c);
      if (inner === null) return null;
      const portsKey = PORT_LISTS.get(field);
      if (portsKey !== undefined) {
        const pair = readIntPair(inner);
        if (pair === null) return null;
        append<PortRange>(r, portsKey, { first: pair[0], last: pair[1] });
        continue;
      }
      switch (field) {
        case 3:
        case 102: {
          if (!once(field === 3 ? 1 : 2)) return null;
          const p = readProtocol(inner);
          if (p === null) return null;
          if (field === 3) rule.protocol = p;
          else rule.notProtocol = p;
          break;
        }
        case 9:
        case 108: {
          // icmp_type_code / not_icmp_type_code: its oneof's other member must be absent.
          if (!once(field === 9 ? 4 : 8)) return null;
          const pair = readIntPair(inner);
          if (pair === null) return null;
          const icmp: IcmpMatch = { type: pair[0], code: pair[1] };
          if (field === 9) rule.icmp = icmp;
          else rule.notIcmp = icmp;
          break;
        }
        case 120:
        case 121: {
          if (!once(field === 120 ? 16 : 32)) return null;
          const m = readServiceAccountMatch(inner);
          if (m === null) return null;
          if (field === 120) rule.srcServiceAccountMatch = m;
          else rule.dstServiceAccountMatch = m;
          break;
        }
        case 122: {
          if (!once(64)) return null;
          const m = readHttpMatch(inner);
          if (m === null) return null;
          rule.httpMatch = m;
          break;
        }
        default:
          return null; // metadata (a map) and unknown fields: proto-loader's
      }
      continue;
    }
    if (wire !== WIRE_VARINT) return null;
    const v = c.varint();
    if (v < 0) return null;
    if (field === 2) {
      const version = IP_VERSIONS.get(v);
      if (version === undefined) return null;
      rule.ipVersion = version;
    } else if (field === 8 || field === 107) {
      // icmp_type / not_icmp_type: given twice, the last wins (as in protobufjs).
      seen |= field === 8 ? 128 : 256;
      const icmp: IcmpMatch = { type: v | 0, code: null };
      if (field === 8) rule.icmp = icmp;
      else rule.notIcmp = icmp;
    } else return null;
  }
  // Both members of the oneof icmp (or not_icmp), in either order: left to proto-loader.
  if ((seen & 4) !== 0 && (seen & 128) !== 0) return null;
  if ((seen & 8) !== 0 && (seen & 256) !== 0) return null;
  return rule;
}

/** A repeated felix.Rule field's next element, appended to `into` (or only checked, into = null). */
function readRuleInto(c: Cursor, into: Rule[] | null): boolean {
  const inner = sub(c);
  if (inner === null) return false;
  const rule = readRule(inner);
  if (rule === null) return false;
  into?.push(rule);
  return true;
}

/** The rule lists of message `field` of the ToDataplane in `buf`, made by proto-loader on first read. */
function lazyRuleLists(
  buf: Buffer,
  slow: SlowDecode,
  pick: (msg: ToDataplane__Output) => { inbound_rules: unknown[]; outbound_rules: unknown[] },
): { inbound: () => unknown[]; outbound: () => unknown[] } {
  let decoded: { inbound_rules: unknown[]; outbound_rules: unknown[] } | null = null;
  const get = () => (decoded ??= pick(slow(buf)));
  return { inbound: () => get().inbound_rules, outbound: () => get().outbound_rules };
}

/** felix.Policy or felix.Profile: the inbound rules, and the outbound ones checked but not kept. */
interface RuleLists {
  inbound: Rule[];
  untracked: boolean;
  preDnat: boolean;
  namespace: string;
  originalSelector: string;
  tier: string;
}

function readRuleLists(c: Cursor, policy: boolean): RuleLists | null {
  const out: RuleLists = {
    inbound: [],
    untracked: false,
    preDnat: false,
    namespace: '',
    originalSelector: '',
    tier: '',
  };
  while (c.pos < c.end) {
    const tag = c.varint();
    if (tag === 0x0a) {
      if (!readRuleInto(c, out.inbound)) return null;
    } else if (tag === 0x12) {
      if (!readRuleInto(c, null)) return null;
    } else if (!policy) {
      return null;
    } else if (tag === 0x18 || tag === 0x20) {
      const v = c.varint();
      if (v < 0) return null;
      if (tag === 0x18) out.untracked = v !== 0;
      else out.preDnat = v !== 0;
    } else if (tag === 0x2a || tag === 0x32 || tag === 0x42) {
      const s = c.string();
      if (s === null) return null;
      if (tag === 0x2a) out.namespace = s;
      else if (tag === 0x32) out.originalSelector = s;
      else out.tier = s;
    } else return null;
  }
  return out;
}

/** A message of string fields: field number → value ("" when absent); null on anything else. */
function readStringFields(c: Cursor, fields: readonly number[]): string[] | null {
  const out = fields.map(() => '');
  while (c.pos < c.end) {
    const tag = c.varint();
    const at = (tag & 7) === WIRE_DELIMITED ? fields.indexOf(tag >>> 3) : -1;
    if (tag < 0 || at < 0) return null;
    const s = c.string();
    if (s === null) return null;
    out[at] = s;
  }
  return out;
}

/** The fields 1 (id) and 2 (policy or profile) of an Active*Update, each at most once. */
function idAndBody(c: Cursor): { id: Cursor | null; body: Cursor | null } | null {
  let id: Cursor | null = null;
  let body: Cursor | null = null;
  while (c.pos < c.end) {
    const tag = c.varint();
    if ((tag !== 0x0a || id !== null) && (tag !== 0x12 || body !== null)) return null;
    const inner = sub(c);
    if (inner === null) return null;
    if (tag === 0x0a) id = inner;
    else body = inner;
  }
  return { id, body };
}

/** ToDataplane.active_policy_update (field 7) from `c`, its content. */
export function readActivePolicyUpdate(
  c: Cursor,
  buf: Buffer,
  slow: SlowDecode,
): ToDataplane__Output['active_policy_update'] | null {
  const parts = idAndBody(c);
  if (parts === null) return null;
  let id = null;
  if (parts.id !== null) {
    const f = readStringFields(parts.id, [2, 3, 4]);
    if (f === null) return null;
    id = { name: f[0]!, namespace: f[1]!, kind: f[2]! };
  }
  if (parts.body === null) return { id, policy: null };
  const lists = readRuleLists(parts.body, true);
  if (lists === null) return null;
  const rules = lazyRuleLists(buf, slow, (m) => m.active_policy_update!.policy!);
  const policy = {
    get inbound_rules() {
      return rules.inbound();
    },
    get outbound_rules() {
      return rules.outbound();
    },
    untracked: lists.untracked,
    pre_dnat: lists.preDnat,
    namespace: lists.namespace,
    original_selector: lists.originalSelector,
    tier: lists.tier,
    [INBOUND_RULES]: lists.inbound,
  };
  return { id, policy } as ToDataplane__Output['active_policy_update'];
}

/** ToDataplane.active_profile_update (field 5) from `c`, its content. */
export function readActiveProfileUpdate(
  c: Cursor,
  buf: Buffer,
  slow: SlowDecode,
): ToDataplane__Output['active_profile_update'] | null {
  const parts = idAndBody(c);
  if (parts === null) return null;
  let id = null;
  if (parts.id !== null) {
    const f = readStringFields(parts.id, [1]);
    if (f === null) return null;
    id = { name: f[0]! };
  }
  if (parts.body === null) return { id, profile: null };
  const lists = readRuleLists(parts.body, false);
  if (lists === null) return null;
  const rules = lazyRuleLists(buf, slow, (m) => m.active_profile_update!.profile!);
  const profile = {
    get inbound_rules() {
      return rules.inbound();
    },
    get outbound_rules() {
      return rules.outbound();
    },
    [INBOUND_RULES]: lists.inbound,
  };
  return { id, profile } as ToDataplane__Output['active_profile_update'];
}
