// Felix's PolicySync API, one gRPC server per pod socket. The socket a stream arrives on fixes
// which workload it is about (the client sends nothing that identifies itself). A newer stream
// for the same workload replaces the older one, as in Felix.
import { existsSync } from 'node:fs';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import type { Logger } from '../daemon/log.js';
import { removeStaleSocket, serveGrpcOnUnixSocket, type UnixSocketListener } from '../daemon/unix-socket.js';
import type { PolicySyncHandlers } from '../proto/gen/felix/PolicySync.js';
import type { SyncRequest__Output } from '../proto/gen/felix/SyncRequest.js';
import type { ToDataplane } from '../proto/gen/felix/ToDataplane.js';
import { loadFelix } from '../proto/load.js';
import type { CalcChanges } from './calc/calculator.js';
import { workloadId } from './calc/cluster-model.js';
import { payloadKind } from './calc/to-dataplane.js';
import type { AgentMetrics } from './metrics.js';
import type { PodIdentity } from './pod-sockets.js';
import {
  isSafeUid,
  mountDir,
  POD_SOCKET_MODE,
  prepareDriverlessMountDir,
  socketPath,
} from './pod-sockets.js';
import type { StreamSource } from './stream-queue.js';
import { StreamQueue } from './stream-queue.js';

export interface PolicySyncServerOptions {
  readonly prefix: string;
  readonly source: StreamSource;
  readonly log: Logger;
  readonly metrics: AgentMetrics;
  /** Driverless layout: create <prefix>/mount/<uid>/ and remove it when the pod goes. */
  readonly ownsMountDirs: boolean;
}

interface Listener {
  readonly identity: PodIdentity;
  readonly path: string;
  readonly server: grpc.Server;
  readonly socket: UnixSocketListener;
}

export class PolicySyncServer {
  private readonly listeners = new Map<string, Listener>();
  private readonly streams = new Map<string, StreamQueue>();
  private reconciling: Promise<void> = Promise.resolve();

  constructor(private readonly opts: PolicySyncServerOptions) {}

  /** Serves exactly these pods' sockets: opens new ones, closes ones that went away. */
  reconcile(identities: ReadonlyMap<string, PodIdentity>): Promise<void> {
    this.reconciling = this.reconciling
      .then(() => this.reconcileNow(identities))
      .catch((err: unknown) => this.opts.log.error({ err }, 'reconciling PolicySync sockets failed'));
    return this.reconciling;
  }

  /** Passes calculation changes to the streams they concern. */
  notify(changes: CalcChanges): void {
    if (changes.clusterView) {
      for (const q of this.streams.values()) q.markDirty();
      return;
    }
    for (const id of changes.endpoints) this.streams.get(id)?.markDirty();
  }

  /** Open streams by workload id, for tests and metrics. */
  streamFor(workload: string): StreamQueue | null {
    return this.streams.get(workload) ?? null;
  }

  /**
   * Driverless layout: removes socket directories an earlier run left for pods that are gone.
   * Queued behind pending reconciles, so it never races a socket being opened.
   */
  pruneOrphanDirs(): Promise<void> {
    if (!this.opts.ownsMountDirs) return Promise.resolve();
    this.reconciling = this.reconciling
      .then(async () => {
        const root = join(this.opts.prefix, 'mount');
        for (const name of await readdir(root).catch(() => [] as string[])) {
          if (this.listeners.has(name) || !isSafeUid(name)) continue;
          const entries = await readdir(join(root, name)).catch(() => null);
          // Only what we would have left there: nothing, or our socket.
          if (entries === null || entries.some((e) => e !== 'socket')) continue;
          await rm(join(root, name), { recursive: true, force: true });
          this.opts.log.info({ uid: name }, 'removed socket directory of a pod that is gone');
        }
      })
      .catch((err: unknown) => this.opts.log.warn({ err }, 'pruning old socket directories failed'));
    return this.reconciling;
  }

  stalledStreamCount(): number {
    let n = 0;
    for (const q of this.streams.values()) if (q.isStalled) n++;
    return n;
  }

  socketPaths(): string[] {
    return [...this.listeners.values()].map((l) => l.path);
  }

  async close(): Promise<void> {
    await this.reconcile(new Map());
    await this.reconciling;
  }

  private async reconcileNow(identities: ReadonlyMap<string, PodIdentity>): Promise<void> {
    for (const [uid, l] of [...this.listeners]) {
      const next = identities.get(uid);
      if (next !== undefined && sameIdentity(next, l.identity)) continue;
      await this.closeListener(uid, l);
    }
    for (const [uid, identity] of identities) {
      if (this.listeners.has(uid)) continue;
      try {
        await this.openListener(identity);
      } catch (err) {
        this.opts.log.error({ uid, workload: describe(identity), err }, 'cannot open PolicySync socket');
      }
    }
    this.opts.metrics.sockets.set(this.listeners.size);
  }

  private async openListener(identity: PodIdentity): Promise<void> {
    const dir = mountDir(this.opts.prefix, identity.uid);
    if (this.opts.ownsMountDirs) await prepareDriverlessMountDir(dir);
    else await mkdir(dir, { recursive: true });
    // The pod can write its directory in the CSI layout: never follow or chmod what is there.
    const path = socketPath(this.opts.prefix, identity.uid);
    removeStaleSocket(path);
    const server = new grpc.Server();
    const handlers: PolicySyncHandlers = {
      Sync: (call) => this.onSync(identity, call),
      // Felix answers false when it has no flow-log collector; neither have we.
      Report: (_call, callback) => callback(null, { successful: false }),
    };
    server.addService(loadFelix().felix.PolicySync.service, handlers);
    let socket: UnixSocketListener;
    try {
      socket = await serveGrpcOnUnixSocket(server, path, POD_SOCKET_MODE);
    } catch (err) {
      throw bindError(path, err instanceof Error ? err : new Error(String(err)));
    }
    this.listeners.set(identity.uid, { identity, path, server, socket });
    this.opts.log.info(
      { workload: describe(identity), uid: identity.uid, socket: path },
      'serving PolicySync socket',
    );
  }

  private async closeListener(uid: string, l: Listener): Promise<void> {
    this.listeners.delete(uid);
    const id = workloadId(l.identity.namespace, l.identity.workload);
    const stream = this.streams.get(id);
    // A deleted pod's client should still see WorkloadEndpointRemove, as Felix sends it.
    if (stream !== undefined && this.opts.source.endpointView(id) === null)
      await stream.flushThenClose(1_000);
    else stream?.close();
    l.socket.close(); // Node unlinks the socket file it bound
    // Ending a stream only queues its last messages and its OK status: a forced shutdown right
    // after cut them off, and the client saw CANCELLED where Felix ends with OK. Shut down
    // gracefully; force it only if the client does not let the connection go.
    await shutDown(l.server, 1_000);
    if (this.opts.ownsMountDirs) await rm(mountDir(this.opts.prefix, uid), { recursive: true, force: true });
    this.opts.log.info({ workload: describe(l.identity), uid }, 'closed PolicySync socket');
  }

  private onSync(
    identity: PodIdentity,
    call: grpc.ServerWritableStream<SyncRequest__Output, ToDataplane>,
  ): void {
    const id = workloadId(identity.namespace, identity.workload);
    const log = this.opts.log.child({ workload: id });
    const { metrics } = this.opts;
    this.streams.get(id)?.close();
    const queue: StreamQueue = new StreamQueue({
      workloadId: id,
      sink: call,
      source: this.opts.source,
      onMessage: (msg) => metrics.messages.inc({ payload: payloadKind(msg) }),
      onInSync: () => log.info('stream in sync'),
      onEnded: (why) => {
        log.info({ why }, 'stream ended');
        this.forget(id, queue);
      },
    });
    this.streams.set(id, queue);
    metrics.streams.set(this.streams.size);
    call.on('cancelled', () => {
      queue.abandon();
      this.forget(id, queue);
      log.info('client went away');
    });
    call.on('error', (err) => log.warn({ err }, 'stream error'));
    log.info('stream started');
    queue.start();
  }

  private forget(id: string, queue: StreamQueue): void {
    if (this.streams.get(id) === queue) this.streams.delete(id);
    this.opts.metrics.streams.set(this.streams.size);
  }
}

/**
 * grpc-js reports a socket whose directory is missing as "permission denied" (even to root); say
 * what is really wrong.
 */
function bindError(path: string, err: Error): Error {
  const dir = dirname(path);
  if (!existsSync(dir))
    return new Error(`cannot serve ${path}: socket directory ${dir} is missing`, { cause: err });
  return err;
}

function sameIdentity(a: PodIdentity, b: PodIdentity): boolean {
  return (
    a.uid === b.uid &&
    a.namespace === b.namespace &&
    a.workload === b.workload &&
    a.serviceAccount === b.serviceAccount
  );
}

function describe(id: PodIdentity): string {
  return `${id.namespace}/${id.workload}`;
}

/** tryShutdown, then forceShutdown if it has not finished within `graceMs`. */
function shutDown(server: grpc.Server, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, graceMs);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
