// Builders for decide cases in wire form: proto-loader input objects, snake_case, exactly what a
// scripted Felix streams over PolicySync and what Envoy sends in a Check.
import type { SocketAddress } from '../proto/gen/envoy/config/core/v3/SocketAddress.js';
import type { CheckRequest } from '../proto/gen/envoy/service/auth/v3/CheckRequest.js';
import type { PolicyID } from '../proto/gen/felix/PolicyID.js';
import type { Rule } from '../proto/gen/felix/Rule.js';
import type { TierInfo } from '../proto/gen/felix/TierInfo.js';
import type { ToDataplane } from '../proto/gen/felix/ToDataplane.js';

export const GNP = 'GlobalNetworkPolicy';
export const NP = 'NetworkPolicy';
export const SGNP = 'StagedGlobalNetworkPolicy';

export const gnp = (name: string): PolicyID => ({ name, kind: GNP });
export const np = (namespace: string, name: string): PolicyID => ({ name, namespace, kind: NP });
export const sgnp = (name: string): PolicyID => ({ name, kind: SGNP });

export function policy(id: PolicyID, rules: Rule[], namespace = ''): ToDataplane {
  return { active_policy_update: { id, policy: { namespace, inbound_rules: rules } } };
}

/** A global policy named `name` with these inbound rules. */
export function gnpPolicy(name: string, rules: Rule[]): ToDataplane {
  return policy(gnp(name), rules);
}

export function profile(name: string, rules: Rule[]): ToDataplane {
  return { active_profile_update: { id: { name }, profile: { inbound_rules: rules } } };
}

export function tier(
  name: string,
  ingress: PolicyID[],
  defaultAction = 'Deny',
  egress: PolicyID[] = [],
): TierInfo {
  return { name, ingress_policies: ingress, egress_policies: egress, default_action: defaultAction };
}

export function endpoint(tiers: TierInfo[], profileIds: string[] = []): ToDataplane {
  return {
    workload_endpoint_update: {
      id: { orchestrator_id: 'k8s', workload_id: 'default/app', endpoint_id: 'eth0' },
      endpoint: { name: 'eth0', profile_ids: profileIds, tiers },
    },
  };
}

export function ipSet(id: string, members: string[], type: 'IP' | 'IP_AND_PORT' | 'NET' = 'IP'): ToDataplane {
  return { ipset_update: { id, members, type } };
}

export function namespace(name: string, labels: Record<string, string>): ToDataplane {
  return { namespace_update: { id: { name }, labels } };
}

export function serviceAccount(ns: string, name: string, labels: Record<string, string>): ToDataplane {
  return { service_account_update: { id: { namespace: ns, name }, labels } };
}

/** The black-box wrapper of spec §7: one global policy with `rules`, tier default Deny, no profiles. */
export function wrapRules(rules: Rule[], extra: ToDataplane[] = []): ToDataplane[] {
  return [...extra, gnpPolicy('policy1', rules), endpoint([tier('tier1', [gnp('policy1')])])];
}

/** `wrapRules` for a single allow rule carrying `criterion`. */
export function wrapAllow(criterion: Rule, extra: ToDataplane[] = []): ToDataplane[] {
  return wrapRules([{ action: 'allow', ...criterion }], extra);
}

export const spiffe = (ns: string, sa: string): string => `spiffe://cluster.local/ns/${ns}/sa/${sa}`;

export interface PeerSpec {
  ip?: string;
  port?: number;
  principal?: string;
  labels?: Record<string, string>;
}

export interface RequestSpec {
  /** null: no source peer at all. */
  src?: PeerSpec | null;
  /** null: no destination peer (protocol defaults to TCP). */
  dst?: PeerSpec | null;
  protocol?: 'TCP' | 'UDP' | number;
  /** Absent: a TCP-level check with no `request.http`. */
  http?: { method?: string; path?: string };
}

function peer(
  spec: PeerSpec,
  protocol: RequestSpec['protocol'],
): NonNullable<CheckRequest['attributes']>['source'] {
  const out: NonNullable<NonNullable<CheckRequest['attributes']>['source']> = {};
  if (spec.principal !== undefined) out.principal = spec.principal;
  if (spec.labels !== undefined) out.labels = spec.labels;
  if (spec.ip !== undefined || spec.port !== undefined) {
    out.address = {
      socket_address: {
        address: spec.ip ?? '',
        port_value: spec.port ?? 0,
        // An unknown enum number passes through the encoder unchanged (flow tests use it).
        protocol: (protocol ?? 'TCP') as SocketAddress['protocol'],
      },
    };
  }
  return out;
}

/**
 * A Check request. Defaults follow spec §7's harness: source 10.0.0.1:45000, destination
 * 10.0.0.2:80 over TCP, empty principals, and no HTTP.
 */
export function request(spec: RequestSpec = {}): CheckRequest {
  const src = spec.src === null ? null : peer({ ip: '10.0.0.1', port: 45000, ...spec.src }, spec.protocol);
  const dst = spec.dst === null ? null : peer({ ip: '10.0.0.2', port: 80, ...spec.dst }, spec.protocol);
  const attributes: NonNullable<CheckRequest['attributes']> = {};
  if (src !== null) attributes.source = src;
  if (dst !== null) attributes.destination = dst;
  if (spec.http !== undefined) {
    attributes.request = { http: { method: spec.http.method ?? 'GET', path: spec.http.path ?? '/' } };
  }
  return { attributes };
}

/** An HTTP request with the given method and path (and default addresses). */
export function http(method: string, path = '/', rest: Omit<RequestSpec, 'http'> = {}): CheckRequest {
  return request({ ...rest, http: { method, path } });
}
