// The Calico rule as alp-mesh evaluates and sends it: a plain, validated copy of felix.Rule.
// Field names are felix.Rule's in camelCase; rule-wire.ts converts to and from the wire form.

export interface PortRange {
  readonly first: number;
  readonly last: number;
}

/** felix.Protocol: by number, by name, or an empty oneof (which never matches). */
export type ProtocolMatch =
  | { readonly kind: 'number'; readonly number: number }
  | { readonly kind: 'name'; readonly name: string }
  | { readonly kind: 'empty' };

export interface ServiceAccountMatch {
  readonly selector: string;
  readonly names: readonly string[];
}

/** One HTTP path criterion; `none` is a oneof with neither field set (ignored). */
export type PathMatch =
  | { readonly kind: 'exact'; readonly value: string }
  | { readonly kind: 'prefix'; readonly value: string }
  | { readonly kind: 'none' };

export interface HttpMatch {
  readonly methods: readonly string[];
  readonly paths: readonly PathMatch[];
}

export interface IcmpMatch {
  readonly type: number;
  readonly code: number | null;
}

export interface Rule {
  /** Raw action string: allow, deny, pass, next-tier, log (any case); anything else is invalid. */
  readonly action: string;
  readonly ipVersion: 0 | 4 | 6;
  readonly protocol: ProtocolMatch | null;
  readonly notProtocol: ProtocolMatch | null;

  readonly srcNet: readonly string[];
  readonly srcPorts: readonly PortRange[];
  readonly srcNamedPortIpSetIds: readonly string[];
  readonly srcIpSetIds: readonly string[];
  readonly notSrcNet: readonly string[];
  readonly notSrcPorts: readonly PortRange[];
  readonly notSrcIpSetIds: readonly string[];
  readonly notSrcNamedPortIpSetIds: readonly string[];

  readonly dstNet: readonly string[];
  readonly dstPorts: readonly PortRange[];
  readonly dstNamedPortIpSetIds: readonly string[];
  readonly dstIpSetIds: readonly string[];
  readonly dstIpPortSetIds: readonly string[];
  readonly notDstNet: readonly string[];
  readonly notDstPorts: readonly PortRange[];
  readonly notDstIpSetIds: readonly string[];
  readonly notDstNamedPortIpSetIds: readonly string[];

  readonly icmp: IcmpMatch | null;
  readonly notIcmp: IcmpMatch | null;

  readonly originalSrcSelector: string;
  readonly originalDstSelector: string;
  readonly originalSrcNamespaceSelector: string;
  readonly originalDstNamespaceSelector: string;
  readonly originalNotSrcSelector: string;
  readonly originalNotDstSelector: string;
  readonly originalSrcService: string;
  readonly originalSrcServiceNamespace: string;
  readonly originalDstService: string;
  readonly originalDstServiceNamespace: string;

  readonly srcServiceAccountMatch: ServiceAccountMatch | null;
  readonly dstServiceAccountMatch: ServiceAccountMatch | null;
  readonly httpMatch: HttpMatch | null;

  readonly annotations: ReadonlyMap<string, string>;
  readonly ruleId: string;
}

/**
 * A rule that matches everything, with the given action; the base for building rules in code.
 * A decoder filling thousands of rules may pass one shared empty list and annotation map, for
 * the fields it will replace rather than push to. Every rule is one object literal, so all share
 * one shape.
 */
export function emptyRule(
  action: string,
  emptyList?: readonly never[],
  noAnnotations?: ReadonlyMap<string, string>,
): Rule {
  return {
    action,
    ipVersion: 0,
    protocol: null,
    notProtocol: null,
    srcNet: emptyList ?? [],
    srcPorts: emptyList ?? [],
    srcNamedPortIpSetIds: emptyList ?? [],
    srcIpSetIds: emptyList ?? [],
    notSrcNet: emptyList ?? [],
    notSrcPorts: emptyList ?? [],
    notSrcIpSetIds: emptyList ?? [],
    notSrcNamedPortIpSetIds: emptyList ?? [],
    dstNet: emptyList ?? [],
    dstPorts: emptyList ?? [],
    dstNamedPortIpSetIds: emptyList ?? [],
    dstIpSetIds: emptyList ?? [],
    dstIpPortSetIds: emptyList ?? [],
    notDstNet: emptyList ?? [],
    notDstPorts: emptyList ?? [],
    notDstIpSetIds: emptyList ?? [],
    notDstNamedPortIpSetIds: emptyList ?? [],
    icmp: null,
    notIcmp: null,
    originalSrcSelector: '',
    originalDstSelector: '',
    originalSrcNamespaceSelector: '',
    originalDstNamespaceSelector: '',
    originalNotSrcSelector: '',
    originalNotDstSelector: '',
    originalSrcService: '',
    originalSrcServiceNamespace: '',
    originalDstService: '',
    originalDstServiceNamespace: '',
    srcServiceAccountMatch: null,
    dstServiceAccountMatch: null,
    httpMatch: null,
    annotations: noAnnotations ?? new Map(),
    ruleId: '',
  };
}

/** Every IP-set id a rule references (what Felix sends before the policy). */
export function referencedIpSetIds(rule: Rule): string[] {
  return [
    ...rule.srcIpSetIds,
    ...rule.notSrcIpSetIds,
    ...rule.srcNamedPortIpSetIds,
    ...rule.notSrcNamedPortIpSetIds,
    ...rule.dstIpSetIds,
    ...rule.notDstIpSetIds,
    ...rule.dstIpPortSetIds,
    ...rule.dstNamedPortIpSetIds,
    ...rule.notDstNamedPortIpSetIds,
  ];
}
