// Opens the datastore the settings name, and reads the FelixConfiguration specs the
// policy-sync settings depend on (Kubernetes datastore only).
import type { KubeConfig } from '@kubernetes/client-node';
import { CustomObjectsApi } from '@kubernetes/client-node';
import type { Registry } from 'prom-client';
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

export interface FelixConfigurationSpecs {
  readonly defaultSpec: unknown;
  readonly nodeSpec: unknown;
}

/** FelixConfiguration `default` and `node.<nodeName>` (crd.projectcalico.org/v1); null when absent. */
export async function readFelixConfigurationSpecs(
  kc: KubeConfig,
  nodeName: string,
): Promise<FelixConfigurationSpecs> {
  const api = makeApiClient(kc, CustomObjectsApi);
  const get = async (name: string): Promise<unknown> => {
    try {
      const obj: unknown = await api.getClusterCustomObject({
        group: 'crd.projectcalico.org',
        version: 'v1',
        plural: 'felixconfigurations',
        name,
      });
      return typeof obj === 'object' && obj !== null
        ? ((obj as Record<string, unknown>)['spec'] ?? null)
        : null;
    } catch (err) {
      if (apiErrorCode(err) === 404) return null;
      throw err;
    }
  };
  return { defaultSpec: await get('default'), nodeSpec: await get(`node.${nodeName}`) };
}
