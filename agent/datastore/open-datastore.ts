// Opens the datastore the settings name.
import type { KubeConfig } from '@kubernetes/client-node';
import type { Registry } from 'prom-client';
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
