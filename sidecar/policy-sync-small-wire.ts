// PolicySync's small messages (InSync, the removes, the endpoint, service-account and namespace
// updates) read straight from their bytes. There are few of them, but through proto-loader the
// first of each kind made protobufjs generate its decoder and toObject code: ~14 ms of the ~21 ms
// from stream open to first verdict on a one-policy store. Here one table-driven reader covers
// them all, so nothing is generated.
//
// The contract is policy-sync-wire.ts's: the object is what proto-loader gives with our loader
// options (every default filled in: "" for strings, [] for lists, {} for maps, null for messages),
// or null to let proto-loader decode the message. Unlike the bulk readers, fields this subset
// does not declare are skipped as protobufjs skips them (Felix's WorkloadEndpoint has more fields
// than ours); a declared field with another wire type, a message field given twice, a map key
// "__proto__", groups and long or cut-off varints are left to proto-loader.
import type { ToDataplane__Output } from '../proto/gen/felix/ToDataplane.js';
import { Cursor } from './wire-cursor.js';

type FieldKind = 'string' | 'strings' | 'message' | 'messages' | 'map';

interface Field {
  readonly name: string;
  readonly kind: FieldKind;
  /** The shape of a message or messages field. */
  readonly of?: Shape;
}

/**
 * One message type of felixbackend.proto: its fields (all length-delimited) by number, and its
 * defaults as proto-loader fills them in, made by an object literal so that every message of a
 * type has one hidden class (built field by field, reading them was slower than protobufjs).
 */
interface Shape {
  readonly byNumber: readonly (Field | undefined)[];
  readonly defaults: () => Record<string, unknown>;
}

function shape(fields: Record<number, Field>, defaults: () => Record<string, unknown>): Shape {
  const byNumber: (Field | undefined)[] = [];
  for (const [n, f] of Object.entries(fields)) byNumber[Number(n)] = f;
  return { byNumber, defaults };
}

const str = (name: string): Field => ({ name, kind: 'string' });
const strs = (name: string): Field => ({ name, kind: 'strings' });
const msg = (name: string, of: Shape): Field => ({ name, kind: 'message', of });
const msgs = (name: string, of: Shape): Field => ({ name, kind: 'messages', of });
const map = (name: string): Field => ({ name, kind: 'map' });

const POLICY_ID = shape({ 2: str('name'), 3: str('namespace'), 4: str('kind') }, () => ({
  name: '',
  namespace: '',
  kind: '',
}));
const PROFILE_ID = shape({ 1: str('name') }, () => ({ name: '' }));
const ENDPOINT_ID = shape(
  { 2: str('orchestrator_id'), 3: str('workload_id'), 4: str('endpoint_id') },
  () => ({ orchestrator_id: '', workload_id: '', endpoint_id: '' }),
);
const TIER_INFO = shape(
  {
    1: str('name'),
    2: msgs('ingress_policies', POLICY_ID),
    3: msgs('egress_policies', POLICY_ID),
    4: str('default_action'),
  },
  () => ({ name: '', ingress_policies: [], egress_policies: [], default_action: '' }),
);
const ENDPOINT = shape(
  {
    1: str('state'),
    2: str('name'),
    3: str('mac'),
    4: strs('profile_ids'),
    5: strs('ipv4_nets'),
    6: strs('ipv6_nets'),
    7: msgs('tiers', TIER_INFO),
    11: map('annotations'),
  },
  () => ({
    state: '',
    name: '',
    mac: '',
    profile_ids: [],
    ipv4_nets: [],
    ipv6_nets: [],
    tiers: [],
    annotations: {},
  }),
);
const ACCOUNT_ID = shape({ 1: str('namespace'), 2: str('name') }, () => ({ namespace: '', name: '' }));
const NAMESPACE_ID = shape({ 1: str('name') }, () => ({ name: '' }));

/** A message whose one field is `id`, of shape `of`. */
const withId = (of: Shape): Shape => shape({ 1: msg('id', of) }, () => ({ id: null }));
/** A message of an `id` (field 1) and `labels` (2). */
const labelled = (of: Shape): Shape =>
  shape({ 1: msg('id', of), 2: map('labels') }, () => ({ id: null, labels: {} }));

/** ToDataplane's payload field number → its name and shape, for the payloads read here. */
export const SMALL_PAYLOADS: ReadonlyMap<number, { name: string; shape: Shape }> = new Map([
  [1, { name: 'in_sync', shape: shape({}, () => ({})) }],
  [4, { name: 'ipset_remove', shape: shape({ 1: str('id') }, () => ({ id: '' })) }],
  [6, { name: 'active_profile_remove', shape: withId(PROFILE_ID) }],
  [8, { name: 'active_policy_remove', shape: withId(POLICY_ID) }],
  [
    11,
    {
      name: 'workload_endpoint_update',
      shape: shape({ 1: msg('id', ENDPOINT_ID), 5: msg('endpoint', ENDPOINT) }, () => ({
        id: null,
        endpoint: null,
      })),
    },
  ],
  [12, { name: 'workload_endpoint_remove', shape: withId(ENDPOINT_ID) }],
  [19, { name: 'service_account_update', shape: labelled(ACCOUNT_ID) }],
  [20, { name: 'service_account_remove', shape: withId(ACCOUNT_ID) }],
  [21, { name: 'namespace_update', shape: labelled(NAMESPACE_ID) }],
  [22, { name: 'namespace_remove', shape: withId(NAMESPACE_ID) }],
]);

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_DELIMITED = 2;
const WIRE_FIXED32 = 5;

/** Skips an undeclared field's value as protobufjs's skipType does; false for groups or a cut-off value. */
function skipValue(c: Cursor, wire: number): boolean {
  switch (wire) {
    case WIRE_VARINT:
      // protobufjs reads on until a byte without the high bit, however many there are.
      while (c.pos < c.end) if (c.buf[c.pos++]! < 0x80) return true;
      return false;
    case WIRE_FIXED64:
    case WIRE_FIXED32: {
      const size = wire === WIRE_FIXED64 ? 8 : 4;
      if (c.end - c.pos < size) return false;
      c.pos += size;
      return true;
    }
    case WIRE_DELIMITED: {
      const end = c.delimited();
      if (end < 0) return false;
      c.pos = end;
      return true;
    }
    default:
      return false;
  }
}

/** A map<string, string> entry added to `into`; false to give up. */
function readMapEntry(c: Cursor, into: Record<string, string>): boolean {
  let key = '';
  let value = '';
  while (c.pos < c.end) {
    const tag = c.varint();
    if (tag < 8) return false; // cut off, or field 0
    if (tag === 0x0a || tag === 0x12) {
      const s = c.string();
      if (s === null) return false;
      if (tag === 0x0a) key = s;
      else value = s;
    } else if (tag >>> 3 <= 2 || !skipValue(c, tag & 7)) return false;
  }
  // protobufjs makes "__proto__" an own property; a plain assignment would set the prototype.
  if (key === '__proto__') return false;
  into[key] = value;
  return true;
}

/** One message of shape `s` as proto-loader's object; null to give up. */
function readMessage(c: Cursor, s: Shape): Record<string, unknown> | null {
  const out = s.defaults();
  let seen = 0; // a bit per singular message field read (their numbers are below 32)
  while (c.pos < c.end) {
    const tag = c.varint();
    if (tag < 8) return null; // cut off, or field 0
    const number = tag >>> 3;
    const field = s.byNumber[number];
    if (field === undefined) {
      if (!skipValue(c, tag & 7)) return null;
      continue;
    }
    // protobufjs reads a declared field by its declared type whatever the wire type says.
    if ((tag & 7) !== WIRE_DELIMITED) return null;
    if (field.kind === 'string' || field.kind === 'strings') {
      const text = c.string();
      if (text === null) return null;
      if (field.kind === 'string') out[field.name] = text;
      else (out[field.name] as string[]).push(text);
      continue;
    }
    const end = c.delimited();
    if (end < 0) return null;
    const inner = new Cursor(c.buf, c.pos, end);
    c.pos = end;
    if (field.kind === 'map') {
      if (!readMapEntry(inner, out[field.name] as Record<string, string>)) return null;
      continue;
    }
    // Given twice, protobufjs keeps the last where protobuf merges: left to proto-loader.
    if (field.kind === 'message') {
      if ((seen & (1 << number)) !== 0) return null;
      seen |= 1 << number;
    }
    const value = readMessage(inner, field.of!);
    if (value === null) return null;
    if (field.kind === 'message') out[field.name] = value;
    else (out[field.name] as unknown[]).push(value);
  }
  return out;
}

/**
 * A ToDataplane whose payload is `field` (one of SMALL_PAYLOADS), its content in `c`, as
 * proto-loader's message with `sequence`; null to let proto-loader decode it.
 */
export function readSmallPayload(c: Cursor, field: number, sequence: number): ToDataplane__Output | null {
  const payload = SMALL_PAYLOADS.get(field);
  if (payload === undefined) return null;
  const value = readMessage(c, payload.shape);
  if (value === null) return null;
  // Not an object literal with a computed key: V8 builds those slowly.
  const out: Record<string, unknown> = { sequence_number: sequence, payload: payload.name };
  out[payload.name] = value;
  return out as unknown as ToDataplane__Output;
}
