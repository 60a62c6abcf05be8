// Helpers for tests against the envtest API server (test/harness/envtest/): unique namespaces,
// create/apply of any object, Nodes and Pods made by hand (no kubelet runs, so tests set Pod
// status themselves), conflict retries and waiting for a condition.
import { randomBytes } from 'node:crypto';
import {
  ApiException,
  CoreV1Api,
  CustomObjectsApi,
  KubernetesObjectApi,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
  type KubernetesObject,
  type V1Node,
  type V1Pod,
} from '@kubernetes/client-node';
import { readCrds } from './envtest/install-crds.js';

export const FIELD_MANAGER = 'alp-mesh-test';

/** A DNS-1123 name unique to this call: `<prefix>-<8 hex digits>`. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

/** The HTTP status of a failed API call, or undefined for any other error. */
export function apiErrorCode(err: unknown): number | undefined {
  return err instanceof ApiException ? err.code : undefined;
}

/**
 * Creates a namespace with a unique name and returns the name. No namespace controller runs, so
 * a deleted namespace stays Terminating until the API server stops; names never collide anyway.
 */
export async function createNamespace(
  kc: KubeConfig,
  prefix = 'test',
  labels: Record<string, string> = {},
): Promise<string> {
  const name = uniqueName(prefix);
  await kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name, labels } } });
  return name;
}

export async function deleteNamespace(kc: KubeConfig, name: string): Promise<void> {
  try {
    await kc.makeApiClient(CoreV1Api).deleteNamespace({ name });
  } catch (err) {
    if (apiErrorCode(err) !== 404) throw err;
  }
}

/**
 * Where a custom resource lives, for the kinds in deploy/crds/. Custom resources go through
 * CustomObjectsApi with raw JSON: client-node's KubernetesObjectApi picks its typed model from
 * the version and kind only, so a crd.projectcalico.org/v1 NetworkPolicy would be serialized as
 * a Kubernetes V1NetworkPolicy and lose its Calico fields.
 */
interface CustomTarget {
  readonly group: string;
  readonly version: string;
  readonly plural: string;
  readonly namespace: string | undefined;
  readonly name: string;
}

let customPlurals: Promise<Map<string, string>> | undefined;

/**
 * Built-in kinds whose client-node model renames fields (V1NetworkPolicy spells `from` as `_from`):
 * sent as raw JSON like the Calico kinds, so tests write the API's own field names.
 */
const RAW_BUILTIN_PLURALS: Readonly<Record<string, string>> = {
  'networking.k8s.io/NetworkPolicy': 'networkpolicies',
};

async function customTarget(obj: KubernetesObject): Promise<CustomTarget | undefined> {
  const [group, version] = (obj.apiVersion ?? '').split('/');
  if (group === undefined || version === undefined || obj.kind === undefined) return undefined;
  customPlurals ??= readCrds().then(
    (crds) => new Map(crds.map((crd) => [`${crd.spec.group}/${crd.spec.names.kind}`, crd.spec.names.plural])),
  );
  const plural =
    (await customPlurals).get(`${group}/${obj.kind}`) ?? RAW_BUILTIN_PLURALS[`${group}/${obj.kind}`];
  if (plural === undefined) return undefined;
  return { group, version, plural, namespace: obj.metadata?.namespace, name: obj.metadata?.name ?? '' };
}

export async function createObject<T extends KubernetesObject>(kc: KubeConfig, obj: T): Promise<T> {
  const target = await customTarget(obj);
  if (target === undefined) return KubernetesObjectApi.makeApiClient(kc).create(obj);
  const api = kc.makeApiClient(CustomObjectsApi);
  const { group, version, plural, namespace } = target;
  return (
    namespace === undefined
      ? api.createClusterCustomObject({ group, version, plural, body: obj })
      : api.createNamespacedCustomObject({ group, version, plural, namespace, body: obj })
  ) as Promise<T>;
}

/**
 * A pod maker for one namespace and node: `name` with label app=<name>, one container, `spec` and
 * `metadata` merged over that (the raw-list and protobuf tests build the same pods this way).
 */
export function podCreator(kc: KubeConfig, namespace: string, nodeName: string) {
  return (name: string, spec: Record<string, unknown>, metadata: Record<string, unknown> = {}) =>
    createObject(kc, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace, labels: { app: name }, ...metadata },
      spec: { nodeName, containers: [{ name: 'app', image: 'registry.invalid/app:0' }], ...spec },
    } as KubernetesObject);
}

const applyPatch = setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply);

/** Server-side apply (as `kubectl apply --server-side --force-conflicts`): creates or updates. */
export async function applyObject<T extends KubernetesObject>(kc: KubeConfig, obj: T): Promise<T> {
  const target = await customTarget(obj);
  if (target === undefined) {
    return KubernetesObjectApi.makeApiClient(kc).patch(
      obj,
      undefined,
      undefined,
      FIELD_MANAGER,
      true,
      PatchStrategy.ServerSideApply,
    );
  }
  const api = kc.makeApiClient(CustomObjectsApi);
  const { group, version, plural, namespace, name } = target;
  const common = { group, version, plural, name, body: obj, fieldManager: FIELD_MANAGER, force: true };
  return (
    namespace === undefined
      ? api.patchClusterCustomObject(common, applyPatch)
      : api.patchNamespacedCustomObject({ ...common, namespace }, applyPatch)
  ) as Promise<T>;
}

export async function readObject<T extends KubernetesObject>(
  kc: KubeConfig,
  ref: { apiVersion: string; kind: string; name: string; namespace?: string },
): Promise<T> {
  const header = {
    apiVersion: ref.apiVersion,
    kind: ref.kind,
    metadata: { name: ref.name, ...(ref.namespace === undefined ? {} : { namespace: ref.namespace }) },
  };
  const target = await customTarget(header);
  if (target === undefined) return KubernetesObjectApi.makeApiClient(kc).read(header) as Promise<T>;
  const api = kc.makeApiClient(CustomObjectsApi);
  const { group, version, plural, namespace, name } = target;
  return (
    namespace === undefined
      ? api.getClusterCustomObject({ group, version, plural, name })
      : api.getNamespacedCustomObject({ group, version, plural, namespace, name })
  ) as Promise<T>;
}

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

export interface NodeSpecInput {
  readonly labels?: Record<string, string>;
  readonly annotations?: Record<string, string>;
  readonly podCIDRs?: readonly string[];
  /** Set as status.addresses[InternalIP] through the status subresource. */
  readonly internalIPs?: readonly string[];
}

/** Creates a Node object (no kubelet registers one here). */
export async function createNode(kc: KubeConfig, name: string, input: NodeSpecInput = {}): Promise<V1Node> {
  const core = kc.makeApiClient(CoreV1Api);
  const podCIDRs = input.podCIDRs ?? [];
  const node = await core.createNode({
    body: {
      metadata: { name, labels: input.labels ?? {}, annotations: input.annotations ?? {} },
      spec: podCIDRs.length > 0 ? { podCIDR: podCIDRs[0], podCIDRs: [...podCIDRs] } : {},
    },
  });
  if (!input.internalIPs?.length) return node;
  const addresses = input.internalIPs.map((address) => ({ type: 'InternalIP', address }));
  return core.patchNodeStatus({ name, body: { status: { addresses } } }, mergePatch);
}

export interface PodInput {
  readonly name: string;
  readonly labels?: Record<string, string>;
  readonly serviceAccountName?: string;
  readonly nodeName?: string;
}

/** Creates a Pod with one placeholder container; it stays Pending until setPodStatus. */
export async function createPod(kc: KubeConfig, namespace: string, input: PodInput): Promise<V1Pod> {
  return kc.makeApiClient(CoreV1Api).createNamespacedPod({
    namespace,
    body: {
      metadata: { name: input.name, labels: input.labels ?? {} },
      spec: {
        ...(input.serviceAccountName === undefined ? {} : { serviceAccountName: input.serviceAccountName }),
        ...(input.nodeName === undefined ? {} : { nodeName: input.nodeName }),
        containers: [{ name: 'app', image: 'registry.invalid/placeholder:0' }],
      },
    },
  });
}

export interface PodStatusInput {
  readonly podIPs: readonly string[];
  readonly phase?: 'Pending' | 'Running' | 'Succeeded' | 'Failed';
  readonly hostIP?: string;
}

/** What a kubelet would report: phase, podIP/podIPs (and hostIP), via the status subresource. */
export async function setPodStatus(
  kc: KubeConfig,
  namespace: string,
  name: string,
  input: PodStatusInput,
): Promise<V1Pod> {
  const status = {
    phase: input.phase ?? 'Running',
    podIP: input.podIPs[0] ?? null,
    podIPs: input.podIPs.map((ip) => ({ ip })),
    ...(input.hostIP === undefined ? {} : { hostIP: input.hostIP, hostIPs: [{ ip: input.hostIP }] }),
  };
  return kc
    .makeApiClient(CoreV1Api)
    .patchNamespacedPodStatus({ namespace, name, body: { status } }, mergePatch);
}

/**
 * Runs `attempt` until it does not fail with 409 Conflict, at most `maxAttempts` times; each
 * attempt should re-read the object. Returns the result and how many attempts it took.
 */
export async function retryOnConflict<T>(
  attempt: () => Promise<T>,
  maxAttempts = 5,
): Promise<{ readonly value: T; readonly attempts: number }> {
  for (let attempts = 1; ; attempts++) {
    try {
      return { value: await attempt(), attempts };
    } catch (err) {
      if (apiErrorCode(err) !== 409 || attempts >= maxAttempts) throw err;
    }
  }
}

export interface WaitOptions {
  readonly timeoutMs?: number;
  readonly intervalMs?: number;
}

/**
 * Polls `probe` until it returns a value other than undefined and returns that value. Errors
 * thrown by the probe count as "not yet"; the last one is in the timeout message.
 */
export async function waitFor<T>(
  description: string,
  probe: () => Promise<T | undefined> | T | undefined,
  options: WaitOptions = {},
): Promise<T> {
  // Generous: it only bounds a wait that has already failed, on a possibly loaded machine.
  const timeoutMs = options.timeoutMs ?? 30_000;
  const intervalMs = options.intervalMs ?? 50;
  const deadline = Date.now() + timeoutMs;
  let lastError = '';
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err instanceof Error ? err.message : String(err);
    }
    if (Date.now() >= deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${description}${lastError ? ` (${lastError})` : ''}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
