// Opens the datastore the settings name, and reads the FelixConfigurations the policy-sync
// settings depend on (Kubernetes datastore only).
import type { KubeConfig } from '@kubernetes/client-node';
import { CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import type { Registry } from 'prom-client';
import {
  felixConfigurationFromObject,
  selectFelixConfigurations,
  type FelixConfigSelection,
  type FelixConfigurationResource,
} from '../../calico/felix-configuration.js';
import { labelsFromObject } from '../../calico/labels.js';
import { apiErrorCode, makeApiClient } from '../../daemon/kube-api.js';
import type { Logger } from '../../daemon/log.js';
import type { DatastoreSettings } from '../policy-sync-config.js';
import { FileDatastore } from './file.js';
import { KubernetesDatastore } from './kubernetes.js';
import type { Datastore } from './object-tracker.js';

export function openDatastore(
  settings: DatastoreSettings,
  deps: {
    readonly kubeConfig?: KubeConfig;
    readonly log: Logger;
    readonly nodeName: string;
    readonly registry?: Registry;
  },
): Datastore {
  if (settings.type === 'file') return new FileDatastore({ paths: settings.paths, log: deps.log });
  return new KubernetesDatastore({
    kubeConfig: deps.kubeConfig,
    log: deps.log,
    nodeName: deps.nodeName,
    ...(deps.registry === undefined ? {} : { registry: deps.registry }),
  });
}

/**
 * The FelixConfigurations (crd.projectcalico.org/v1) that apply to `nodeName`, in Felix's order:
 * all of them are listed, and our Node's labels pick the selector-scoped one.
 */
export async function readFelixConfigurations(
  kc: KubeConfig,
  nodeName: string,
): Promise<FelixConfigSelection> {
  const custom = makeApiClient(kc, CustomObjectsApi);
  const core = makeApiClient(kc, CoreV1Api);
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
  const resources = items
    .map(felixConfigurationFromObject)
    .filter((r): r is FelixConfigurationResource => r !== null);
  const labels = node === null ? null : labelsFromObject(node.metadata?.labels);
  return selectFelixConfigurations(resources, nodeName, labels);
}

async function orNullIfMissing<T>(request: Promise<T>): Promise<T | null> {
  try {
    return await request;
  } catch (err) {
    if (apiErrorCode(err) === 404) return null;
    throw err;
  }
}
