import { describe, expect, it } from 'vitest';
import type { ClusterView, EndpointView } from './calc/endpoint-view.js';
import type { ToDataplane } from './calc/to-dataplane.js';
import { payloadKind } from './calc/to-dataplane.js';
import type { StreamSink, StreamSource } from './stream-queue.js';
import { StreamQueue } from './stream-queue.js';

/** A transport with room for `capacity` messages until the test drains it. */
class SlowSink implements StreamSink {
  readonly written: ToDataplane[] = [];
  ended = false;
  private room: number;
  private onDrain: (() => void) | null = null;
  constructor(private readonly capacity: number) {
    this.room = capacity;
  }
  write(msg: ToDataplane): boolean {
    this.written.push(msg);
    this.room--;
    return this.room > 0;
  }
  end(): void {
    this.ended = true;
  }
  once(_event: 'drain', listener: () => void): unknown {
    this.onDrain = listener;
    return this;
  }
  drain(): void {
    this.room = this.capacity;
    const l = this.onDrain;
    this.onDrain = null;
    l?.();
  }
}

/** A source whose namespaces the test changes: each change is one NamespaceUpdate. */
class Source implements StreamSource {
  namespaces = new Map<string, ReadonlyMap<string, string>>();
  endpoint: EndpointView | null = null;
  endpointView(): EndpointView | null {
    return this.endpoint;
  }
  clusterView(): ClusterView {
    return { namespaces: this.namespaces, serviceAccounts: new Map(), inSync: true };
  }
  setNamespace(name: string, version: string): void {
    this.namespaces = new Map(this.namespaces).set(name, new Map([['v', version]]));
  }
}

function setup(capacity: number, source: Source) {
  const pending: (() => void)[] = [];
  const sink = new SlowSink(capacity);
  const queue = new StreamQueue({ workloadId: 'ns/p', sink, source, schedule: (f) => pending.push(f) });
  const flush = () => {
    while (pending.length > 0) pending.shift()?.();
  };
  return { sink, queue, flush };
}

describe('StreamQueue', () => {
  it('coalesces a burst of changes into one diff', () => {
    const source = new Source();
    const { sink, queue, flush } = setup(100, source);
    queue.start();
    flush();
    expect(sink.written.map(payloadKind)).toEqual(['in_sync']);
    for (let i = 0; i < 10; i++) {
      source.setNamespace('a', String(i));
      queue.markDirty();
    }
    flush();
    expect(sink.written.slice(1).map((m) => m.namespace_update?.labels)).toEqual([{ v: '9' }]);
  });

  it('stops writing when the client stops reading, and sends only the latest state after it catches up', () => {
    const source = new Source();
    for (const n of ['a', 'b', 'c']) source.setNamespace(n, '0');
    const { sink, queue, flush } = setup(2, source);
    queue.start();
    flush();
    expect(sink.written).toHaveLength(2); // transport full after two messages
    expect(queue.isStalled).toBe(true);
    expect(queue.backlog).toBe(2); // one more namespace and InSync still queued
    for (let i = 1; i <= 50; i++) {
      source.setNamespace('a', String(i));
      queue.markDirty();
    }
    flush();
    expect(sink.written).toHaveLength(2); // nothing more while stalled
    sink.drain();
    flush();
    sink.drain();
    flush();
    const updates = sink.written.map((m) =>
      m.namespace_update
        ? `${m.namespace_update.id?.name}=${m.namespace_update.labels?.['v']}`
        : payloadKind(m),
    );
    expect(updates).toEqual(['a=0', 'b=0', 'c=0', 'in_sync', 'a=50']);
  });

  it('ends the stream after WorkloadEndpointRemove when the endpoint goes', () => {
    const source = new Source();
    source.endpoint = {
      workloadId: 'ns/p',
      endpoint: {},
      endpointText: '{}',
      policies: [],
      profiles: new Map(),
      ipSets: new Map(),
    };
    const ended: string[] = [];
    const pending: (() => void)[] = [];
    const sink = new SlowSink(100);
    const queue = new StreamQueue({
      workloadId: 'ns/p',
      sink,
      source,
      schedule: (f) => pending.push(f),
      onEnded: (why) => ended.push(why),
    });
    queue.start();
    while (pending.length > 0) pending.shift()?.();
    source.endpoint = null;
    queue.markDirty();
    while (pending.length > 0) pending.shift()?.();
    expect(sink.written.map(payloadKind).slice(-1)).toEqual(['workload_endpoint_remove']);
    expect(sink.ended).toBe(true);
    expect(ended).toEqual(['endpoint-removed']);
  });
});
