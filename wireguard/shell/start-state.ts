// What the start-up bootstrap (spec §2.6) reads before any watch starts: the FelixConfigurations
// that apply to this node, and our Node (for its labels and published keys). Read directly from
// the API server with Felix's bootstrap back-off: 5 attempts from 200 ms, doubling, at most 2 s.
import {
  ApiException,
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  type V1Node,
} from '@kubernetes/client-node';
import {
  felixConfigurationFromObject,
  selectFelixConfigurations,
  type FelixConfigSelection,
  type FelixConfigurationResource,
} from '../../calico/felix-configuration.js';
import { labelsFromObject } from '../../calico/labels.js';
import { backoffDelayMs } from '../../daemon/backoff.js';
import { makeApiClient } from '../../daemon/kube-api.js';
import type { Logger } from '../../daemon/log.js';

export interface StartState {
  readonly selection: FelixConfigSelection;
  /** null when our Node does not exist (yet). */
  readonly node: V1Node | null;
}

const ATTEMPTS = 5;
const RETRY = { initialMs: 200, maxMs: 2_000, factor: 2, jitter: 0.2 };

/** The start state, or null (logged) when the API server cannot be read or `isClosed()` turns true. */
export async function readStartState(
  kubeConfig: KubeConfig,
  nodeName: string,
  log: Logger,
  isClosed: () => boolean,
  signal?: AbortSignal,
): Promise<StartState | null> {
  // The signal aborts requests in flight when the controller closes, so shutdown never waits for
  // an API server that does not answer.
  const options = signal === undefined ? {} : { signal };
  const core = makeApiClient(kubeConfig, CoreV1Api, options);
  const custom = makeApiClient(kubeConfig, CustomObjectsApi, options);
  for (let attempt = 0; !isClosed(); attempt++) {
    try {
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
      const items: unknown[] = Array.isArray(list?.items) ? (list.items as unknown[]) : [];
      const resources = items
        .map(felixConfigurationFromObject)
        .filter((r): r is FelixConfigurationResource => r !== null);
      const labels = node === null ? null : labelsFromObject(node.metadata?.labels);
      return { selection: selectFelixConfigurations(resources, nodeName, labels), node };
    } catch (err) {
      if (attempt + 1 >= ATTEMPTS) {
        log.warn({ err: describe(err) }, 'bootstrap: cannot read the API server; skipped');
        return null;
      }
      await new Promise((r) => setTimeout(r, backoffDelayMs(attempt, RETRY, Math.random)));
    }
  }
  return null;
}

async function orNullIfMissing<T>(request: Promise<T>): Promise<T | null> {
  try {
    return await request;
  } catch (err) {
    if (err instanceof ApiException && err.code === 404) return null;
    throw err;
  }
}

function describe(err: unknown): string {
  if (err instanceof ApiException) return `HTTP ${err.code}`;
  return err instanceof Error ? err.message : String(err);
}
