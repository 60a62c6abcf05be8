// The three watches the mesh needs: Nodes, Calico IPAMBlocks and FelixConfigurations, each a
// reflector that lists in pages, watches with a deadline and retries with jittered back-off. A
// missing CRD is not fatal (a cluster without Calico IPAM simply has no blocks): it counts as an
// empty list while the reflector keeps retrying.
import {
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
} from '@kubernetes/client-node';
import type { Registry } from 'prom-client';
import { makeApiClient } from '../../kube/api-client.js';
import type { ListPage } from '../../kube/list-pages.js';
import { Reflector, reflectorMetrics, type ReflectorTuning } from '../../kube/reflector.js';
import type { Logger } from '../../daemon/log.js';

export type ResourceKind = 'nodes' | 'ipamblocks' | 'felixconfigurations';

export type InformerEvent = {
  readonly resource: ResourceKind;
  readonly type: 'upsert' | 'delete';
  readonly object: KubernetesObject;
};

const CALICO_GROUP = 'crd.projectcalico.org';

export class ResourceInformers {
  private readonly reflectors = new Map<ResourceKind, Reflector>();
  /** Ends requests in flight on close(), rather than waiting out their deadline. */
  private readonly closing = new AbortController();

  constructor(
    kubeConfig: KubeConfig,
    log: Logger,
    registry: Registry,
    onEvent: (event: InformerEvent) => void,
    /** Called after a watch recovered from an error (the world may have changed unseen). */
    onRecovered: (resource: ResourceKind) => void,
    tuning?: Partial<ReflectorTuning>,
  ) {
    const core = makeApiClient(kubeConfig, CoreV1Api, { signal: this.closing.signal });
    const custom = makeApiClient(kubeConfig, CustomObjectsApi, { signal: this.closing.signal });
    const metrics = reflectorMetrics(registry);
    const reflector = (resource: ResourceKind, path: string, listPage: ListPage): Reflector =>
      new Reflector({
        kubeConfig,
        resource,
        path,
        listPage,
        log,
        metrics,
        tuning,
        // Start-up waits for Nodes; a Calico CRD that is missing counts as empty meanwhile.
        isOptional: resource !== 'nodes',
        onUpsert: (object) => onEvent({ resource, type: 'upsert', object }),
        onDelete: (object) => onEvent({ resource, type: 'delete', object }),
        onRecovered: () => onRecovered(resource),
      });
    this.reflectors.set(
      'nodes',
      // The fields node-info reads have the same names in client-node's models as on the wire.
      reflector('nodes', '/api/v1/nodes', (request) => core.listNode(request)),
    );
    for (const plural of ['ipamblocks', 'felixconfigurations'] as const) {
      this.reflectors.set(
        plural,
        reflector(
          plural,
          `/apis/${CALICO_GROUP}/v1/${plural}`,
          (request) =>
            custom.listClusterCustomObject({
              group: CALICO_GROUP,
              version: 'v1',
              plural,
              ...request,
            }) as Promise<KubernetesListObject<KubernetesObject>>,
        ),
      );
    }
  }

  /**
   * Lists and starts watching everything; resolves once Nodes are listed and each Calico resource
   * is listed or known to be missing. Rejects if closed first.
   */
  async start(): Promise<void> {
    await Promise.all([...this.reflectors.values()].map((r) => r.start()));
  }

  list(resource: ResourceKind): readonly KubernetesObject[] {
    return this.reflectors.get(resource)?.list() ?? [];
  }

  get(resource: ResourceKind, name: string): KubernetesObject | undefined {
    return this.reflectors.get(resource)?.get(name);
  }

  async close(): Promise<void> {
    this.closing.abort();
    await Promise.all([...this.reflectors.values()].map((r) => r.close()));
  }
}
