// Everything a Check derives from its flow, computed once: peer identities with their labels,
// address strings for IP-and-port lookups, and (lazily) the normalised HTTP path (spec §5.2, §6).
import { NO_LABELS } from '../calico/labels.js';
import type { Labels } from '../calico/labels.js';
import { ipText } from '../calico/ip.js';
import type { Ip } from '../calico/ip.js';
import { parseSpiffeId } from '../calico/spiffe.js';
import { v4Of } from './net-set.js';
import type { Flow, FlowPeer } from './flow.js';

/** A peer known by its SPIFFE id. The anonymous peer (empty principal) is represented by null. */
export interface PeerIdentity {
  readonly serviceAccount: string;
  readonly namespace: string;
  /** Request labels overlaid with the service account's labels from the store (store wins). */
  readonly labels: Labels;
  /** The namespace's labels from the store; empty when the namespace is unknown. */
  readonly namespaceLabels: Labels;
}

/** What the context needs from the store: the label maps Felix sent. */
export interface IdentityLabelSource {
  serviceAccountLabels(namespace: string, name: string): Labels | undefined;
  namespaceLabels(name: string): Labels | undefined;
}

export interface RequestContext {
  readonly srcIp: Ip | null;
  readonly dstIp: Ip | null;
  /** The addresses as unsigned 32-bit numbers when they are IPv4; −1 otherwise. */
  readonly srcV4: number;
  readonly dstV4: number;
  readonly srcPort: number;
  readonly dstPort: number;
  readonly protocol: number;
  /** Calico matches no rule for a protocol outside 1–255. */
  readonly protocolValid: boolean;
  /** `<srcIP>,<proto>:<srcPort>`, for source named ports. */
  readonly srcKey: string;
  /** `<dstIP>,<proto>:<dstPort>`, for dst_ip_port_set_ids and destination named ports. */
  readonly dstKey: string;
  readonly method: string | null;
  readonly rawPath: string | null;
  /** The request has a path that does not start with `/`: a rule with paths gives INVALID_ARGUMENT. */
  readonly pathInvalid: boolean;
  readonly src: PeerIdentity | null;
  readonly dst: PeerIdentity | null;
  /** Set by the first rule that needs it. */
  normalizedPath: string | null | undefined;
}

export type RequestContextResult =
  { readonly ok: true; readonly ctx: RequestContext } | { readonly ok: false; readonly message: string };

const PROTOCOL_KEY_NAMES: Readonly<Record<number, string>> = { 1: 'icmp', 6: 'tcp', 17: 'udp' };

// Calico renders a missing address as Go's "<nil>"; keep the same key so lookups agree.
function ipKey(ip: Ip | null, protocol: number, port: number): string {
  return `${ipText(ip)},${PROTOCOL_KEY_NAMES[protocol] ?? ''}:${port}`;
}

function v4Number(ip: Ip | null): number {
  return ip !== null && ip.family === 4 ? v4Of(ip) : -1;
}

function mergeLabels(request: Labels, store: Labels | undefined): Labels {
  if (store === undefined || store.size === 0) return request;
  if (request.size === 0) return store;
  const out = new Map(request);
  for (const [k, v] of store) out.set(k, v);
  return out;
}

const MAX_PRINCIPAL_IN_MESSAGE = 256;

function quote(text: string): string {
  const cut = text.length > MAX_PRINCIPAL_IN_MESSAGE ? `${text.slice(0, MAX_PRINCIPAL_IN_MESSAGE)}…` : text;
  return JSON.stringify(cut);
}

type PeerResult = { ok: true; peer: PeerIdentity | null } | { ok: false; message: string };

function identify(side: 'source' | 'destination', peer: FlowPeer, store: IdentityLabelSource): PeerResult {
  if (peer.principal === '') return { ok: true, peer: null };
  const parsed = parseSpiffeId(peer.principal);
  // Unlike Dikastes, which treats an unparsable principal as "no identity" and lets identity
  // clauses pass (spec §8 item 4), a principal that is present but malformed is refused.
  if (!parsed.ok) {
    return {
      ok: false,
      message: `${side} principal ${quote(peer.principal)} is not a SPIFFE id: ${parsed.reason}`,
    };
  }
  const { namespace, serviceAccount } = parsed.id;
  return {
    ok: true,
    peer: {
      serviceAccount,
      namespace,
      labels: mergeLabels(peer.labels, store.serviceAccountLabels(namespace, serviceAccount)),
      namespaceLabels: store.namespaceLabels(namespace) ?? NO_LABELS,
    },
  };
}

/** Builds the per-Check context, or refuses the flow because a principal is malformed. */
export function buildRequestContext(flow: Flow, store: IdentityLabelSource): RequestContextResult {
  const src = identify('source', flow.source, store);
  if (!src.ok) return src;
  const dst = identify('destination', flow.destination, store);
  if (!dst.ok) return dst;
  const protocol = flow.protocol;
  const path = flow.httpPath;
  return {
    ok: true,
    ctx: {
      srcIp: flow.source.ip,
      dstIp: flow.destination.ip,
      srcV4: v4Number(flow.source.ip),
      dstV4: v4Number(flow.destination.ip),
      srcPort: flow.source.port,
      dstPort: flow.destination.port,
      protocol,
      protocolValid: protocol >= 1 && protocol <= 255,
      srcKey: ipKey(flow.source.ip, protocol, flow.source.port),
      dstKey: ipKey(flow.destination.ip, protocol, flow.destination.port),
      method: flow.httpMethod,
      rawPath: path,
      pathInvalid: path !== null && !path.startsWith('/'),
      src: src.peer,
      dst: dst.peer,
      normalizedPath: undefined,
    },
  };
}
