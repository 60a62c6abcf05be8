// Plays istiod for the stand-in proxy: computes each pod's envoy-lite configuration from the
// Istio and Kubernetes objects the test applied, as istiod's xDS would (spec istio-e2e.md §2.5):
// inbound chains per Service target port (HTTP or TCP by Istio's port-name rule), the TLS mode of
// the PeerAuthentication in force, ext_authz filters from an EnvoyFilter that selects the pod
// (its typed_config verbatim) or from a CUSTOM AuthorizationPolicy and the mesh's extension
// provider (built the way Istio's authz builder does), clusters from ServiceEntries, and outbound
// routes to Service endpoints.
import type { Manifest } from './raw-apply.js';

export interface EnvoyLiteChain {
  port: number;
  protocol: 'http' | 'tcp';
  tlsMode: string;
  extAuthz: Record<string, unknown>[];
  custom?: { operations: Record<string, string[]>[] };
}

export interface EnvoyLiteConfig {
  identity: { cert: string; key: string; ca: string };
  clusters: Record<string, string>;
  listeners: (
    | { name: string; direction: 'inbound'; listen: string; chains: EnvoyLiteChain[] }
    | {
        name: string;
        direction: 'outbound';
        protocol: 'http';
        listen: string;
        routes: Record<string, string>;
      }
    | { name: string; direction: 'outbound'; protocol: 'tcp'; listen: string; upstream: string }
  )[];
}

export interface MeshPod {
  readonly name: string;
  readonly namespace: string;
  readonly ip: string;
  readonly labels: Readonly<Record<string, string>>;
}

export interface MeshWorld {
  /** Everything applied: Services, ServiceEntries, EnvoyFilters, AuthorizationPolicies, PeerAuthentications. */
  readonly objects: readonly Manifest[];
  readonly pods: readonly MeshPod[];
  /** The mesh config (ConfigMap istio, data.mesh), parsed. */
  readonly mesh: { readonly extensionProviders?: readonly ExtensionProvider[] };
}

interface ExtensionProvider {
  readonly name: string;
  readonly envoyExtAuthzGrpc?: {
    readonly service: string;
    readonly port: number;
    readonly timeout?: string;
    readonly failOpen?: boolean;
    readonly statusOnError?: string;
  };
}

const ROOT_NAMESPACE = 'istio-system';
export const INBOUND_PORT = 15006;
export const OUTBOUND_HTTP_PORT = 15001;

type Spec = Record<string, unknown>;
const specOf = (o: Manifest): Spec => (o['spec'] ?? {}) as Spec;
const ofKind = (world: MeshWorld, kind: string) => world.objects.filter((o) => o.kind === kind);

function selects(
  selector: Readonly<Record<string, string>> | undefined,
  labels: Readonly<Record<string, string>>,
) {
  return Object.entries(selector ?? {}).every(([k, v]) => labels[k] === v);
}

/** Does a policy-like object (root namespace: mesh-wide) with this selector apply to the pod? */
function appliesTo(o: Manifest, selector: Record<string, string> | undefined, pod: MeshPod): boolean {
  const ns = o.metadata.namespace;
  return (ns === ROOT_NAMESPACE || ns === pod.namespace) && selects(selector, pod.labels);
}

/** Istio's protocol selection by port name (or appProtocol): http*, http2*, grpc* → HTTP. */
function protocolOf(port: { name?: string; appProtocol?: string }): 'http' | 'tcp' {
  const p = (port.appProtocol ?? port.name ?? '').toLowerCase();
  return /^(http|http2|grpc)(-|$)/.test(p) ? 'http' : 'tcp';
}

interface ServicePort {
  readonly name?: string;
  readonly port: number;
  readonly targetPort?: number;
  readonly appProtocol?: string;
}

function servicesOf(world: MeshWorld) {
  return ofKind(world, 'Service').map((s) => {
    const spec = specOf(s) as { selector?: Record<string, string>; ports?: ServicePort[] };
    return { svc: s, selector: spec.selector ?? {}, ports: spec.ports ?? [] };
  });
}

/** PeerAuthentication in force: the pod's own (by selector), else its namespace's, else the mesh's. */
function tlsModeFor(world: MeshWorld, pod: MeshPod): string {
  const pas = ofKind(world, 'PeerAuthentication');
  const mode = (o: Manifest) => (specOf(o)['mtls'] as { mode?: string } | undefined)?.mode;
  const sel = (o: Manifest) =>
    (specOf(o)['selector'] as { matchLabels?: Record<string, string> } | undefined)?.matchLabels;
  const own = pas.find(
    (o) => o.metadata.namespace === pod.namespace && sel(o) !== undefined && selects(sel(o), pod.labels),
  );
  const ns = pas.find((o) => o.metadata.namespace === pod.namespace && sel(o) === undefined);
  const root = pas.find((o) => o.metadata.namespace === ROOT_NAMESPACE && sel(o) === undefined);
  return mode(own ?? ns ?? root ?? ({} as Manifest)) ?? 'PERMISSIVE';
}

interface Patch {
  applyTo: string;
  match?: { context?: string };
  patch: { value: { typed_config: Record<string, unknown> } };
}

/** ext_authz typed_configs an EnvoyFilter inserts on this pod's inbound chains of a protocol. */
function envoyFilterAuthz(world: MeshWorld, pod: MeshPod, protocol: 'http' | 'tcp') {
  const out: Record<string, unknown>[] = [];
  for (const ef of ofKind(world, 'EnvoyFilter')) {
    const spec = specOf(ef) as {
      workloadSelector?: { labels?: Record<string, string> };
      configPatches?: Patch[];
    };
    if (!appliesTo(ef, spec.workloadSelector?.labels, pod)) continue;
    for (const p of spec.configPatches ?? []) {
      if (p.match?.context !== 'SIDECAR_INBOUND') continue;
      if ((protocol === 'http') === (p.applyTo === 'HTTP_FILTER')) out.push(p.patch.value.typed_config);
    }
  }
  return out;
}

/** What Istio's authz builder (extauthz.go, generateGRPCConfig) makes of a CUSTOM policy. */
function customAuthz(world: MeshWorld, pod: MeshPod, protocol: 'http' | 'tcp') {
  const policies = ofKind(world, 'AuthorizationPolicy').filter((o) => {
    const spec = specOf(o) as { action?: string; selector?: { matchLabels?: Record<string, string> } };
    return spec.action === 'CUSTOM' && appliesTo(o, spec.selector?.matchLabels, pod);
  });
  if (policies.length === 0) return null;
  const operations: Record<string, string[]>[] = [];
  let providerName = '';
  for (const p of policies) {
    const spec = specOf(p) as {
      provider?: { name?: string };
      rules?: { to?: { operation?: Record<string, string[]> }[] }[];
    };
    providerName = spec.provider?.name ?? '';
    for (const rule of spec.rules ?? []) {
      if (rule.to === undefined || rule.to.length === 0) operations.push({});
      for (const to of rule.to ?? []) operations.push(to.operation ?? {});
    }
  }
  const provider = world.mesh.extensionProviders?.find((x) => x.name === providerName)?.envoyExtAuthzGrpc;
  if (provider === undefined) throw new Error(`no envoyExtAuthzGrpc extension provider "${providerName}"`);
  const grpcService = {
    envoy_grpc: {
      cluster_name: `outbound|${provider.port}||${provider.service}`,
      authority: provider.service,
    },
    timeout: provider.timeout ?? '600s',
  };
  const typed =
    protocol === 'http'
      ? {
          '@type': 'type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthz',
          transport_api_version: 'V3',
          grpc_service: grpcService,
          failure_mode_allow: provider.failOpen ?? false,
          status_on_error: { code: Number(provider.statusOnError ?? '403') },
        }
      : {
          '@type': 'type.googleapis.com/envoy.extensions.filters.network.ext_authz.v3.ExtAuthz',
          transport_api_version: 'V3',
          stat_prefix: 'tcp.',
          grpc_service: grpcService,
          failure_mode_allow: provider.failOpen ?? false,
        };
  return { typed, operations };
}

export function proxyConfigFor(
  world: MeshWorld,
  pod: MeshPod,
  identity: { cert: string; key: string; ca: string },
): EnvoyLiteConfig {
  const clusters: Record<string, string> = {};
  for (const se of ofKind(world, 'ServiceEntry')) {
    const spec = specOf(se) as {
      hosts?: string[];
      ports?: { number: number }[];
      endpoints?: { address: string }[];
    };
    const address = spec.endpoints?.[0]?.address;
    if (address === undefined) continue;
    // A unix:// endpoint is the whole address; an IP endpoint listens on the entry's port.
    for (const host of spec.hosts ?? []) {
      for (const p of spec.ports ?? []) {
        clusters[`outbound|${p.number}||${host}`] = address.startsWith('unix://')
          ? address
          : `${address}:${p.number}`;
      }
    }
  }

  const tlsMode = tlsModeFor(world, pod);
  const chains: EnvoyLiteChain[] = [];
  const routes: Record<string, string> = {};
  const tcpOut: { port: number; upstream: string }[] = [];
  for (const { svc, selector, ports } of servicesOf(world)) {
    const own = svc.metadata.namespace === pod.namespace && selects(selector, pod.labels);
    const endpoint = world.pods.find(
      (p) => p.namespace === svc.metadata.namespace && selects(selector, p.labels),
    );
    for (const port of ports) {
      const target = port.targetPort ?? port.port;
      const protocol = protocolOf(port);
      if (own && !chains.some((c) => c.port === target)) {
        const custom = customAuthz(world, pod, protocol);
        chains.push({
          port: target,
          protocol,
          tlsMode,
          extAuthz: [...envoyFilterAuthz(world, pod, protocol), ...(custom === null ? [] : [custom.typed])],
          ...(custom === null ? {} : { custom: { operations: custom.operations } }),
        });
      }
      if (endpoint === undefined) continue;
      const upstream = `${endpoint.ip}:${target}`;
      if (protocol === 'http') {
        const name = svc.metadata.name;
        const ns = svc.metadata.namespace ?? 'default';
        for (const host of [`${name}.${ns}`, `${name}.${ns}.svc.cluster.local`])
          routes[`${host}:${port.port}`] = upstream;
        if (ns === pod.namespace) routes[`${name}:${port.port}`] = upstream;
      } else if (!own) {
        // A local port per TCP service (Envoy captures outbound TCP instead); not in the pods that
        // serve it, where the app holds that port.
        tcpOut.push({ port: port.port, upstream });
      }
    }
  }
  return {
    identity: { cert: identity.cert, key: identity.key, ca: identity.ca },
    clusters,
    listeners: [
      { name: 'virtualInbound', direction: 'inbound', listen: `0.0.0.0:${INBOUND_PORT}`, chains },
      {
        name: 'outbound-http',
        direction: 'outbound',
        protocol: 'http',
        listen: `127.0.0.1:${OUTBOUND_HTTP_PORT}`,
        routes,
      },
      ...tcpOut.map((t) => ({
        name: `outbound-tcp-${t.port}`,
        direction: 'outbound' as const,
        protocol: 'tcp' as const,
        listen: `127.0.0.1:${t.port}`,
        upstream: t.upstream,
      })),
    ],
  };
}
