// An in-memory datastore for the benchmark: objects are pushed in by the benchmark itself, so
// the timings start at the moment a change reaches alp-node, without file or API-server latency.
import type { Datastore, DatastoreCallbacks } from '../../../agent/datastore/object-tracker.js';
import { ObjectTracker } from '../../../agent/datastore/object-tracker.js';

export class MemoryDatastore implements Datastore {
  private tracker: ObjectTracker | null = null;

  constructor(private readonly initial: readonly unknown[]) {}

  async start(callbacks: DatastoreCallbacks): Promise<void> {
    this.tracker = new ObjectTracker(callbacks);
    for (const o of this.initial) this.tracker.upsert(o);
    callbacks.onEvent({ type: 'in-sync' });
  }

  /** Applies an added or modified object, as a watch event would. */
  apply(obj: unknown): void {
    this.tracker?.upsert(obj);
  }

  async close(): Promise<void> {
    this.tracker = null;
  }
}
