// The API server's protobuf answer to a pod list, read straight into the few fields alp-node
// uses. A 5,000-pod list is ~9 MB of JSON: the server's JSON encoding, JSON.parse, the garbage it
// leaves and a walk over the big objects cost most of a node's start. Here every field alp-node
// does not read (managedFields, volumes, env, conditions, …) is skipped by its length, never
// decoded, and each pod comes out as a *projection*: a plain object shaped like the pod's JSON
// that holds exactly what parsePod, objectRef, the tracker and the reflector read, so the rest of
// the pipeline is the same code path as for JSON.
//
// Wire facts (k8s.io/apimachinery runtime and meta/v1, k8s.io/api core/v1 generated.proto): the
// body is the magic `k8s\0`, then a runtime.Unknown {typeMeta=1 {apiVersion=1, kind=2}, raw=2,
// contentEncoding=3, contentType=4} whose raw is the PodList. Any bytes that do not fit the
// schema (a length or varint past its end, a wrong wire type on a field we read, another kind)
// make the whole list an error: never a half-read list.

/** The content type the API server answers protobuf with. */
export const PROTOBUF_CONTENT_TYPE = 'application/vnd.kubernetes.protobuf';

/** A protobuf body that is not a well-formed PodList. */
export class PodProtobufError extends Error {
  constructor(message: string) {
    super(`protobuf pod list: ${message}`);
    this.name = 'PodProtobufError';
  }
}

export interface ContainerPortProjection {
  name: string;
  containerPort: number;
  protocol: string;
}
export interface ContainerProjection {
  name: string;
  ports: ContainerPortProjection[];
}
export interface PodProjection {
  apiVersion: 'v1';
  kind: 'Pod';
  metadata: {
    name: string;
    namespace: string;
    uid: string;
    resourceVersion: string;
    labels: Record<string, string>;
    annotations: Record<string, string>;
    /** Set only on a pod being deleted: RFC 3339 to the second, as in the JSON. */
    deletionTimestamp?: string;
  };
  spec: {
    nodeName: string;
    serviceAccountName: string;
    serviceAccount: string;
    hostNetwork: boolean;
    containers: ContainerProjection[];
    initContainers: ContainerProjection[];
  };
  status: { phase: string; podIP: string; podIPs: { ip: string }[] };
}
export interface PodListProjection {
  apiVersion: 'v1';
  kind: 'PodList';
  metadata: { resourceVersion: string; continue?: string; remainingItemCount?: number };
  items: PodProjection[];
}

const MAGIC = [0x6b, 0x38, 0x73, 0x00]; // "k8s\0"
const VARINT = 0;
const FIXED64 = 1;
const LEN = 2;
const START_GROUP = 3;
const END_GROUP = 4;
const FIXED32 = 5;

/** Node's Buffer has utf8Slice (undeclared in @types/node): toString('utf8') without its checks. */
type Utf8Sliceable = Buffer & { utf8Slice(start: number, end: number): string };

/** Checks that a field we read carries the wire type its schema gives it. */
function check(tag: number, wireType: number): void {
  if ((tag & 7) !== wireType)
    throw new PodProtobufError(`field ${tag >>> 3} has wire type ${tag & 7}, not ${wireType}`);
}

/**
 * Reads fields of buf up to `end`. Every read that would pass `end` throws; an embedded
 * message's fields are read up to its own end (see enter/leave), so nothing reads outside it.
 */
class Reader {
  pos: number;
  end: number;
  constructor(
    readonly buf: Utf8Sliceable,
    start: number,
    end: number,
  ) {
    this.pos = start;
    this.end = end;
  }

  /** An unsigned varint of up to 10 bytes; exact below 2^53 (larger only matters for skipping). */
  varint(): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new PodProtobufError(`a varint runs past the end at byte ${this.pos}`);
      const b = this.buf[this.pos++]!;
      value += (b & 0x7f) * scale;
      if (b < 0x80) return value;
      scale *= 128;
    }
    throw new PodProtobufError(`a varint longer than 10 bytes at byte ${this.pos}`);
  }

  /** An int32 field: the low 32 bits, signed (a negative one is sent as 10 bytes). */
  int32(tag: number): number {
    check(tag, VARINT);
    const start = this.pos;
    let low = 0;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new PodProtobufError(`a varint runs past the end at byte ${start}`);
      const b = this.buf[this.pos++]!;
      if (i < 5) low |= (b & 0x7f) << (7 * i);
      if (b < 0x80) return low | 0;
    }
    throw new PodProtobufError(`a varint longer than 10 bytes at byte ${start}`);
  }

  /** A varint field's value, unsigned (int64 and bool fields). */
  uint64(tag: number): number {
    check(tag, VARINT);
    return this.varint();
  }

  /** The end of the length-delimited value of field `tag`, which starts here (after its length). */
  delimited(tag: number): number {
    check(tag, LEN);
    return this.length();
  }

  private length(): number {
    const len = this.varint();
    if (len > this.end - this.pos)
      throw new PodProtobufError(`a length of ${len} runs past the end at byte ${this.pos}`);
    return this.pos + len;
  }

  string(tag: number): string {
    const end = this.delimited(tag);
    const s = this.buf.utf8Slice(this.pos, end);
    this.pos = end;
    return s;
  }

  /** Steps into the embedded message that starts here; returns the end to give back to leave(). */
  enter(tag: number): number {
    const end = this.delimited(tag);
    const outer = this.end;
    this.end = end;
    return outer;
  }

  /** Back out of an embedded message read to its end. */
  leave(outer: number): void {
    this.end = outer;
  }

  /** The next tag, or -1 at the end; a field number of 0 or a lone end-of-group is an error. */
  tag(): number {
    if (this.pos >= this.end) return -1;
    const tag = this.varint();
    if (tag > 0xffff_ffff || tag >>> 3 === 0)
      throw new PodProtobufError(`an invalid tag at byte ${this.pos}`);
    if ((tag & 7) === END_GROUP)
      throw new PodProtobufError(`an end of group outside a group at byte ${this.pos}`);
    return tag;
  }

  /** Skips the value of a field we do not read, as protobuf requires for unknown fields. */
  skip(tag: number): void {
    switch (tag & 7) {
      case VARINT:
        this.varint();
        return;
      case FIXED64:
        this.advance(8);
        return;
      case LEN:
        this.pos = this.length();
        return;
      case FIXED32:
        this.advance(4);
        return;
      case START_GROUP:
        this.skipGroup(tag >>> 3);
        return;
      default:
        throw new PodProtobufError(`wire type ${tag & 7} at byte ${this.pos}`);
    }
  }

  /** Skips a (deprecated) group to its matching end; nested groups on a stack, not recursion. */
  private skipGroup(field: number): void {
    const open = [field];
    while (open.length > 0) {
      if (this.pos >= this.end) throw new PodProtobufError('a group runs past the end');
      const tag = this.varint();
      if ((tag & 7) === END_GROUP) {
        if (tag >>> 3 !== open.pop())
          throw new PodProtobufError(`an unmatched end of group at byte ${this.pos}`);
      } else if ((tag & 7) === START_GROUP) open.push(tag >>> 3);
      else this.skip(tag);
    }
  }

  private advance(n: number): void {
    if (n > this.end - this.pos) throw new PodProtobufError('a fixed-size value runs past the end');
    this.pos += n;
  }
}

/** The envelope's typeMeta {apiVersion=1, kind=2}, read into `type`. */
function readTypeMeta(r: Reader, ownTag: number, type: { apiVersion: string; kind: string }): void {
  const outer = r.enter(ownTag);
  for (let t = r.tag(); t !== -1; t = r.tag()) {
    if (t >>> 3 === 1) type.apiVersion = r.string(t);
    else if (t >>> 3 === 2) type.kind = r.string(t);
    else r.skip(t);
  }
  r.leave(outer);
}

/** The runtime.Unknown envelope of a protobuf body: its kind and where its object's bytes are. */
function readEnvelope(buf: Utf8Sliceable): { apiVersion: string; kind: string; raw: Reader } {
  if (buf.length < MAGIC.length || MAGIC.some((b, i) => buf[i] !== b))
    throw new PodProtobufError('the body does not start with the Kubernetes protobuf magic');
  const r = new Reader(buf, MAGIC.length, buf.length);
  const type = { apiVersion: '', kind: '' };
  let encoding = '';
  let rawStart = -1;
  let rawEnd = -1;
  for (let tag = r.tag(); tag !== -1; tag = r.tag()) {
    switch (tag >>> 3) {
      case 1:
        readTypeMeta(r, tag, type);
        break;
      case 2:
        rawEnd = r.delimited(tag);
        rawStart = r.pos;
        r.pos = rawEnd;
        break;
      case 3:
        encoding = r.string(tag);
        break;
      default:
        r.skip(tag);
    }
  }
  if (encoding !== '') throw new PodProtobufError(`content encoding ${encoding} is not supported`);
  if (rawStart < 0) throw new PodProtobufError('the body holds no object');
  return { ...type, raw: new Reader(buf, rawStart, rawEnd) };
}

const asBuffer = (body: Uint8Array) =>
  Buffer.from(body.buffer, body.byteOffset, body.byteLength) as Utf8Sliceable;

/**
 * Decodes the API server's protobuf answer to a pod list (the whole body, magic included) into
 * the projection; throws PodProtobufError for anything but a well-formed v1 PodList.
 */
export function decodePodList(body: Uint8Array): PodListProjection {
  const { apiVersion, kind, raw } = readEnvelope(asBuffer(body));
  if (apiVersion !== 'v1' || kind !== 'PodList')
    throw new PodProtobufError(`the body holds ${apiVersion || '?'} ${kind || '?'}, not a v1 PodList`);
  return readPodList(raw);
}

/**
 * The message of a meta/v1 Status {message=3} sent as protobuf (an error answer to a protobuf
 * request); null if the body is not one or has none.
 */
export function decodeStatusMessage(body: Uint8Array): string | null {
  try {
    const { kind, raw: r } = readEnvelope(asBuffer(body));
    if (kind !== 'Status') return null;
    let message = '';
    for (let tag = r.tag(); tag !== -1; tag = r.tag()) {
      if (tag >>> 3 === 3) message = r.string(tag);
      else r.skip(tag);
    }
    return message === '' ? null : message;
  } catch (err) {
    if (err instanceof PodProtobufError) return null;
    throw err;
  }
}

function readPodList(r: Reader): PodListProjection {
  const metadata: PodListProjection['metadata'] = { resourceVersion: '' };
  const items: PodProjection[] = [];
  for (let tag = r.tag(); tag !== -1; tag = r.tag()) {
    if (tag >>> 3 === 1) readListMeta(r, tag, metadata);
    else if (tag >>> 3 === 2) items.push(readPod(r, tag));
    else r.skip(tag);
  }
  return { apiVersion: 'v1', kind: 'PodList', metadata, items };
}

function readListMeta(r: Reader, ownTag: number, metadata: PodListProjection['metadata']): void {
  const outer = r.enter(ownTag);
  for (let t = r.tag(); t !== -1; t = r.tag()) {
    const field = t >>> 3;
    if (field === 2) metadata.resourceVersion = r.string(t);
    else if (field === 3) {
      const token = r.string(t);
      if (token !== '') metadata.continue = token; // JSON leaves an empty token out
    } else if (field === 4) metadata.remainingItemCount = int64(r.uint64(t));
    else r.skip(t);
  }
  r.leave(outer);
}

/** A varint at `pos` of `buf` and the position after it, or null when `buf` ends inside it. */
function peekVarint(buf: Uint8Array, pos: number): { value: number; next: number } | null {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    if (pos + i >= buf.length) return null;
    const b = buf[pos + i]!;
    value += (b & 0x7f) * scale;
    if (b < 0x80) return { value, next: pos + i + 1 };
    scale *= 128;
  }
  throw new PodProtobufError('a varint longer than 10 bytes');
}

/**
 * The field that starts at `pos`: its tag, where its value starts (after the tag) and where it
 * ends; null when `buf` ends before the field does.
 */
function peekField(buf: Uint8Array, pos: number): { tag: number; value: number; end: number } | null {
  const tag = peekVarint(buf, pos);
  if (tag === null) return null;
  if (tag.value > 0xffff_ffff || tag.value >>> 3 === 0) throw new PodProtobufError('an invalid tag');
  const at = tag.next;
  switch (tag.value & 7) {
    case VARINT: {
      const v = peekVarint(buf, at);
      return v === null ? null : { tag: tag.value, value: at, end: v.next };
    }
    case FIXED64:
      return at + 8 > buf.length ? null : { tag: tag.value, value: at, end: at + 8 };
    case FIXED32:
      return at + 4 > buf.length ? null : { tag: tag.value, value: at, end: at + 4 };
    case LEN: {
      const len = peekVarint(buf, at);
      if (len === null) return null;
      // The end may lie beyond what has arrived: the caller waits for it (see needed).
      return { tag: tag.value, value: at, end: len.next + len.value };
    }
    default:
      // Groups (deprecated, never sent by the API server) are read only from a whole body.
      throw new PodProtobufError(`wire type ${tag.value & 7} in a streamed list`);
  }
}

/**
 * Reads a protobuf pod list as its body arrives, handing out each pod as soon as its bytes are
 * in: the API server writes a list item by item, and a 5,000-pod list takes a few hundred ms to
 * arrive, so the pods can be reading (and applied) meanwhile rather than after the last byte.
 * The result is exactly decodePodList's for the same bytes, in the order the API server writes
 * an answer (typeMeta, then the list); anything else, including a body cut short, throws
 * PodProtobufError, after which the pods handed out so far are to be treated as unconfirmed.
 */
export class PodListStream {
  /** Arrived bytes not read yet, in pieces until enough are there to read the next field. */
  private chunks: Utf8Sliceable[] = [];
  private length = 0;
  /** Bytes needed (from the first unread one) before the next field can be read; 0: unknown. */
  private needed = 0;
  private phase: 'magic' | 'envelope' | 'list' | 'after' = 'magic';
  /** Bytes of the list still to read (phase 'list'). */
  private listLeft = 0;
  private readonly type = { apiVersion: '', kind: '' };
  private encoding = '';
  private readonly metadata: PodListProjection['metadata'] = { resourceVersion: '' };
  private readonly items: PodProjection[] = [];

  /** Takes the next piece of the body; returns the pods it completed, in list order. */
  push(chunk: Uint8Array): PodProjection[] {
    if (chunk.length === 0) return [];
    this.chunks.push(asBuffer(chunk));
    this.length += chunk.length;
    if (this.length < this.needed) return [];
    const buf = this.chunks.length === 1 ? this.chunks[0]! : asBuffer(Buffer.concat(this.chunks));
    const from = this.items.length;
    const used = this.read(buf);
    const rest = buf.subarray(used) as Utf8Sliceable;
    this.chunks = rest.length === 0 ? [] : [rest];
    this.length = rest.length;
    return this.items.slice(from);
  }

  /** The whole list, once the body has ended; throws if it ended early. */
  end(): PodListProjection {
    if (this.phase === 'list' || this.phase === 'magic' || this.length > 0)
      throw new PodProtobufError('the body ends inside the list');
    if (this.phase === 'envelope') throw new PodProtobufError('the body holds no object');
    if (this.encoding !== '')
      throw new PodProtobufError(`content encoding ${this.encoding} is not supported`);
    return { apiVersion: 'v1', kind: 'PodList', metadata: this.metadata, items: this.items };
  }

  /** Reads every complete field of `buf`; returns how many bytes it used. */
  private read(buf: Utf8Sliceable): number {
    let pos = 0;
    this.needed = 0;
    if (this.phase === 'magic') {
      if (buf.length < MAGIC.length) return 0;
      if (MAGIC.some((b, i) => buf[i] !== b))
        throw new PodProtobufError('the body does not start with the Kubernetes protobuf magic');
      pos = MAGIC.length;
      this.phase = 'envelope';
    }
    while (pos < buf.length) {
      const f = peekField(buf, pos);
      if (f === null) break;
      const field = f.tag >>> 3;
      if (this.phase === 'list') {
        if (f.end - pos > this.listLeft) throw new PodProtobufError('an item runs past the end of the list');
        if (f.end > buf.length) {
          this.needed = f.end - pos;
          break;
        }
        const r = new Reader(buf, f.value, f.end);
        if (field === 1) readListMeta(r, f.tag, this.metadata);
        else if (field === 2) this.items.push(readPod(r, f.tag));
        this.listLeft -= f.end - pos;
        pos = f.end;
        if (this.listLeft === 0) this.phase = 'after';
        continue;
      }
      if (field === 2) {
        // The list itself: entered, not waited for.
        if ((f.tag & 7) !== LEN) throw new PodProtobufError(`field 2 has wire type ${f.tag & 7}, not 2`);
        if (this.phase === 'after') throw new PodProtobufError('the body holds a second object');
        const { apiVersion, kind } = this.type;
        if (apiVersion !== 'v1' || kind !== 'PodList')
          throw new PodProtobufError(`the body holds ${apiVersion || '?'} ${kind || '?'}, not a v1 PodList`);
        const len = peekVarint(buf, f.value)!;
        this.listLeft = len.value;
        this.phase = this.listLeft === 0 ? 'after' : 'list';
        pos = len.next;
        continue;
      }
      if (f.end > buf.length) {
        this.needed = f.end - pos;
        break;
      }
      const r = new Reader(buf, f.value, f.end);
      if (field === 1) readTypeMeta(r, f.tag, this.type);
      else if (field === 3) this.encoding = r.string(f.tag);
      pos = f.end;
    }
    return pos;
  }
}

/** An int64 read as unsigned: a negative one (two's complement in 64 bits) back to its sign. */
function int64(unsigned: number): number {
  return unsigned >= 2 ** 63 ? unsigned - 2 ** 64 : unsigned;
}

function readPod(r: Reader, ownTag: number): PodProjection {
  const pod: PodProjection = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: '', namespace: '', uid: '', resourceVersion: '', labels: {}, annotations: {} },
    spec: {
      nodeName: '',
      serviceAccountName: '',
      serviceAccount: '',
      hostNetwork: false,
      containers: [],
      initContainers: [],
    },
    status: { phase: '', podIP: '', podIPs: [] },
  };
  const outer = r.enter(ownTag);
  for (let tag = r.tag(); tag !== -1; tag = r.tag()) {
    const field = tag >>> 3;
    if (field === 1) readObjectMeta(r, tag, pod.metadata);
    else if (field === 2) readPodSpec(r, tag, pod.spec);
    else if (field === 3) readPodStatus(r, tag, pod.status);
    else r.skip(tag);
  }
  r.leave(outer);
  return pod;
}

function readObjectMeta(r: Reader, ownTag: number, meta: PodProjection['metadata']): void {
  const outer = r.enter(ownTag);
  for (let tag = r.tag(); tag !== -1; tag = r.tag()) {
    switch (tag >>> 3) {
      case 1:
        meta.name = r.string(tag);
        break;
      case 3:
        meta.namespace = r.string(tag);
        break;
      case 5:
        meta.uid = r.string(tag);
        break;
      case 6:
        meta.resourceVersion = r.string(tag);
        break;
      case 9:
        meta.deletionTimestamp = readTime(r, tag);
        break;
      case 11:
        readMapEntry(r, tag, meta.labels);
        break;
      case 12:
        readMapEntry(r, tag, meta.annotations);
        break;
      default:
        r.skip(tag);
    }
  }
  r.leave(outer);
}

/** A meta/v1 Time {seconds=1, nanos=2} as its JSON text: RFC 3339 to the second, in UTC. */
function readTime(r: Reader, ownTag: number): string {
  let seconds = 0;
  const outer = r.enter(ownTag);
  for (let tag = r.tag(); tag !== -1; tag = r.tag()) {
    if (tag >>> 3 === 1) seconds = int64(r.uint64(tag));
    else r.skip(tag);
  }
  r.leave(outer);
  const date = new Date(seconds * 1000);
  // parsePod only asks whether it is there; a time out of Date's range still says "deleting".
  return Number.isNaN(date.getTime()) ? String(seconds) : date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** One map<string, string> entry {key=1, value=2}; a later entry for a key wins, as in JSON. */
function readMapEntry(r: Reader, ownTag: number, map: Record<string, string>): void {
  let key = '';
  let value = '';
  const outer = r.enter(ownTag);
  for (let tag = r.tag(); tag !== -1; tag = r.tag()) {
    if (tag >>> 3 === 1) key = r.string(tag);
    else if (tag >>> 3 === 2) value = r.string(tag);
    else r.skip(tag);
  }
  r.leave(outer);
  // JSON.parse makes "__proto__" an own key; a plain assignment would set the prototype.
  if (key === '__proto__')
    Object.defineProperty(map, key, { value, enumerable: true, writable: true, configurable: true });
  else map[key] = value;
}

function readPodSpec(r: Reader, ownTag: number, spec: PodProjection['spec']): void {
  const outer = r.enter(ownTag);
  for (let tag = r.tag(); tag !== -1; tag = r.tag()) {
    switch (tag >>> 3) {
      case 2:
        spec.containers.push(readContainer(r, tag));
        break;
      case 20:
        spec.initContainers.push(readContainer(r, tag));
        break;
      case 8:
        spec.serviceAccountName = r.string(tag);
        break;
      case 9:
        spec.serviceAccount = r.string(tag);
        break;
      case 10:
        spec.nodeName = r.string(tag);
        break;
      case 11:
        spec.hostNetwork = r.uint64(tag) !== 0;
        break;
      default:
        r.skip(tag);
    }
  }
  r.leave(outer);
}

function readContainer(r: Reader, ownTag: number): ContainerProjection {
  const container: ContainerProjection = { name: '', ports: [] };
  const outer = r.enter(ownTag);
  for (let tag = r.tag(); tag !== -1; tag = r.tag()) {
    if (tag >>> 3 === 1) container.name = r.string(tag);
    else if (tag >>> 3 === 6) container.ports.push(readContainerPort(r, tag));
    else r.skip(tag);
  }
  r.leave(outer);
  return container;
}

function readContainerPort(r: Reader, ownTag: number): ContainerPortProjection {
  const port: ContainerPortProjection = { name: '', containerPort: 0, protocol: '' };
  const outer = r.enter(ownTag);
  for (let tag = r.tag(); tag !== -1; tag = r.tag()) {
    const field = tag >>> 3;
    if (field === 1) port.name = r.string(tag);
    else if (field === 3) port.containerPort = r.int32(tag);
    else if (field === 4) port.protocol = r.string(tag);
    else r.skip(tag);
  }
  r.leave(outer);
  return port;
}

function readPodStatus(r: Reader, ownTag: number, status: PodProjection['status']): void {
  const outer = r.enter(ownTag);
  for (let tag = r.tag(); tag !== -1; tag = r.tag()) {
    switch (tag >>> 3) {
      case 1:
        status.phase = r.string(tag);
        break;
      case 6:
        status.podIP = r.string(tag);
        break;
      case 12: {
        let ip = '';
        const inner = r.enter(tag);
        for (let t = r.tag(); t !== -1; t = r.tag()) {
          if (t >>> 3 === 1) ip = r.string(t);
          else r.skip(t);
        }
        r.leave(inner);
        status.podIPs.push({ ip });
        break;
      }
      default:
        r.skip(tag);
    }
  }
  r.leave(outer);
}
