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

/** One message type of felixbackend.proto: field number → field, all length-delimited. */
interface Shape {
  readonly fields: ReadonlyMap<number, Field>;
}

function shape(fields: Record<number, Field>): Shape {
  return { fields: new Map(Object.entries(fields).map(([n, f]) => [Number(n), f])) };
}

const str = (name: string): Field => ({ name, kind: 'string' });
const strs = (name: string): Field => ({ name, kind: 'strings' });
const msg = (name: string, of: Shape): Field => ({ name, kind: 'message', of });
const msgs = (name: string, of: Shape): Field => ({ name, kind: 'messages', of });
const map = (name: string): Field => ({ name, kind: 'map' });

const POLICY_ID = shape({ 2: str('name'), 3: str('namespace'), 4: str('kind') });
const PROFILE_ID = shape({ 1: str('name') });
const ENDPOINT_ID = shape({ 2: str('orchestrator_id'), 3: str('workload_id'), 4: str('endpoint_id') });
const TIER_INFO = shape({
  1: str('name'),
  2: msgs('ingress_policies', POLICY_ID),
  3: msgs('egress_policies', POLICY_ID),
  4: str('default_action'),
});
const ENDPOINT = shape({
  1: str('state'),
  2: str('name'),
  3: str('mac'),
  4: strs('profile_ids'),
  5: strs('ipv4_nets'),
  6: strs('ipv6_nets'),
  7: msgs('tiers', TIER_INFO),
  11: map('annotations'),
});
const ACCOUNT_ID = shape({ 1: str('namespace'), 2: str('name') });
const NAMESPACE_ID = shape({ 1: str('name') });

/** ToDataplane's payload field number → its name and shape, for the payloads read here. */
export const SMALL_PAYLOADS: ReadonlyMap<number, { name: string; shape: Shape }> = new Map([
  [1, { name: 'in_sync', shape: shape({}) }],
  [4, { name: 'ipset_remove', shape: shape({ 1: str('id') }) }],
  [6, { name: 'active_profile_remove', shape: shape({ 1: msg('id', PROFILE_ID) }) }],
  [8, { name: 'active_policy_remove', shape: shape({ 1: msg('id', POLICY_ID) }) }],
  [
    11,
    {
      name: 'workload_endpoint_update',
      shape: shape({ 1: msg('id', ENDPOINT_ID), 5: msg('endpoint', ENDPOINT) }),
    },
  ],
  [12, { name: 'workload_endpoint_remove', shape: shape({ 1: msg('id', ENDPOINT_ID) }) }],
  [19, { name: 'service_account_update', shape: shape({ 1: msg('id', ACCOUNT_ID), 2: map('labels') }) }],
  [20, { name: 'service_account_remove', shape: shape({ 1: msg('id', ACCOUNT_ID) }) }],
  [21, { name: 'namespace_update', shape: shape({ 1: msg('id', NAMESPACE_ID), 2: map('labels') }) }],
  [22, { name: 'namespace_remove', shape: shape({ 1: msg('id', NAMESPACE_ID) }) }],
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

function defaults(s: Shape): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of s.fields.values()) {
    out[f.name] =
      f.kind === 'string' ? '' : f.kind === 'message' ? null : f.kind === 'map' ? {} : ([] as unknown[]);
  }
  return out;
}

/** One message of shape `s` as proto-loader's object; null to give up. */
function readMessage(c: Cursor, s: Shape): Record<string, unknown> | null {
  const out = defaults(s);
  const seen = new Set<number>();
  while (c.pos < c.end) {
    const tag = c.varint();
    if (tag < 8) return null; // cut off, or field 0
    const number = tag >>> 3;
    const field = s.fields.get(number);
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
    if (field.kind === 'message' && seen.has(number)) return null;
    seen.add(number);
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
  return {
    sequence_number: sequence,
    [payload.name]: value,
    payload: payload.name,
  } as unknown as ToDataplane__Output;
}
