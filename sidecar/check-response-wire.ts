// The ext_authz v3 CheckResponses that check-response.ts makes, written as protobuf bytes by hand.
// Through proto-loader, the first deny answer made protobufjs generate fromObject and encode code
// for CheckResponse, DeniedHttpResponse and the messages inside: ~5 ms on the first denied Check,
// which every sidecar answers while it waits for InSync.
//
// The bytes are protobufjs's for the same object (proto-loader serializes with fromObject, then
// encode): fields in number order, a field written whenever it is given (a 0 or "" too), enum
// names turned into their numbers. Anything outside the shape checkResponseFor makes (OK, or a
// status with a DeniedHttpResponse: HttpStatus, HeaderValueOptions of a HeaderValue and an
// append_action, a body) returns null and the caller serializes through proto-loader; so does a
// string with a lone surrogate, which protobufjs writes as invalid UTF-8 where Buffer would write
// U+FFFD. check-response.test.ts compares the bytes with protobufjs's.
//
// Field numbers: CheckResponse.status = 1, denied_response = 2 (ok_response 3, dynamic_metadata
// 4: not written here); google.rpc.Status.code = 1, message = 2 (details 3); DeniedHttpResponse
// .status = 1, headers = 2, body = 3; HttpStatus.code = 1; HeaderValueOption.header = 1 (append
// 2), append_action = 3, keep_empty_value = 4; HeaderValue.key = 1, value = 2 (raw_value 3).
import type { CheckResponse } from '../proto/gen/envoy/service/auth/v3/CheckResponse.js';
import type { DeniedHttpResponse } from '../proto/gen/envoy/service/auth/v3/DeniedHttpResponse.js';
import type { HeaderValueOption } from '../proto/gen/envoy/config/core/v3/HeaderValueOption.js';

/** envoy.type.v3.StatusCode as declared in proto/envoy/type/v3/http_status.proto. */
const HTTP_STATUS: ReadonlyMap<unknown, number> = new Map([
  ['Empty', 0],
  ['OK', 200],
  ['BadRequest', 400],
  ['Unauthorized', 401],
  ['Forbidden', 403],
  ['InternalServerError', 500],
  ['ServiceUnavailable', 503],
]);

/** envoy.config.core.v3.HeaderValueOption.HeaderAppendAction. */
const APPEND_ACTION: ReadonlyMap<unknown, number> = new Map([
  ['APPEND_IF_EXISTS_OR_ADD', 0],
  ['ADD_IF_ABSENT', 1],
  ['OVERWRITE_IF_EXISTS_OR_ADD', 2],
  ['OVERWRITE_IF_EXISTS', 3],
]);

/** Gives up on the whole answer: the caller serializes it through proto-loader. */
class Unsupported extends Error {}

const LONE_SURROGATE = /\p{Surrogate}/u;

/** Bytes of one message being written: its fields in order. */
class Fields {
  readonly #parts: Buffer[] = [];

  #varint(n: number | bigint): void {
    const out: number[] = [];
    let v = BigInt(n);
    for (; v >= 0x80n; v >>= 7n) out.push(Number(v & 0x7fn) | 0x80);
    out.push(Number(v));
    this.#parts.push(Buffer.from(out));
  }

  /** An int32 or enum field: a negative value as ten bytes, as protobuf (and protobufjs) write it. */
  int32(field: number, value: number): this {
    if (!Number.isInteger(value) || value < -(2 ** 31) || value >= 2 ** 31) throw new Unsupported();
    this.#varint(field << 3);
    this.#varint(value < 0 ? BigInt.asUintN(64, BigInt(value)) : value);
    return this;
  }

  bool(field: number, value: boolean): this {
    this.#varint(field << 3);
    this.#varint(value ? 1 : 0);
    return this;
  }

  string(field: number, value: unknown): this {
    if (typeof value !== 'string' || LONE_SURROGATE.test(value)) throw new Unsupported();
    return this.bytes(field, Buffer.from(value, 'utf8'));
  }

  bytes(field: number, value: Buffer): this {
    this.#varint((field << 3) | 2);
    this.#varint(value.length);
    this.#parts.push(value);
    return this;
  }

  done(): Buffer {
    return Buffer.concat(this.#parts);
  }
}

/** An object-typed field as protobufjs's fromObject takes it: absent, or an object. */
function given(value: unknown): value is Record<string, unknown> {
  if (value == null) return false;
  if (typeof value !== 'object') throw new Unsupported();
  return true;
}

/** Fields this encoder does not write must be absent. */
function absent(...values: unknown[]): void {
  if (values.some((v) => v != null)) throw new Unsupported();
}

function enumValue(names: ReadonlyMap<unknown, number>, value: unknown): number {
  const n = names.get(value) ?? (typeof value === 'number' ? value : undefined);
  if (n === undefined) throw new Unsupported(); // protobufjs would leave the field out
  return n;
}

function headerValueOption(h: HeaderValueOption): Buffer {
  absent(h.append);
  const out = new Fields();
  if (given(h.header)) {
    absent(h.header.raw_value);
    const header = new Fields();
    if (h.header.key != null) header.string(1, h.header.key);
    if (h.header.value != null) header.string(2, h.header.value);
    out.bytes(1, header.done());
  }
  if (h.append_action != null) out.int32(3, enumValue(APPEND_ACTION, h.append_action));
  if (h.keep_empty_value != null) {
    if (typeof h.keep_empty_value !== 'boolean') throw new Unsupported();
    out.bool(4, h.keep_empty_value);
  }
  return out.done();
}

function deniedHttpResponse(d: DeniedHttpResponse): Buffer {
  const out = new Fields();
  if (given(d.status)) {
    const status = new Fields();
    if (d.status.code != null) status.int32(1, enumValue(HTTP_STATUS, d.status.code));
    out.bytes(1, status.done());
  }
  if (d.headers) {
    if (!Array.isArray(d.headers)) throw new Unsupported();
    for (const h of d.headers) {
      if (!given(h)) throw new Unsupported();
      out.bytes(2, headerValueOption(h));
    }
  }
  if (d.body != null) out.string(3, d.body);
  return out.done();
}

function checkResponse(r: CheckResponse): Buffer {
  absent(r.ok_response, r.dynamic_metadata);
  const out = new Fields();
  if (given(r.status)) {
    const s = r.status;
    if (s.details && (!Array.isArray(s.details) || s.details.length > 0)) throw new Unsupported();
    const status = new Fields();
    if (s.code != null) status.int32(1, typeof s.code === 'number' ? s.code : NaN);
    if (s.message != null) status.string(2, s.message);
    out.bytes(1, status.done());
  }
  if (given(r.denied_response)) out.bytes(2, deniedHttpResponse(r.denied_response));
  return out.done();
}

/** `response` as protobufjs would serialize it, or null to let proto-loader do it. */
export function encodeCheckResponse(response: CheckResponse): Buffer | null {
  try {
    return checkResponse(response);
  } catch (err) {
    if (err instanceof Unsupported) return null;
    throw err;
  }
}
