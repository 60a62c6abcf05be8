// felix.Rule on the wire ⇄ the Rule model: decoded once at the boundary (sidecar), encoded once
// for PolicySync (node agent). Decoding never throws: odd values narrow to what Dikastes would see.
import type { IcmpTypeAndCode__Output } from '../proto/gen/felix/IcmpTypeAndCode.js';
import type { HTTPMatch, HTTPMatch__Output } from '../proto/gen/felix/HTTPMatch.js';
import type { PortRange, PortRange__Output } from '../proto/gen/felix/PortRange.js';
import type { Protocol, Protocol__Output } from '../proto/gen/felix/Protocol.js';
import type { Rule as RuleWire, Rule__Output } from '../proto/gen/felix/Rule.js';
import type {
  ServiceAccountMatch,
  ServiceAccountMatch__Output,
} from '../proto/gen/felix/ServiceAccountMatch.js';
import type {
  HttpMatch,
  IcmpMatch,
  PathMatch,
  PortRange as PortRangeModel,
  ProtocolMatch,
  Rule,
  ServiceAccountMatch as SaMatch,
} from './rule.js';
import { asString } from './spec-fields.js';

type Maybe<T> = T | null | undefined;

function strings(list: Maybe<readonly unknown[]>): string[] {
  if (list == null) return [];
  return list.filter((s): s is string => typeof s === 'string');
}

function int(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? Math.trunc(v) : 0;
}

function portRanges(list: Maybe<readonly Maybe<PortRange__Output>[]>): PortRangeModel[] {
  if (list == null) return [];
  return list.map((r) => ({ first: int(r?.first), last: int(r?.last) }));
}

function protocolFromWire(p: Maybe<Protocol__Output>): ProtocolMatch | null {
  if (p == null) return null;
  switch (p.number_or_name) {
    case 'number':
      return { kind: 'number', number: int(p.number) };
    case 'name':
      return { kind: 'name', name: asString(p.name) };
    default:
      return { kind: 'empty' };
  }
}

function ipVersionFromWire(v: unknown): 0 | 4 | 6 {
  if (v === 'IPV4' || v === 4) return 4;
  if (v === 'IPV6' || v === 6) return 6;
  return 0;
}

function icmpFromWire(
  which: unknown,
  type: unknown,
  typeCode: Maybe<IcmpTypeAndCode__Output>,
): IcmpMatch | null {
  if (which === 'icmp_type' || which === 'not_icmp_type') return { type: int(type), code: null };
  if (which === 'icmp_type_code' || which === 'not_icmp_type_code') {
    return { type: int(typeCode?.type), code: int(typeCode?.code) };
  }
  return null;
}

function saMatchFromWire(m: Maybe<ServiceAccountMatch__Output>): SaMatch | null {
  if (m == null) return null;
  return { selector: asString(m.selector), names: strings(m.names) };
}

function httpMatchFromWire(m: Maybe<HTTPMatch__Output>): HttpMatch | null {
  if (m == null) return null;
  const paths: PathMatch[] = (m.paths ?? []).map((p) => {
    if (p?.path_match === 'exact') return { kind: 'exact', value: asString(p.exact) };
    if (p?.path_match === 'prefix') return { kind: 'prefix', value: asString(p.prefix) };
    return { kind: 'none' };
  });
  return { methods: strings(m.methods), paths };
}

function annotationsFromWire(obj: Maybe<Readonly<Record<string, unknown>>>): Map<string, string> {
  const out = new Map<string, string>();
  if (obj != null) for (const [k, v] of Object.entries(obj)) if (typeof v === 'string') out.set(k, v);
  return out;
}

/** Decodes a felix.Rule as proto-loader delivers it (snake_case, defaults, oneof names). */
export function ruleFromWire(wire: Rule__Output): Rule {
  return {
    action: asString(wire.action),
    ipVersion: ipVersionFromWire(wire.ip_version),
    protocol: protocolFromWire(wire.protocol),
    notProtocol: protocolFromWire(wire.not_protocol),
    srcNet: strings(wire.src_net),
    srcPorts: portRanges(wire.src_ports),
    srcNamedPortIpSetIds: strings(wire.src_named_port_ip_set_ids),
    srcIpSetIds: strings(wire.src_ip_set_ids),
    notSrcNet: strings(wire.not_src_net),
    notSrcPorts: portRanges(wire.not_src_ports),
    notSrcIpSetIds: strings(wire.not_src_ip_set_ids),
    notSrcNamedPortIpSetIds: strings(wire.not_src_named_port_ip_set_ids),
    dstNet: strings(wire.dst_net),
    dstPorts: portRanges(wire.dst_ports),
    dstNamedPortIpSetIds: strings(wire.dst_named_port_ip_set_ids),
    dstIpSetIds: strings(wire.dst_ip_set_ids),
    dstIpPortSetIds: strings(wire.dst_ip_port_set_ids),
    notDstNet: strings(wire.not_dst_net),
    notDstPorts: portRanges(wire.not_dst_ports),
    notDstIpSetIds: strings(wire.not_dst_ip_set_ids),
    notDstNamedPortIpSetIds: strings(wire.not_dst_named_port_ip_set_ids),
    icmp: icmpFromWire(wire.icmp, wire.icmp_type, wire.icmp_type_code),
    notIcmp: icmpFromWire(wire.not_icmp, wire.not_icmp_type, wire.not_icmp_type_code),
    originalSrcSelector: asString(wire.original_src_selector),
    originalDstSelector: asString(wire.original_dst_selector),
    originalSrcNamespaceSelector: asString(wire.original_src_namespace_selector),
    originalDstNamespaceSelector: asString(wire.original_dst_namespace_selector),
    originalNotSrcSelector: asString(wire.original_not_src_selector),
    originalNotDstSelector: asString(wire.original_not_dst_selector),
    originalSrcService: asString(wire.original_src_service),
    originalSrcServiceNamespace: asString(wire.original_src_service_namespace),
    originalDstService: asString(wire.original_dst_service),
    originalDstServiceNamespace: asString(wire.original_dst_service_namespace),
    srcServiceAccountMatch: saMatchFromWire(wire.src_service_account_match),
    dstServiceAccountMatch: saMatchFromWire(wire.dst_service_account_match),
    httpMatch: httpMatchFromWire(wire.http_match),
    annotations: annotationsFromWire(wire.metadata?.annotations),
    ruleId: asString(wire.rule_id),
  };
}

function protocolToWire(p: ProtocolMatch | null): Protocol | null {
  if (p === null) return null;
  switch (p.kind) {
    case 'number':
      return { number: p.number };
    case 'name':
      return { name: p.name };
    case 'empty':
      return {};
    default: {
      const never: never = p;
      return never;
    }
  }
}

function portsToWire(ranges: readonly PortRangeModel[]): PortRange[] {
  return ranges.map((r) => ({ first: r.first, last: r.last }));
}

function saMatchToWire(m: SaMatch | null): ServiceAccountMatch | null {
  return m === null ? null : { selector: m.selector, names: [...m.names] };
}

function httpMatchToWire(m: HttpMatch | null): HTTPMatch | null {
  if (m === null) return null;
  return {
    methods: [...m.methods],
    paths: m.paths.map((p) => {
      switch (p.kind) {
        case 'exact':
          return { exact: p.value };
        case 'prefix':
          return { prefix: p.value };
        case 'none':
          return {};
        default: {
          const never: never = p;
          return never;
        }
      }
    }),
  };
}

const IP_VERSION_TO_WIRE = { 0: 'ANY', 4: 'IPV4', 6: 'IPV6' } as const;

/** Encodes a rule as a proto-loader input object for felix.Rule (what PolicySync sends). */
export function ruleToWire(rule: Rule): RuleWire {
  const wire: RuleWire = {
    action: rule.action,
    ip_version: IP_VERSION_TO_WIRE[rule.ipVersion],
    protocol: protocolToWire(rule.protocol),
    not_protocol: protocolToWire(rule.notProtocol),
    src_net: [...rule.srcNet],
    src_ports: portsToWire(rule.srcPorts),
    src_named_port_ip_set_ids: [...rule.srcNamedPortIpSetIds],
    src_ip_set_ids: [...rule.srcIpSetIds],
    not_src_net: [...rule.notSrcNet],
    not_src_ports: portsToWire(rule.notSrcPorts),
    not_src_ip_set_ids: [...rule.notSrcIpSetIds],
    not_src_named_port_ip_set_ids: [...rule.notSrcNamedPortIpSetIds],
    dst_net: [...rule.dstNet],
    dst_ports: portsToWire(rule.dstPorts),
    dst_named_port_ip_set_ids: [...rule.dstNamedPortIpSetIds],
    dst_ip_set_ids: [...rule.dstIpSetIds],
    dst_ip_port_set_ids: [...rule.dstIpPortSetIds],
    not_dst_net: [...rule.notDstNet],
    not_dst_ports: portsToWire(rule.notDstPorts),
    not_dst_ip_set_ids: [...rule.notDstIpSetIds],
    not_dst_named_port_ip_set_ids: [...rule.notDstNamedPortIpSetIds],
    original_src_selector: rule.originalSrcSelector,
    original_dst_selector: rule.originalDstSelector,
    original_src_namespace_selector: rule.originalSrcNamespaceSelector,
    original_dst_namespace_selector: rule.originalDstNamespaceSelector,
    original_not_src_selector: rule.originalNotSrcSelector,
    original_not_dst_selector: rule.originalNotDstSelector,
    original_src_service: rule.originalSrcService,
    original_src_service_namespace: rule.originalSrcServiceNamespace,
    original_dst_service: rule.originalDstService,
    original_dst_service_namespace: rule.originalDstServiceNamespace,
    src_service_account_match: saMatchToWire(rule.srcServiceAccountMatch),
    dst_service_account_match: saMatchToWire(rule.dstServiceAccountMatch),
    http_match: httpMatchToWire(rule.httpMatch),
    metadata: rule.annotations.size > 0 ? { annotations: Object.fromEntries(rule.annotations) } : null,
    rule_id: rule.ruleId,
  };
  // Oneofs: set at most one member, so the encoder sends exactly what the model says.
  if (rule.icmp !== null) {
    if (rule.icmp.code === null) wire.icmp_type = rule.icmp.type;
    else wire.icmp_type_code = { type: rule.icmp.type, code: rule.icmp.code };
  }
  if (rule.notIcmp !== null) {
    if (rule.notIcmp.code === null) wire.not_icmp_type = rule.notIcmp.type;
    else wire.not_icmp_type_code = { type: rule.notIcmp.type, code: rule.notIcmp.code };
  }
  return wire;
}
