// The outbound side of one PolicySync stream. Unlike Felix, whose per-endpoint channel of 100
// blocks the whole processor when a client stops reading (spec dikastes.md §2.4), each stream
// here is independent and bounded: it holds at most one batch of messages (the diff from what
// the client has to the current view) and writes only while the transport accepts more. Changes
// that arrive meanwhile only mark the stream dirty; they coalesce into the next diff. A client
// that falls far behind gets whole IP sets again instead of long delta chains (stream-diff.ts).
import type { ClusterView, EndpointView } from './calc/endpoint-view.js';
import type { SentState } from './calc/stream-diff.js';
import { diffStream, NOTHING_SENT } from './calc/stream-diff.js';
import type { ToDataplane } from './calc/to-dataplane.js';

/** The transport: a grpc-js server stream satisfies this. */
export interface StreamSink {
  /** False when the transport's buffer is full; 'drain' follows once it has room. */
  write(msg: ToDataplane): boolean;
  end(): void;
  once(event: 'drain', listener: () => void): unknown;
}

export interface StreamSource {
  endpointView(workloadId: string): EndpointView | null;
  clusterView(): ClusterView;
}

export interface StreamQueueOptions {
  readonly workloadId: string;
  readonly sink: StreamSink;
  readonly source: StreamSource;
  /** Called once when the queue ends the stream (endpoint removed) or is closed. */
  readonly onEnded?: (why: 'endpoint-removed' | 'closed') => void;
  /** Called after each write, for metrics. */
  readonly onMessage?: (msg: ToDataplane) => void;
  /** Called when the first InSync of this stream has been written. */
  readonly onInSync?: () => void;
  /** Runs a pump later; defaults to setImmediate, so a burst of changes costs one diff. */
  readonly schedule?: (run: () => void) => void;
}

export class StreamQueue {
  private sent: SentState = NOTHING_SENT;
  private batch: ToDataplane[] = [];
  private next = 0;
  private endAfterBatch = false;
  private dirty = true;
  private waitingForDrain = false;
  private scheduled = false;
  private ended = false;
  private readonly endWaiters: (() => void)[] = [];

  constructor(private readonly opts: StreamQueueOptions) {}

  get workloadId(): string {
    return this.opts.workloadId;
  }

  get isEnded(): boolean {
    return this.ended;
  }

  /** Messages computed but not yet accepted by the transport. */
  get backlog(): number {
    return this.batch.length - this.next;
  }

  /** True while the client is not reading fast enough. */
  get isStalled(): boolean {
    return this.waitingForDrain;
  }

  /** Starts the stream: the first pump sends the full snapshot. */
  start(): void {
    this.markDirty();
  }

  /** Something this stream shows may have changed. */
  markDirty(): void {
    this.dirty = true;
    this.schedulePump();
  }

  private schedulePump(): void {
    if (this.scheduled || this.ended) return;
    this.scheduled = true;
    (this.opts.schedule ?? setImmediate)(() => {
      this.scheduled = false;
      this.pump();
    });
  }

  /** Ends the stream without a goodbye (the socket is going away, or a newer stream replaced it). */
  close(): void {
    if (this.ended) return;
    this.ended = true;
    this.opts.sink.end();
    this.opts.onEnded?.('closed');
    this.notifyEnded();
  }

  /**
   * Lets the stream send what is pending (e.g. the WorkloadEndpointRemove of a deleted pod) before
   * it is closed; gives up after `timeoutMs` if the client is not reading.
   */
  async flushThenClose(timeoutMs: number): Promise<void> {
    if (!this.ended) {
      this.markDirty();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        this.endWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    this.close();
  }

  private notifyEnded(): void {
    for (const w of this.endWaiters.splice(0)) w();
  }

  /** The client went away; stop without writing. */
  abandon(): void {
    this.ended = true;
    this.notifyEnded();
  }

  private pump(): void {
    while (!this.ended && !this.waitingForDrain) {
      if (this.next >= this.batch.length) {
        if (this.endAfterBatch) return this.finish();
        if (!this.dirty) return;
        this.dirty = false;
        const d = diffStream(
          this.opts.workloadId,
          this.sent,
          this.opts.source.endpointView(this.opts.workloadId),
          this.opts.source.clusterView(),
        );
        this.sent = d.sent;
        this.batch = d.messages;
        this.next = 0;
        this.endAfterBatch = d.endStream;
        continue;
      }
      const msg = this.batch[this.next++] as ToDataplane;
      const hasRoom = this.opts.sink.write(msg);
      this.opts.onMessage?.(msg);
      if (msg.in_sync !== undefined) this.opts.onInSync?.();
      if (!hasRoom) {
        this.waitingForDrain = true;
        this.opts.sink.once('drain', () => {
          this.waitingForDrain = false;
          this.schedulePump();
        });
      }
    }
  }

  private finish(): void {
    this.ended = true;
    this.opts.sink.end();
    this.opts.onEnded?.('endpoint-removed');
    this.notifyEnded();
  }
}
