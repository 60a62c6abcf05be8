// A datastore started before anyone consumes it: alp-node lists the cluster (the longest step of
// its start) while it still reads its own settings (WireGuard's keys, FelixConfiguration), which
// decide whether and how the calculation runs. Until start() names the consumer, what the inner
// datastore delivers waits in order; start() replays it and passes the rest straight through, and
// resolves when the inner datastore is in sync, so the consumer sees exactly what a datastore
// started by itself would have delivered, `in-sync` included, in the same order.
import type { Datastore, DatastoreCallbacks } from './object-tracker.js';

type Delivery = (callbacks: DatastoreCallbacks) => void;

export class PrefetchedDatastore implements Datastore {
  private readonly waiting: Delivery[] = [];
  private consumer: DatastoreCallbacks | null = null;
  private readonly inSync: Promise<void>;
  private closing: Promise<void> | null = null;

  /** Starts `inner` at once. */
  constructor(private readonly inner: Datastore) {
    this.inSync = inner.start({
      onEvent: (event) => this.deliver((c) => c.onEvent(event)),
      onRejected: (ref, reason) => this.deliver((c) => c.onRejected(ref, reason)),
      onWarning: (ref, message) => this.deliver((c) => c.onWarning(ref, message)),
    });
    // Reported to the consumer by start(); a prefetch nobody consumes must not crash the process.
    this.inSync.catch(() => undefined);
  }

  /** Hands over what arrived so far, then everything after; resolves once in sync. Once only. */
  async start(callbacks: DatastoreCallbacks): Promise<void> {
    if (this.consumer !== null) throw new Error('a prefetched datastore has one consumer');
    this.consumer = callbacks;
    for (const delivery of this.waiting.splice(0)) delivery(callbacks);
    await this.inSync;
  }

  close(): Promise<void> {
    this.closing ??= this.inner.close();
    return this.closing;
  }

  private deliver(delivery: Delivery): void {
    if (this.consumer === null) this.waiting.push(delivery);
    else delivery(this.consumer);
  }
}
