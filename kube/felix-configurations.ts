// One read of what decides a node's Felix settings: every FelixConfiguration
// (crd.projectcalico.org/v1) and our Node, whose labels pick the selector-scoped one. The agent
// reads it for PolicySync and the WireGuard bootstrap for its config; both take this one read.
import { CoreV1Api, CustomObjectsApi, type KubeConfig, type V1Node } from '@kubernetes/client-node';
import {
  felixConfigurationFromObject,
  selectFelixConfigurations,
  type FelixConfigSelection,
  type FelixConfigurationResource,
} from '../calico/felix-configuration.js';
import { labelsFromObject } from '../calico/labels.js';
import { apiErrorCode, makeApiClient, type ApiClientOptions } from './api-client.js';

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
  const resources = items
    .map(felixConfigurationFromObject)
    .filter((r): r is FelixConfigurationResource => r !== null);
  const labels = node === null ? null : labelsFromObject(node.metadata?.labels);
  return { selection: selectFelixConfigurations(resources, nodeName, labels), node };
}

async function orNullIfMissing<T>(request: Promise<T>): Promise<T | null> {
  try {
    return await request;
  } catch (err) {
    if (apiErrorCode(err) === 404) return null;
    throw err;
  }
}
