// The Flow of an ext_authz v3 CheckRequest, read straight from its protobuf bytes: only the
// fields a decision reads (each peer's socket address, labels and principal; the HTTP method and
// path) are decoded, everything else (headers, metadata, TLS, context extensions) is skipped by
// its length. Field by field it reads as @grpc/proto-loader (protobufjs) does with our loader
// options, so the Flow equals flowFromCheckRequest() of the proto-loader decoding; it may accept
// bytes inside skipped fields that protobufjs would have refused, never the other way round
// (check-request-wire.test.ts compares the two on generated and mutated messages).
//
// Field numbers (proto/envoy/...): CheckRequest.attributes = 1; AttributeContext.source = 1,
// destination = 2, request = 4; Peer.address = 1, labels = 3, principal = 4; Address.socket_address
// = 1; SocketAddress.protocol = 1, address = 2, port_value = 3, named_port = 4; Request.http = 2;
// HttpRequest.method = 2, path = 4.
import { NO_LABELS, type Labels } from '../calico/labels.js';
import { parseIp, type Ip } from '../calico/ip.js';
import type { Flow, FlowPeer } from '../policy/flow.js';

export class WireError extends Error {}

const TCP = 6;
const UDP = 17;

const RECURSION_LIMIT = 100;

/** How protobufjs reads a declared field we pass over: string, (u)int32/enum/bool, int64, length-delimited. */
type FieldKind = 1 | 2 | 3 | 4;
const STRING = 1;
const VARINT32 = 2;
const INT64 = 3;
const LENGTH_DELIMITED = 4;

/** Declared fields, by number, that a decision does not read (see the .proto files). */
const SKIPPED_ATTRIBUTE_FIELDS: readonly (FieldKind | undefined)[] = Object.assign([], {
  10: LENGTH_DELIMITED, // context_extensions (map)
  11: LENGTH_DELIMITED, // metadata_context
  12: LENGTH_DELIMITED, // tls_session
  13: LENGTH_DELIMITED, // route_metadata_context
});
const SKIPPED_PEER_FIELDS: readonly (FieldKind | undefined)[] = [
  undefined,
  undefined,
  STRING,
  undefined,
  undefined,
  STRING,
];
const SKIPPED_ADDRESS_FIELDS: readonly (FieldKind | undefined)[] = [
  undefined,
  undefined,
  LENGTH_DELIMITED,
  LENGTH_DELIMITED,
];
const SKIPPED_SOCKET_FIELDS: readonly (FieldKind | undefined)[] = Object.assign([], {
  5: STRING, // resolver_name
  6: VARINT32, // ipv4_compat
  7: STRING, // network_namespace_filepath
});
const SKIPPED_REQUEST_FIELDS: readonly (FieldKind | undefined)[] = [undefined, LENGTH_DELIMITED]; // time
const SKIPPED_HTTP_FIELDS: readonly (FieldKind | undefined)[] = Object.assign([], {
  1: STRING, // id
  3: LENGTH_DELIMITED, // headers (map)
  5: STRING, // host
  6: STRING, // scheme
  7: STRING, // query
  8: STRING, // fragment
  9: INT64, // size
  10: STRING, // protocol
  11: STRING, // body
  12: LENGTH_DELIMITED, // raw_body (bytes)
  13: LENGTH_DELIMITED, // header_map
});

/** Passes over a field that a decision does not read: declared ones by their type, others by wire type. */
function skipField(
  r: Reader,
  tag: number,
  depth: number,
  declared: readonly (FieldKind | undefined)[],
): void {
  const kind = declared[tag >>> 3];
  if (kind !== undefined) r.skipKnown(kind);
  else r.skipType(tag & 7, depth);
}

/**
 * A protobuf reader that fails, and clamps, exactly where protobufjs 7's BufferReader and its
 * generated decoders do: `len` is the end of the message being read (an embedded message lowers
 * it while it is read), strings running past it are cut at it, and an embedded message must end
 * exactly at its length.
 */
class Reader {
  pos = 0;
  len: number;
  constructor(readonly buf: Buffer) {
    this.len = buf.length;
  }

  /** protobufjs' uint32(): the low 32 bits of a varint of up to 10 bytes. */
  uint32(): number {
    const buf = this.buf;
    let value = 0;
    for (let shift = 0; shift < 28; shift += 7) {
      if (this.pos >= this.len) throw new WireError('truncated varint');
      const b = buf[this.pos++]!;
      value |= (b & 127) << shift;
      if (b < 128) return value >>> 0;
    }
    if (this.pos >= this.len) throw new WireError('truncated varint');
    const b = buf[this.pos++]!;
    value = (value | ((b & 15) << 28)) >>> 0;
    if (b < 128) return value;
    // Bytes 6–10 are skipped unread, as protobufjs does.
    if ((this.pos += 5) > this.len) throw new WireError('truncated varint');
    return value;
  }

  int32(): number {
    return this.uint32() | 0;
  }

  /** A string field; one running past the current message's end is cut there, as protobufjs does. */
  string(): string {
    const length = this.uint32();
    const start = this.pos;
    this.pos = Math.min(start + length, this.len);
    return this.buf.toString('utf8', start, this.pos);
  }

  skip(n: number): void {
    if (this.pos + n > this.len) throw new WireError('field past the end of the message');
    this.pos += n;
  }

  skipType(wireType: number, depth: number): void {
    if (depth > RECURSION_LIMIT) throw new WireError('maximum nesting depth exceeded');
    switch (wireType) {
      case 0:
        do {
          if (this.pos >= this.len) throw new WireError('truncated varint');
        } while (this.buf[this.pos++]! & 128);
        return;
      case 1:
        this.skip(8);
        return;
      case 2:
        this.skip(this.uint32());
        return;
      case 3:
        for (;;) {
          const t = this.uint32() & 7;
          if (t === 4) return;
          this.skipType(t, depth + 1);
        }
      case 5:
        this.skip(4);
        return;
      default:
        throw new WireError(`invalid wire type ${wireType}`);
    }
  }

  /** protobufjs' int64() read for its position only (its quirks near the end included). */
  skipInt64(): void {
    const buf = this.buf;
    let i = 0;
    if (this.len - this.pos > 4) {
      for (; i < 5; ++i) if (buf[this.pos++]! < 128) return;
      i = 0;
    } else {
      for (; i < 3; ++i) {
        if (this.pos >= this.len) throw new WireError('truncated varint');
        if (buf[this.pos++]! < 128) return;
      }
      this.pos++; // the 4th byte is taken unchecked, as protobufjs does
      return;
    }
    if (this.len - this.pos > 4) {
      for (; i < 5; ++i) if (buf[this.pos++]! < 128) return;
    } else {
      for (; i < 5; ++i) {
        if (this.pos >= this.len) throw new WireError('truncated varint');
        if (buf[this.pos++]! < 128) return;
      }
    }
    throw new WireError('invalid varint encoding');
  }

  /**
   * Passes over a field the schema declares but a decision does not read, as protobufjs reads
   * that field's type (whatever its wire type says); an embedded message's contents are not read.
   */
  skipKnown(kind: FieldKind): void {
    switch (kind) {
      case STRING: {
        const length = this.uint32();
        this.pos = Math.min(this.pos + length, this.len);
        return;
      }
      case VARINT32:
        this.uint32();
        return;
      case INT64:
        this.skipInt64();
        return;
      default: {
        const length = this.uint32();
        if (this.pos + length > this.len) throw new WireError('field past the end of the message');
        this.pos += length;
      }
    }
  }

  /** Starts an embedded message: its end becomes `len`; returns the enclosing `len`. */
  enter(): number {
    const end = this.uint32() + this.pos;
    if (end > this.len) throw new WireError('embedded message past the end of its parent');
    const outer = this.len;
    this.len = end;
    return outer;
  }

  leave(outer: number): void {
    if (this.pos !== this.len) throw new WireError('embedded message overran its length');
    this.len = outer;
  }
}

interface SocketAddressFields {
  protocol: number;
  address: string;
  portValue: number;
  hasPortValue: boolean;
  hasNamedPort: boolean;
}

interface PeerFields {
  principal: string;
  socket: SocketAddressFields | null;
  labels: Map<string, string> | null;
}

// Each reader below reads one embedded message: from after its length to `r.len`.

function readSocketAddress(r: Reader, depth: number): SocketAddressFields {
  const outer = r.enter();
  const s: SocketAddressFields = {
    protocol: 0,
    address: '',
    portValue: 0,
    hasPortValue: false,
    hasNamedPort: false,
  };
  while (r.pos < r.len) {
    const tag = r.uint32();
    switch (tag >>> 3) {
      case 1:
        s.protocol = r.int32();
        break;
      case 2:
        s.address = r.string();
        break;
      case 3:
        s.portValue = r.uint32();
        s.hasPortValue = true;
        break;
      case 4:
        r.string();
        s.hasNamedPort = true;
        break;
      default:
        skipField(r, tag, depth, SKIPPED_SOCKET_FIELDS);
    }
  }
  r.leave(outer);
  return s;
}

/** Address: only socket_address matters; a later one replaces an earlier one, as in protobufjs. */
function readAddress(r: Reader, depth: number): SocketAddressFields | null {
  const outer = r.enter();
  let socket: SocketAddressFields | null = null;
  while (r.pos < r.len) {
    const tag = r.uint32();
    if (tag >>> 3 === 1) socket = readSocketAddress(r, depth + 1);
    else skipField(r, tag, depth, SKIPPED_ADDRESS_FIELDS);
  }
  r.leave(outer);
  return socket;
}

function readLabel(r: Reader, depth: number, into: Map<string, string>): void {
  const outer = r.enter();
  let key = '';
  let value = '';
  while (r.pos < r.len) {
    const tag = r.uint32();
    switch (tag >>> 3) {
      case 1:
        key = r.string();
        break;
      case 2:
        value = r.string();
        break;
      default:
        r.skipType(tag & 7, depth);
    }
  }
  r.leave(outer);
  into.set(key, value);
}

function readPeer(r: Reader, depth: number): PeerFields {
  const outer = r.enter();
  const p: PeerFields = { principal: '', socket: null, labels: null };
  while (r.pos < r.len) {
    const tag = r.uint32();
    switch (tag >>> 3) {
      case 1:
        // A later address replaces the earlier one whole (its socket address with it).
        p.socket = readAddress(r, depth + 1);
        break;
      case 3:
        p.labels ??= new Map();
        readLabel(r, depth, p.labels);
        break;
      case 4:
        p.principal = r.string();
        break;
      default:
        skipField(r, tag, depth, SKIPPED_PEER_FIELDS);
    }
  }
  r.leave(outer);
  return p;
}

interface HttpFields {
  method: string;
  path: string;
}

function readHttp(r: Reader, depth: number): HttpFields {
  const outer = r.enter();
  const h: HttpFields = { method: '', path: '' };
  while (r.pos < r.len) {
    const tag = r.uint32();
    switch (tag >>> 3) {
      case 2:
        h.method = r.string();
        break;
      case 4:
        h.path = r.string();
        break;
      default:
        skipField(r, tag, depth, SKIPPED_HTTP_FIELDS);
    }
  }
  r.leave(outer);
  return h;
}

function readRequest(r: Reader, depth: number): HttpFields | null {
  const outer = r.enter();
  let http: HttpFields | null = null;
  while (r.pos < r.len) {
    const tag = r.uint32();
    if (tag >>> 3 === 2) http = readHttp(r, depth + 1);
    else skipField(r, tag, depth, SKIPPED_REQUEST_FIELDS);
  }
  r.leave(outer);
  return http;
}

interface AttributeFields {
  source: PeerFields | null;
  destination: PeerFields | null;
  http: HttpFields | null;
}

function readAttributes(r: Reader, depth: number): AttributeFields {
  const outer = r.enter();
  const a: AttributeFields = { source: null, destination: null, http: null };
  while (r.pos < r.len) {
    const tag = r.uint32();
    switch (tag >>> 3) {
      case 1:
        a.source = readPeer(r, depth + 1);
        break;
      case 2:
        a.destination = readPeer(r, depth + 1);
        break;
      case 4:
        a.http = readRequest(r, depth + 1);
        break;
      default:
        skipField(r, tag, depth, SKIPPED_ATTRIBUTE_FIELDS);
    }
  }
  r.leave(outer);
  return a;
}

// A sidecar sees the same few addresses over and over (its own pod's, every time, as the
// destination): parsed Ips are immutable, so each distinct text is parsed once. Bounded; the
// cache starts over when full.
const MAX_CACHED_IPS = 4096;
const parsedIps = new Map<string, Ip | null>();

function cachedParseIp(text: string): Ip | null {
  let ip = parsedIps.get(text);
  if (ip === undefined) {
    ip = parseIp(text);
    if (parsedIps.size >= MAX_CACHED_IPS) parsedIps.clear();
    parsedIps.set(text, ip);
  }
  return ip;
}

const NO_PEER: FlowPeer = { principal: '', ip: null, port: 0, labels: NO_LABELS };

function flowPeer(p: PeerFields | null): FlowPeer {
  if (p === null) return NO_PEER;
  const s = p.socket;
  const labels: Labels = p.labels === null || p.labels.size === 0 ? NO_LABELS : p.labels;
  return {
    principal: p.principal,
    ip: s === null ? null : cachedParseIp(s.address),
    // proto-loader names the oneof case after the last of the two fields present in field order.
    port: s !== null && s.hasPortValue && !s.hasNamedPort ? s.portValue : 0,
    labels,
  };
}

/** The Flow of a serialized CheckRequest; throws WireError where protobufjs would refuse it. */
export function flowFromCheckRequestBytes(buf: Buffer): Flow {
  const r = new Reader(buf);
  let attrs: AttributeFields | null = null;
  while (r.pos < r.len) {
    const tag = r.uint32();
    if (tag >>> 3 === 1) attrs = readAttributes(r, 1);
    else r.skipType(tag & 7, 0);
  }
  const http = attrs?.http ?? null;
  const dstSocket = attrs?.destination?.socket ?? null;
  return {
    source: flowPeer(attrs?.source ?? null),
    destination: flowPeer(attrs?.destination ?? null),
    protocol: dstSocket !== null && dstSocket.protocol === 1 ? UDP : TCP,
    httpMethod: http === null ? null : http.method,
    httpPath: http === null ? null : http.path,
  };
}
