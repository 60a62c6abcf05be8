// Streams policy from Felix's PolicySync API (or alp-node) into the sidecar's policy store.
// Unlike Dikastes, every (re)connection fills a fresh pending store that replaces the live one
// atomically at InSync, so objects deleted while we were disconnected disappear; until then the
// last-known policy keeps being enforced. Reconnects use capped exponential back-off with jitter.
import { loadFelix } from '../proto/load.js';
import type { ToDataplane__Output } from '../proto/gen/felix/ToDataplane.js';
import { backoffDelayMs, DEFAULT_BACKOFF, type BackoffOptions } from '../daemon/backoff.js';
import type { Logger } from '../daemon/log.js';
import { PolicyStore } from '../policy/policy-store.js';
import { Status } from './grpc-frames.js';
import { startServerStreamingCall, type ServerStreamingCall } from './grpc-stream-client.js';
import { decodeSyncMessage } from './policy-sync-wire.js';

const SYNC_PATH = '/felix.PolicySync/Sync';

/**
 * Decodes one Sync response: policy-sync-wire.ts reads every payload the store uses from its
 * bytes; proto-loader only decodes what it leaves (a shape it would read differently), and is
 * loaded the first time that happens: parsing felixbackend.proto was ~60 ms of every start.
 */
function decodeSync(buf: Buffer): ToDataplane__Output {
  return decodeSyncMessage(buf, protoLoaderDecode) ?? protoLoaderDecode(buf);
}
function protoLoaderDecode(buf: Buffer): ToDataplane__Output {
  return loadFelix().felix.PolicySync.service.Sync.responseDeserialize(buf) as ToDataplane__Output;
}
/** An empty SyncRequest: no fields, no bytes. */
export const SYNC_REQUEST = Buffer.alloc(0);

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
  private call: ServerStreamingCall | null = null;
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
    this.call = null;
    this.setInSync(false);
  }

  private connect(): void {
    if (this.closed) return;
    const store = new PolicyStore();
    this.pending = store;
    this.log.info({ dial: this.opts.dial, attempt: this.attempt }, 'connecting to policy sync');
    const call: ServerStreamingCall = startServerStreamingCall({
      socketPath: this.opts.dial,
      path: SYNC_PATH,
      request: SYNC_REQUEST,
      maxReceiveBytes: this.opts.maxMessageBytes,
      decode: decodeSync,
      onMessage: (msg) => this.handle(store, msg),
      onStatus: (status) => {
        if (status.code !== Status.OK && !this.closed)
          this.log.warn({ code: status.code, details: status.details }, 'policy sync stream failed');
        if (this.call !== call) return;
        this.call = null;
        if (this.closed) return;
        if (status.code === Status.OK) this.log.info('policy sync stream ended by the server');
        this.setInSync(false);
        this.scheduleReconnect();
      },
    });
    this.call = call;
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
