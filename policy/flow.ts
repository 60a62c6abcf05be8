// The flow a Check asks about, read once from Envoy's CheckRequest into plain data (spec §5.1).
// Every level of the request may be missing; each attribute then takes Calico's default.
import { NO_LABELS, labelsFromObject } from '../calico/labels.js';
import type { Labels } from '../calico/labels.js';
import { parseIp } from '../calico/ip.js';
import type { Ip } from '../calico/ip.js';
import type { Address__Output } from '../proto/gen/envoy/config/core/v3/Address.js';
import type { SocketAddress__Output } from '../proto/gen/envoy/config/core/v3/SocketAddress.js';
import type { _envoy_service_auth_v3_AttributeContext_Peer__Output as Peer__Output } from '../proto/gen/envoy/service/auth/v3/AttributeContext.js';
import type { CheckRequest__Output } from '../proto/gen/envoy/service/auth/v3/CheckRequest.js';

export interface FlowPeer {
  /** `attributes.<peer>.principal`; `''` when absent (plaintext, or no peer at all). */
  readonly principal: string;
  /** Parsed like Go's net.ParseIP; null for pipes, internal addresses and unparsable text. */
  readonly ip: Ip | null;
  /** `port_value`; 0 when absent or given as a named port. */
  readonly port: number;
  readonly labels: Labels;
}

export interface Flow {
  readonly source: FlowPeer;
  readonly destination: FlowPeer;
  /** IANA protocol number: 6 (TCP) or 17 (UDP) through a CheckRequest. */
  readonly protocol: number;
  /** null when the request has no `request.http` (a TCP-level check from the network filter). */
  readonly httpMethod: string | null;
  /** Raw request target with its query, as Envoy sends it; null without `request.http`. */
  readonly httpPath: string | null;
}

const TCP = 6;
const UDP = 17;

function socketAddress(address: Address__Output | null | undefined): SocketAddress__Output | null {
  // Only a socket address carries an IP and port; pipes and internal addresses do not.
  return address?.socket_address ?? null;
}

function peerFrom(peer: Peer__Output | null | undefined): FlowPeer {
  const sock = socketAddress(peer?.address);
  const text = sock?.address;
  return {
    principal: typeof peer?.principal === 'string' ? peer.principal : '',
    ip: typeof text === 'string' ? parseIp(text) : null,
    port: sock?.port_specifier === 'port_value' && typeof sock.port_value === 'number' ? sock.port_value : 0,
    labels: peer?.labels != null ? labelsFromObject(peer.labels) : NO_LABELS,
  };
}

// Calico reads the enum name: TCP → 6, UDP → 17; an unknown value and a destination that is not a
// socket address both mean TCP. The enum arrives as its name or its number (SocketAddress.UDP = 1),
// depending on the loader's `enums` option.
function protocolFrom(sock: SocketAddress__Output | null): number {
  if (sock === null) return TCP;
  const p: unknown = sock.protocol;
  return p === 'UDP' || p === 1 ? UDP : TCP;
}

/** Builds the flow for one Check; tolerates null at every level and never throws. */
export function flowFromCheckRequest(req: CheckRequest__Output | null | undefined): Flow {
  const attrs = req?.attributes;
  const http = attrs?.request?.http ?? null;
  return {
    source: peerFrom(attrs?.source),
    destination: peerFrom(attrs?.destination),
    protocol: protocolFrom(socketAddress(attrs?.destination?.address)),
    httpMethod: http === null ? null : typeof http.method === 'string' ? http.method : '',
    httpPath: http === null ? null : typeof http.path === 'string' ? http.path : '',
  };
}
