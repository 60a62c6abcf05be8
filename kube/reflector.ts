// Lists and watches one kind of Kubernetes object, keeping a store of what it saw and reporting
// each change, the way client-go's reflector does. client-node's informer does not fit a node
// agent run on every node: its lists are unpaginated and always read from etcd, its watch has no
// deadline (a server that stops answering leaves it waiting for ever), and an exception thrown by
// an event handler is swallowed, losing that update until some later relist. Here:
// - lists are paginated, and the first list is served from the API server's watch cache;
// - every failure is retried with capped, jittered back-off, so that nodes which lost the API
//   server together do not come back in lockstep;
// - a watch asks the server to end it after a few minutes; one that outlives that is stalled and
//   is dropped and restarted;
// - a handler that throws is logged and counted, and the resource is relisted so that the update
//   it lost is delivered again.
import { Watch, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { Counter, type Registry } from 'prom-client';
import { backoffDelayMs, type BackoffOptions } from '../daemon/backoff.js';
import {
  API_REQUEST_TIMEOUT_MS,
  apiErrorCode,
  describeApiError,
  isAbortError,
  pooledAgent,
} from './api-client.js';
import { firstListRequest, listAllPages, type ListPage } from './list-pages.js';
import type { Logger } from '../daemon/log.js';

export interface ReflectorTuning {
  readonly pageSize: number;
  readonly retry: BackoffOptions;
  /** The server ends each watch after a random time between this and twice this. */
  readonly watchTimeoutSeconds: number;
  /** A watch still open this long after its server-side timeout is stalled. */
  readonly stallGraceMs: number;
  /** Deadline for a watch's response headers. */
  readonly connectTimeoutMs: number;
}

export const DEFAULT_TUNING: ReflectorTuning = {
  pageSize: 500,
  retry: { initialMs: 500, maxMs: 30_000, factor: 2, jitter: 0.5 },
  watchTimeoutSeconds: 120,
  stallGraceMs: 30_000,
  connectTimeoutMs: API_REQUEST_TIMEOUT_MS,
};

export interface ReflectorMetrics {
  readonly handlerErrors: Counter<'resource'>;
}

/** The reflectors' metrics on `registry` (shared by every reflector that uses the registry). */
export function reflectorMetrics(registry: Registry): ReflectorMetrics {
  const name = 'alp_node_watch_handler_errors_total';
  const existing = registry.getSingleMetric(name);
  const handlerErrors =
    existing instanceof Counter
      ? (existing as Counter<'resource'>)
      : new Counter({
          name,
          help: 'Exceptions thrown while applying a watched object; each one makes that resource relist.',
          labelNames: ['resource'] as const,
          registers: [registry],
        });
  return { handlerErrors };
}

export interface ReflectorOptions {
  readonly kubeConfig: KubeConfig;
  /** Names the resource in logs and metrics, e.g. "pods". */
  readonly resource: string;
  /** The collection's path, e.g. /api/v1/pods, for watching. */
  readonly path: string;
  readonly listPage: ListPage;
  readonly log: Logger;
  readonly metrics: ReflectorMetrics;
  readonly onUpsert: (object: KubernetesObject) => void;
  readonly onDelete: (object: KubernetesObject) => void;
  /**
   * What the store keeps of each object, for get(), list() and the deletions a relist finds
   * (default: all of it). A consumer that keeps its own model can keep only the identity, so the
   * API server's full objects (thousands of pods) are not held twice.
   */
  readonly retain?: (object: KubernetesObject) => KubernetesObject;
  /** After a relist that followed a failure: changes may have been missed meanwhile. */
  readonly onRecovered?: () => void;
  /** A kind the server does not serve (404: a CRD not installed) counts as empty; retried slowly. */
  readonly isOptional?: boolean;
  /** start() rejects on the first list failure instead of retrying (for one-shot readers). */
  readonly isFailFast?: boolean;
  readonly tuning?: Partial<ReflectorTuning>;
}

/** The store key of an object: namespace/name. */
export function objectKey(object: KubernetesObject): string {
  return `${object.metadata?.namespace ?? ''}/${object.metadata?.name ?? ''}`;
}

class Gone extends Error {}
class HandlerFailed extends Error {}

export class Reflector {
  private readonly store = new Map<string, KubernetesObject>();
  private readonly tuning: ReflectorTuning;
  private readonly watch: Watch;
  private lastSeen: string | null = null;
  private mustList = true;
  private isSynced = false;
  private isClosed = false;
  private hadFailure = false;
  private stopWatch: (() => void) | null = null;
  private wake: (() => void) | null = null;
  private loop: Promise<void> | null = null;
  private readonly synced: Promise<void>;
  private settleSynced!: (err?: unknown) => void;

  constructor(private readonly opts: ReflectorOptions) {
    this.tuning = { ...DEFAULT_TUNING, ...opts.tuning };
    this.watch = watchWithConnectDeadline(opts.kubeConfig, this.tuning.connectTimeoutMs);
    this.synced = new Promise<void>((resolve, reject) => {
      this.settleSynced = (err?: unknown) => (err === undefined ? resolve() : reject(err));
    });
    // A caller that never awaits start() must not see an unhandled rejection at close().
    this.synced.catch(() => undefined);
  }

  /** Starts listing and watching; resolves after the first complete list. */
  start(): Promise<void> {
    this.loop ??= this.run();
    return this.synced;
  }

  get(name: string, namespace = ''): KubernetesObject | undefined {
    return this.store.get(`${namespace}/${name}`);
  }

  list(): KubernetesObject[] {
    return [...this.store.values()];
  }

  async close(): Promise<void> {
    this.isClosed = true;
    this.settleSynced(new Error(`stopped before ${this.opts.resource} were listed`));
    this.stopWatch?.();
    this.wake?.();
    await this.loop;
  }

  private async run(): Promise<void> {
    const log = this.opts.log;
    let failures = 0;
    while (!this.isClosed) {
      try {
        if (this.mustList) {
          await this.relist();
          failures = 0;
        }
        if (this.isClosed) break;
        await this.watchOnce();
        failures = 0; // the watch ran until the server ended it (or a relist was asked for)
      } catch (err) {
        if (this.isClosed) break;
        if (err instanceof Gone) {
          // Our resourceVersion is older than the server keeps: relist now, not older than it.
          log.info({ resource: this.opts.resource }, 'watch resource version expired; relisting');
          this.mustList = true;
          continue;
        }
        this.hadFailure = true;
        const code = apiErrorCode(err);
        if (this.mustList && (code === 410 || code === 504)) this.lastSeen = '';
        if (this.mustList && code === 404 && this.opts.isOptional === true) {
          if (!this.isSynced)
            log.info({ resource: this.opts.resource }, 'resource kind not installed; watching for it');
          this.replaceAll([]);
          this.markSynced();
        } else if (!this.isSynced && this.opts.isFailFast === true) {
          this.settleSynced(err);
          return;
        }
        const delay = backoffDelayMs(failures++, this.tuning.retry, Math.random);
        // A missing optional kind was reported once above; a handler failure where it happened.
        if (!(code === 404 && this.opts.isOptional === true) && !(err instanceof HandlerFailed)) {
          log.warn(
            { resource: this.opts.resource, err: describeApiError(err), retryInMs: delay },
            this.mustList ? 'could not list resource; retrying' : 'watch failed; restarting',
          );
        }
        await this.sleep(delay);
      }
    }
  }

  private async relist(): Promise<void> {
    const first = firstListRequest(this.lastSeen, this.tuning.pageSize);
    // Into an empty store (a start), each object is applied as soon as its page hands it out: a
    // large list (5,000 pods) takes a few hundred ms to arrive, and applying it meanwhile overlaps
    // the two wherever the API server does not share our cores (BENCHMARKS.md, session 11). Such a
    // list can delete nothing; replaceAll then skips what was applied early.
    // A list that fails half-way leaves those objects stored, and the next (full) relist deletes
    // any that are gone.
    const early = this.store.size === 0 ? new Set<KubernetesObject>() : null;
    const onItem =
      early === null
        ? undefined
        : (object: KubernetesObject): void => {
            if (this.isClosed || !this.deliver('upsert', object)) return;
            this.store.set(objectKey(object), this.retained(object));
            early.add(object);
          };
    const { items, resourceVersion, pages } = await listAllPages(
      this.opts.listPage,
      first,
      undefined,
      onItem,
    );
    if (this.isClosed) return;
    this.opts.log.debug(
      {
        resource: this.opts.resource,
        items: items.length,
        pages,
        resourceVersion,
        from: first.resourceVersion ?? '',
      },
      'listed resource',
    );
    this.lastSeen = resourceVersion;
    this.mustList = false;
    const failed = this.replaceAll(items, early);
    this.markSynced();
    if (this.hadFailure && !failed) {
      this.hadFailure = false;
      this.opts.onRecovered?.();
    }
    if (failed) {
      // Relisting at once would likely fail the same way: back off first.
      this.mustList = true;
      throw new HandlerFailed(`applying ${this.opts.resource} failed`);
    }
  }

  /**
   * Delivers a full list: every listed object (but those in `applied`, delivered as the list
   * arrived), then deletions; true if a handler threw.
   */
  private replaceAll(
    items: readonly KubernetesObject[],
    applied: ReadonlySet<KubernetesObject> | null = null,
  ): boolean {
    let failed = false;
    const listed = new Set<string>();
    for (const object of items) {
      const key = objectKey(object);
      listed.add(key);
      if (applied?.has(object) === true) continue;
      // Delivered even when unchanged: after a handler failure the consumer may lack it.
      if (this.deliver('upsert', object)) this.store.set(key, this.retained(object));
      else failed = true;
    }
    for (const [key, object] of [...this.store]) {
      if (listed.has(key)) continue;
      if (this.deliver('delete', object)) this.store.delete(key);
      else failed = true;
    }
    return failed;
  }

  private retained(object: KubernetesObject): KubernetesObject {
    return this.opts.retain === undefined ? object : this.opts.retain(object);
  }

  /** Calls a handler; a throw is logged, counted and answered with a relist. */
  private deliver(type: 'upsert' | 'delete', object: KubernetesObject): boolean {
    try {
      if (type === 'upsert') this.opts.onUpsert(object);
      else this.opts.onDelete(object);
      return true;
    } catch (err) {
      this.opts.metrics.handlerErrors.inc({ resource: this.opts.resource });
      this.opts.log.error(
        {
          resource: this.opts.resource,
          object: objectKey(object),
          err: err instanceof Error ? err.message : String(err),
        },
        'applying a watched object failed; relisting the resource',
      );
      this.mustList = true;
      return false;
    }
  }

  /** One watch from lastSeen; resolves when the server ends it, rejects on failure or a stall. */
  private watchOnce(): Promise<void> {
    const timeoutSeconds = Math.floor(this.tuning.watchTimeoutSeconds * (1 + Math.random()));
    const startedAt = Date.now();
    let hasEvents = false;
    return new Promise<void>((resolve, reject) => {
      let controller: AbortController | null = null;
      let isSettled = false;
      const finish = (err: unknown): void => {
        if (isSettled) return;
        isSettled = true;
        clearTimeout(stallTimer);
        this.stopWatch = null;
        controller?.abort();
        if (err === null || this.isClosed || this.mustList) resolve();
        else reject(err);
      };
      const stallTimer = setTimeout(
        () => finish(new Error(`watch still open ${timeoutSeconds} s after it should have ended; stalled`)),
        timeoutSeconds * 1000 + this.tuning.stallGraceMs,
      );
      this.stopWatch = () => finish(null);
      const onEvent = (type: string, object: unknown): void => {
        if (isSettled) return;
        hasEvents = true;
        const failure = this.applyWatchEvent(type, object);
        if (failure !== null || this.mustList) finish(failure);
      };
      const onDone = (err: unknown): void => {
        if (err == null && !hasEvents && Date.now() - startedAt < 1_000) {
          finish(new Error('the server ended the watch at once'));
        } else finish(err ?? null);
      };
      this.watch
        .watch(
          this.opts.path,
          { resourceVersion: this.lastSeen ?? '', allowWatchBookmarks: true, timeoutSeconds },
          onEvent,
          onDone,
        )
        .then(
          (c) => {
            controller = c;
            if (isSettled) c.abort();
          },
          (err: unknown) => finish(err),
        );
    }).catch((err: unknown) => {
      if (isAbortError(err) && this.isClosed) return;
      throw err;
    });
  }

  /** Applies one watch event; returns an error that ends the watch, or null. */
  private applyWatchEvent(type: string, raw: unknown): Error | null {
    const object = raw as KubernetesObject;
    switch (type) {
      case 'ADDED':
      case 'MODIFIED':
        if (this.deliver('upsert', object)) this.store.set(objectKey(object), this.retained(object));
        break;
      case 'DELETED':
        if (this.deliver('delete', object)) this.store.delete(objectKey(object));
        break;
      case 'BOOKMARK':
        break;
      case 'ERROR': {
        const status = raw as { code?: unknown; message?: unknown };
        if (status.code === 410) return new Gone(String(status.message ?? 'resource version too old'));
        const error = new Error(`watch error: ${String(status.message ?? 'unknown')}`) as Error & {
          statusCode?: unknown;
        };
        error.statusCode = status.code;
        return error;
      }
      default:
        return new Error(`unknown watch event type ${type}`);
    }
    const version = object.metadata?.resourceVersion;
    if (typeof version === 'string' && version !== '') this.lastSeen = version;
    return null;
  }

  private markSynced(): void {
    if (this.isSynced) return;
    this.isSynced = true;
    this.settleSynced();
  }

  /** Resolves after `ms`, or at once on close(). */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.wake?.(), ms);
      this.wake = () => {
        clearTimeout(timer);
        this.wake = null;
        resolve();
      };
    });
  }
}

/**
 * client-node's Watch with a deadline on the response headers. Watch (1.4) builds a timeout signal
 * and then replaces it with its own, so the deadline goes in through node-fetch's `timeout`
 * option, which Watch takes from applyToFetchOptions; it ends once the headers arrive, and the
 * stall timer above covers the stream. Its connection comes from the shared keep-alive agent, as
 * every other request's.
 */
function watchWithConnectDeadline(kc: KubeConfig, timeoutMs: number): Watch {
  const config = {
    getCurrentCluster: () => kc.getCurrentCluster(),
    applyToFetchOptions: async (opts: object) => {
      const fetchOptions = await kc.applyToFetchOptions(opts);
      return { ...fetchOptions, agent: pooledAgent(kc, fetchOptions.agent), timeout: timeoutMs };
    },
  };
  return new Watch(config as unknown as KubeConfig);
}
