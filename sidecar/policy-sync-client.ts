// Streams policy from Felix's PolicySync API (or alp-node) into the sidecar's policy store.
// Unlike Dikastes, every (re)connection fills a fresh pending store that replaces the live one
// atomically at InSync, so objects deleted while we were disconnected disappear; until then the
// last-known policy keeps being enforced. Reconnects use capped exponential back-off with jitter.
import * as grpc from '@grpc/grpc-js';
import { loadFelix } from '../proto/load.js';
import type { ToDataplane__Output } from '../proto/gen/felix/ToDataplane.js';
import type { PolicySyncClient as PolicySyncGrpcClient } from '../proto/gen/felix/PolicySync.js';
import { backoffDelayMs, DEFAULT_BACKOFF, type BackoffOptions } from '../daemon/backoff.js';
import type { Logger } from '../daemon/log.js';
import { unixTarget } from '../daemon/unix-socket.js';
import { PolicyStore } from '../policy/policy-store.js';
import { decodeSyncMessage } from './policy-sync-wire.js';

/**
 * felix.PolicySync's client with Sync's responses read by policy-sync-wire.ts where it can (the
 * IP-set, policy and profile updates: nearly all of a snapshot) and by proto-loader otherwise.
 */
function policySyncClientConstructor(): grpc.ServiceClientConstructor {
  const { service } = loadFelix().felix.PolicySync;
  const sync = service.Sync;
  const protoLoaderDecode = sync.responseDeserialize;
  return grpc.makeGenericClientConstructor(
    {
      ...service,
      Sync: {
        ...sync,
        responseDeserialize: (buf: Buffer) =>
          decodeSyncMessage(buf, protoLoaderDecode) ?? protoLoaderDecode(buf),
      },
    },
    'PolicySync',
  );
}
let clientConstructor: grpc.ServiceClientConstructor | null = null;

export interface PolicySyncClientOptions {
  /** Path of the PolicySync Unix socket. */
  readonly dial: string;
  readonly maxMessageBytes: number;
  readonly log: Logger;
  readonly backoff?: BackoffOptions;
  readonly random?: () => number;
  /** Called on every change of in-sync state and on each reconnect, for metrics. */
  readonly onInSyncChange?: (inSync: boolean) => void;
  readonly onReconnect?: () => void;
  readonly onRejected?: (count: number) => void;
}

export class PolicySyncClient {
  private live: PolicyStore | null = null;
  private pending: PolicyStore | null = null;
  private inSync = false;
  private attempt = 0;
  private closed = false;
  private grpcClient: PolicySyncGrpcClient | null = null;
  private call: grpc.ClientReadableStream<ToDataplane__Output> | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private readonly log: Logger;

  constructor(private readonly opts: PolicySyncClientOptions) {
    this.log = opts.log;
  }

  /** The store Checks read: null until the first InSync ever. */
  get liveStore(): PolicyStore | null {
    return this.live;
  }

  /** Connected, and the current stream has sent InSync. */
  get isInSync(): boolean {
    return this.inSync;
  }

  /** Readiness: in sync and an endpoint is known, i.e. Checks can actually be decided. */
  get isReady(): boolean {
    return this.inSync && this.live !== null && this.live.hasEndpoint;
  }

  start(): void {
    this.connect();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.call?.cancel();
    this.grpcClient?.close();
    this.setInSync(false);
  }

  private connect(): void {
    if (this.closed) return;
    clientConstructor ??= policySyncClientConstructor();
    const client = new clientConstructor(unixTarget(this.opts.dial), grpc.credentials.createInsecure(), {
      'grpc.max_receive_message_length': this.opts.maxMessageBytes,
    }) as unknown as PolicySyncGrpcClient;
    const store = new PolicyStore();
    const call = client.Sync({});
    this.grpcClient = client;
    this.pending = store;
    this.call = call;
    this.log.info({ dial: this.opts.dial, attempt: this.attempt }, 'connecting to policy sync');

    call.on('data', (msg: ToDataplane__Output) => this.handle(store, msg));
    call.on('error', (err: grpc.ServiceError) => {
      if (!this.closed) this.log.warn({ code: err.code, details: err.details }, 'policy sync stream failed');
    });
    call.on('status', (status: grpc.StatusObject) => {
      if (this.call !== call) return;
      this.call = null;
      client.close();
      if (this.closed) return;
      if (status.code === grpc.status.OK) this.log.info('policy sync stream ended by the server');
      this.setInSync(false);
      this.scheduleReconnect();
    });
  }

  private handle(store: PolicyStore, msg: ToDataplane__Output): void {
    if (msg.payload === 'in_sync') {
      if (this.live !== store) {
        const replaced = this.live !== null;
        this.live = store; // atomic swap: Checks read `live` by reference
        this.log.info({ ...store.stats(), replaced }, 'policy sync in sync; store swapped in');
      }
      this.attempt = 0;
      this.setInSync(true);
      return;
    }
    const result = store.apply(msg);
    if (!result.ok) {
      this.log.warn({ payload: msg.payload, reason: result.reason }, 'policy sync message skipped');
      this.opts.onRejected?.(1);
      return;
    }
    if (result.warnings.length > 0) {
      for (const w of result.warnings.slice(0, 10))
        this.log.warn({ payload: msg.payload, reason: w }, 'policy sync member skipped');
      this.opts.onRejected?.(result.warnings.length);
    }
  }

  private scheduleReconnect(): void {
    const delayMs = backoffDelayMs(
      this.attempt,
      this.opts.backoff ?? DEFAULT_BACKOFF,
      this.opts.random ?? Math.random,
    );
    this.attempt += 1;
    this.opts.onReconnect?.();
    this.log.info({ delayMs }, 'reconnecting to policy sync');
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.connect();
    }, delayMs);
  }

  private setInSync(value: boolean): void {
    if (this.inSync === value) return;
    this.inSync = value;
    this.opts.onInSyncChange?.(value);
  }
}
