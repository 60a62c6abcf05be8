// The three watches the mesh needs: Nodes, Calico IPAMBlocks and FelixConfigurations, as
// @kubernetes/client-node informers that restart with back-off after any error. A missing CRD is
// not fatal (a cluster without Calico IPAM simply has no blocks): it counts as an empty list
// while the informer keeps retrying.
import {
  ApiException,
  CoreV1Api,
  CustomObjectsApi,
  makeInformer,
  type Informer,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  type ObjectCache,
} from '@kubernetes/client-node';
import { backoffDelayMs } from '../../daemon/backoff.js';
import type { Logger } from '../../daemon/log.js';

export type ResourceKind = 'nodes' | 'ipamblocks' | 'felixconfigurations';

export type InformerEvent = {
  readonly resource: ResourceKind;
  readonly type: 'upsert' | 'delete';
  readonly object: KubernetesObject;
};

const RETRY = { initialMs: 500, maxMs: 30_000, factor: 2, jitter: 0.2 };
const CALICO_GROUP = 'crd.projectcalico.org';

type Watched = Informer<KubernetesObject> & ObjectCache<KubernetesObject>;

export class ResourceInformers {
  private readonly informers = new Map<ResourceKind, Watched>();
  /** Pending back-off waits; close() ends them at once. */
  private readonly waits = new Map<NodeJS.Timeout, () => void>();
  private closed = false;

  constructor(
    kubeConfig: KubeConfig,
    private readonly log: Logger,
    private readonly onEvent: (event: InformerEvent) => void,
    /** Called after an informer recovered from an error (the world may have changed unseen). */
    private readonly onRecovered: (resource: ResourceKind) => void,
  ) {
    const core = kubeConfig.makeApiClient(CoreV1Api);
    const custom = kubeConfig.makeApiClient(CustomObjectsApi);
    const calico = (plural: string) => (): Promise<KubernetesListObject<KubernetesObject>> =>
      custom.listClusterCustomObject({ group: CALICO_GROUP, version: 'v1', plural }) as Promise<
        KubernetesListObject<KubernetesObject>
      >;
    this.informers.set(
      'nodes',
      makeInformer<KubernetesObject>(kubeConfig, '/api/v1/nodes', () => core.listNode()),
    );
    for (const plural of ['ipamblocks', 'felixconfigurations'] as const) {
      this.informers.set(
        plural,
        makeInformer(kubeConfig, `/apis/${CALICO_GROUP}/v1/${plural}`, calico(plural)),
      );
    }
    for (const [resource, informer] of this.informers) {
      informer.on('add', (object) => this.onEvent({ resource, type: 'upsert', object }));
      informer.on('update', (object) => this.onEvent({ resource, type: 'upsert', object }));
      informer.on('delete', (object) => this.onEvent({ resource, type: 'delete', object }));
    }
  }

  /**
   * Lists and starts watching everything; resolves once Nodes are listed and each Calico
   * resource is listed or known to be missing. Rejects only if Nodes cannot be listed at all
   * within the first attempts' back-off (then the caller has nothing to work with).
   */
  async start(): Promise<void> {
    await Promise.all([...this.informers.keys()].map((r) => this.run(r, 0)));
  }

  list(resource: ResourceKind): readonly KubernetesObject[] {
    return this.informers.get(resource)?.list() ?? [];
  }

  get(resource: ResourceKind, name: string): KubernetesObject | undefined {
    return this.informers.get(resource)?.get(name);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const [timer, wake] of this.waits) {
      clearTimeout(timer);
      wake();
    }
    this.waits.clear();
    await Promise.all([...this.informers.values()].map((i) => i.stop()));
  }

  /** One start attempt; on failure schedules the next and, for the first attempt, waits for a verdict. */
  private async run(resource: ResourceKind, attempt: number): Promise<void> {
    const informer = this.informers.get(resource) as Watched;
    let failure: unknown = null;
    const onError = (err: unknown): void => {
      failure = err;
    };
    informer.on('error', onError);
    await informer.start();
    informer.off('error', onError);
    if (failure === null) {
      this.log.debug({ resource }, 'watching');
      // Later watch failures stop the informer; restart it.
      informer.on('error', this.restarter(resource, informer));
      if (attempt > 0) this.onRecovered(resource);
      return;
    }
    const isMissing = failure instanceof ApiException && failure.code === 404;
    const delay = backoffDelayMs(attempt, RETRY, Math.random);
    const level = isMissing && resource !== 'nodes' ? 'info' : 'warn';
    this.log[level](
      { resource, err: describe(failure), retryInMs: Math.round(delay) },
      'could not list resource',
    );
    const next = this.sleep(delay).then(() => (this.closed ? undefined : this.run(resource, attempt + 1)));
    // Start-up waits for Nodes; a Calico CRD that is missing counts as empty meanwhile.
    if (resource === 'nodes' || !isMissing) await next;
  }

  private restarter(resource: ResourceKind, informer: Watched): (err: unknown) => void {
    const handler = (err: unknown): void => {
      informer.off('error', handler);
      if (this.closed) return;
      this.log.warn({ resource, err: describe(err) }, 'watch failed; restarting');
      void this.sleep(backoffDelayMs(0, RETRY, Math.random)).then(() =>
        this.closed ? undefined : this.run(resource, 1),
      );
    };
    return handler;
  }

  /** Resolves after `ms`, or at once when the informers are closed. */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waits.delete(timer);
        resolve();
      }, ms);
      this.waits.set(timer, resolve);
    });
  }
}

function describe(err: unknown): string {
  if (err instanceof ApiException) return `HTTP ${err.code}`;
  return err instanceof Error ? err.message : String(err);
}
