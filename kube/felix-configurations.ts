// What decides a node's Felix settings: every FelixConfiguration (crd.projectcalico.org/v1) and
// our Node, whose labels pick the selector-scoped one. Read once (the WireGuard bootstrap), or
// watched (alp-node: its start-up settings come from the watch's first list, and later changes
// are applied live): both select with the same code.
import {
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  type V1Node,
} from '@kubernetes/client-node';
import { createHash } from 'node:crypto';
import type { Registry } from 'prom-client';
import type { Logger } from '../daemon/log.js';
import { Reflector, reflectorMetrics, type ReflectorTuning } from './reflector.js';
import {
  felixConfigurationFromObject,
  selectFelixConfigurations,
  type FelixConfigSelection,
  type FelixConfigurationResource,
} from '../calico/felix-configuration.js';
import { labelsFromObject } from '../calico/labels.js';
import { apiErrorCode, describeApiError, makeApiClient, type ApiClientOptions } from './api-client.js';

export interface FelixConfigurationRead {
  /** The FelixConfigurations that apply to the node, in Felix's order. */
  readonly selection: FelixConfigSelection;
  /** null when our Node does not exist (yet): then no selector matches. */
  readonly node: V1Node | null;
}

export async function readFelixConfigurations(
  kc: KubeConfig,
  nodeName: string,
  options: ApiClientOptions = {},
): Promise<FelixConfigurationRead> {
  const custom = makeApiClient(kc, CustomObjectsApi, options);
  const core = makeApiClient(kc, CoreV1Api, options);
  const [list, node] = await Promise.all([
    // A cluster without the CRD has no FelixConfigurations.
    orNullIfMissing(
      custom.listClusterCustomObject({
        group: 'crd.projectcalico.org',
        version: 'v1',
        plural: 'felixconfigurations',
      }) as Promise<{ items?: unknown }>,
    ),
    orNullIfMissing(core.readNode({ name: nodeName })),
  ]);
  const items = Array.isArray(list?.items) ? (list.items as unknown[]) : [];
  return selectionOf(items, nodeName, node);
}

function selectionOf(
  items: readonly unknown[],
  nodeName: string,
  node: V1Node | null,
): FelixConfigurationRead {
  const resources = items
    .map(felixConfigurationFromObject)
    .filter((r): r is FelixConfigurationResource => r !== null);
  const labels = node === null ? null : labelsFromObject(node.metadata?.labels);
  return { selection: selectFelixConfigurations(resources, nodeName, labels), node };
}

export interface FelixConfigurationWatch {
  /** Lists both (retrying until it can) and starts watching; resolves with the first read. */
  start(): Promise<FelixConfigurationRead>;
  /** The latest read (an empty selection before start resolves). */
  current(): FelixConfigurationRead;
  /**
   * Calls `listener` after start with each read whose selection differs from the last one
   * reported (a change of a spec that applies to us, a layer appearing or going, our Node's labels
   * moving us into or out of a selector); returns the unsubscribe function.
   */
  onChange(listener: (read: FelixConfigurationRead) => void): () => void;
  /**
   * Posts a Warning Event (reason InvalidFelixConfiguration) about FelixConfiguration `name`, for
   * its current revision; one per revision and reason, however many nodes refuse it.
   */
  reportInvalid(name: string, reason: string): Promise<void>;
  close(): Promise<void>;
}

export interface FelixConfigurationWatchOptions {
  readonly log: Logger;
  readonly registry: Registry;
  readonly tuning?: Partial<ReflectorTuning>;
}

const CALICO_GROUP = 'crd.projectcalico.org';

/**
 * Watches the FelixConfigurations and our own Node (only ours: a field selector, not every Node
 * of the cluster), and reports the selection whenever it changes. A burst of events (a relist)
 * is reported once.
 */
export function watchFelixConfigurations(
  kc: KubeConfig,
  nodeName: string,
  opts: FelixConfigurationWatchOptions,
): FelixConfigurationWatch {
  const closing = new AbortController();
  const custom = makeApiClient(kc, CustomObjectsApi, { signal: closing.signal });
  const core = makeApiClient(kc, CoreV1Api, { signal: closing.signal });
  const metrics = reflectorMetrics(opts.registry);
  const listeners = new Set<(read: FelixConfigurationRead) => void>();
  let read: FelixConfigurationRead = { selection: { layers: [], problems: [] }, node: null };
  let reported = JSON.stringify(read.selection);
  let isStarted = false;
  let isScheduled = false;

  const compute = (): FelixConfigurationRead => {
    const node = (nodes.get(nodeName) as V1Node | undefined) ?? null;
    return selectionOf(configs.list(), nodeName, node);
  };
  const report = (): void => {
    isScheduled = false;
    if (!isStarted) return;
    read = compute();
    const key = JSON.stringify(read.selection);
    if (key === reported) return;
    reported = key;
    for (const l of listeners) {
      try {
        l(read);
      } catch (err) {
        opts.log.error(
          { err: err instanceof Error ? err.message : String(err) },
          'applying a FelixConfiguration change failed',
        );
      }
    }
  };
  const changed = (): void => {
    if (isScheduled) return;
    isScheduled = true;
    setImmediate(report);
  };
  const common = {
    kubeConfig: kc,
    log: opts.log,
    metrics,
    onUpsert: changed,
    onDelete: changed,
    onRecovered: changed,
    ...(opts.tuning === undefined ? {} : { tuning: opts.tuning }),
  };
  const configs = new Reflector({
    ...common,
    resource: 'felixconfigurations',
    path: `/apis/${CALICO_GROUP}/v1/felixconfigurations`,
    // A cluster without the CRD has no FelixConfigurations (and may get them later).
    isOptional: true,
    listPage: (request) =>
      custom.listClusterCustomObject({
        group: CALICO_GROUP,
        version: 'v1',
        plural: 'felixconfigurations',
        ...request,
      }) as Promise<KubernetesListObject<KubernetesObject>>,
  });
  const fieldSelector = `metadata.name=${nodeName}`;
  const nodes = new Reflector({
    ...common,
    resource: 'node',
    path: `/api/v1/nodes?fieldSelector=${encodeURIComponent(fieldSelector)}`,
    // The labels read here have the same names in client-node's models as on the wire.
    listPage: (request) => core.listNode({ ...request, fieldSelector }),
  });
  return {
    async start() {
      await Promise.all([configs.start(), nodes.start()]);
      read = compute();
      reported = JSON.stringify(read.selection);
      isStarted = true;
      return read;
    },
    current: () => read,
    onChange(listener) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    async reportInvalid(name, reason) {
      const meta = configs.get(name)?.metadata;
      const uid = meta?.uid ?? '';
      const resourceVersion = meta?.resourceVersion ?? '';
      const hash = createHash('sha256')
        .update(`FelixConfiguration\n${name}\n${uid}\n${resourceVersion}\n${reason}`)
        .digest('hex')
        .slice(0, 20);
      const now = new Date();
      try {
        // A cluster-scoped object's Events live in `default`, as kubectl looks for them.
        await core.createNamespacedEvent({
          namespace: 'default',
          body: {
            metadata: { name: `${name.slice(0, 200).replace(/[.-]+$/, '')}.${hash}`, namespace: 'default' },
            involvedObject: {
              apiVersion: `${CALICO_GROUP}/v1`,
              kind: 'FelixConfiguration',
              name,
              ...(uid === '' ? {} : { uid }),
              ...(resourceVersion === '' ? {} : { resourceVersion }),
            },
            reason: 'InvalidFelixConfiguration',
            message:
              `alp-node on ${nodeName} refused FelixConfiguration ${name}, keeping its last good settings: ${reason}`.slice(
                0,
                1024,
              ),
            type: 'Warning',
            source: { component: 'alp-node', host: nodeName },
            firstTimestamp: now,
            lastTimestamp: now,
            count: 1,
          },
        });
      } catch (err) {
        if (apiErrorCode(err) === 409) return; // another node reported this revision already
        opts.log.warn({ resource: name, err: describeApiError(err) }, 'cannot post Kubernetes Event');
      }
    },
    async close() {
      isStarted = false;
      listeners.clear();
      closing.abort();
      await Promise.all([configs.close(), nodes.close()]);
    },
  };
}

async function orNullIfMissing<T>(request: Promise<T>): Promise<T | null> {
  try {
    return await request;
  } catch (err) {
    if (apiErrorCode(err) === 404) return null;
    throw err;
  }
}
