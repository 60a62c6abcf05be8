// Translates Kubernetes Nodes and Calico IPAMBlocks (untrusted JSON from the API server) into the
// plain facts the peer table needs, once, at the boundary. Malformed fields become "absent";
// nothing here throws. Host addresses follow Calico's KDD projection (spec §2.4, §3.3): the
// projectcalico.org/IPv4Address (IPv6Address) annotation in CIDR form, else the first InternalIP,
// else the first ExternalIP of the family.
import { parseCidr, parseIp, type IpFamily } from '../../calico/ip.js';
import { asStringOrNull, fieldOf } from '../../calico/spec-fields.js';

export const ANNOTATION_PUBLIC_KEY_V4 = 'projectcalico.org/WireguardPublicKey';
export const ANNOTATION_PUBLIC_KEY_V6 = 'projectcalico.org/WireguardPublicKeyV6';
export const ANNOTATION_INTERFACE_ADDR_V4 = 'projectcalico.org/IPv4WireguardInterfaceAddr';
export const ANNOTATION_INTERFACE_ADDR_V6 = 'projectcalico.org/IPv6WireguardInterfaceAddr';
const ANNOTATION_BGP_ADDR_V4 = 'projectcalico.org/IPv4Address';
const ANNOTATION_BGP_ADDR_V6 = 'projectcalico.org/IPv6Address';

export interface NodeFamilyInfo {
  /** The node's underlay address of this family (bare IP), used as the peer endpoint. */
  readonly hostAddress: string | null;
  /** The published public key exactly as annotated; validity is judged by the peer table. */
  readonly publicKey: string | null;
  /** The published WireGuard device address (bare IP), if any and valid. */
  readonly interfaceAddress: string | null;
}

export interface NodeInfo {
  readonly name: string;
  readonly v4: NodeFamilyInfo;
  readonly v6: NodeFamilyInfo;
  /** spec.podCIDRs (or the older spec.podCIDR), canonical `network/len`, both families. */
  readonly podCidrs: readonly string[];
  /** Every address the node reports (bare IPs, both families), for host encryption. */
  readonly hostAddresses: readonly string[];
}

export interface IpamBlockInfo {
  readonly name: string;
  readonly cidr: string;
  /** The node of a `host:<node>` affinity; null for unaffine or virtual affinities. */
  readonly node: string | null;
}

export function familyInfo(node: NodeInfo, family: IpFamily): NodeFamilyInfo {
  return family === 4 ? node.v4 : node.v6;
}

export function nodeInfoFromObject(obj: unknown): NodeInfo | null {
  const name = asStringOrNull(fieldOf(fieldOf(obj, 'metadata'), 'name'));
  if (name === null || name === '') return null;
  const annotations = fieldOf(fieldOf(obj, 'metadata'), 'annotations');
  const annotation = (key: string): string | null => asStringOrNull(fieldOf(annotations, key));
  const spec = fieldOf(obj, 'spec');
  const podCidrTexts = [...strings(fieldOf(spec, 'podCIDRs')), ...strings([fieldOf(spec, 'podCIDR')])];
  const podCidrs = unique(podCidrTexts.map((t) => parseCidr(t)?.text ?? null));
  const addresses = arr(fieldOf(fieldOf(obj, 'status'), 'addresses')).map((a) => ({
    type: asStringOrNull(fieldOf(a, 'type')),
    ip: parseIp(asStringOrNull(fieldOf(a, 'address')) ?? ''),
  }));
  const hostAddress = (family: IpFamily, bgpAnnotation: string): string | null => {
    const bgp = parseCidr(annotation(bgpAnnotation) ?? '');
    if (bgp !== null && bgp.family === family) {
      return parseIp((annotation(bgpAnnotation) as string).split('/')[0] as string)?.text ?? null;
    }
    for (const type of ['InternalIP', 'ExternalIP']) {
      const hit = addresses.find((a) => a.type === type && a.ip !== null && a.ip.family === family);
      if (hit?.ip) return hit.ip.text;
    }
    return null;
  };
  const info = (family: IpFamily): NodeFamilyInfo => ({
    hostAddress: hostAddress(family, family === 4 ? ANNOTATION_BGP_ADDR_V4 : ANNOTATION_BGP_ADDR_V6),
    publicKey: nonEmpty(annotation(family === 4 ? ANNOTATION_PUBLIC_KEY_V4 : ANNOTATION_PUBLIC_KEY_V6)),
    interfaceAddress: bareAddress(
      annotation(family === 4 ? ANNOTATION_INTERFACE_ADDR_V4 : ANNOTATION_INTERFACE_ADDR_V6),
      family,
    ),
  });
  const hostAddresses = unique([
    ...addresses.map((a) => a.ip?.text ?? null),
    ...[ANNOTATION_BGP_ADDR_V4, ANNOTATION_BGP_ADDR_V6].map(
      (k) => parseIp((annotation(k) ?? '').split('/')[0] as string)?.text ?? null,
    ),
  ]);
  return { name, v4: info(4), v6: info(6), podCidrs, hostAddresses };
}

export function ipamBlockFromObject(obj: unknown): IpamBlockInfo | null {
  const name = asStringOrNull(fieldOf(fieldOf(obj, 'metadata'), 'name'));
  const spec = fieldOf(obj, 'spec');
  const cidr = parseCidr(asStringOrNull(fieldOf(spec, 'cidr')) ?? '');
  if (name === null || cidr === null || fieldOf(spec, 'deleted') === true) return null;
  const affinity = asStringOrNull(fieldOf(spec, 'affinity')) ?? '';
  const node = affinity.startsWith('host:') && affinity.length > 5 ? affinity.slice(5) : null;
  return { name, cidr: cidr.text, node };
}

/** A bare IP of the family, or a full-length CIDR of it (Calico accepts both forms). */
function bareAddress(text: string | null, family: IpFamily): string | null {
  if (text === null) return null;
  const ip = parseIp(text);
  if (ip !== null) return ip.family === family ? ip.text : null;
  const cidr = parseCidr(text);
  if (cidr === null || cidr.family !== family || cidr.prefixLength !== (family === 4 ? 32 : 128)) return null;
  return cidr.text.split('/')[0] as string;
}

function nonEmpty(v: string | null): string | null {
  return v === null || v === '' ? null : v;
}

function arr(v: unknown): readonly unknown[] {
  return Array.isArray(v) ? v : [];
}

function strings(v: unknown): string[] {
  return arr(v).filter((x): x is string => typeof x === 'string');
}

function unique(values: readonly (string | null)[]): string[] {
  return [...new Set(values.filter((v): v is string => v !== null))];
}
