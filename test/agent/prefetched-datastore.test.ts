// alp-node starts the calculation's datastore before it knows its consumer: whenever the consumer
// comes, it must see exactly what a datastore of its own would have shown (every object, in
// order, `in-sync` last and only once everything is in), and later changes as they happen.
import { rmSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import type { ResourceEvent } from '../../agent/calc/cluster-model.js';
import { resourceKey } from '../../agent/calc/cluster-model.js';
import { FileDatastore } from '../../agent/datastore/file.js';
import type { Datastore, DatastoreCallbacks } from '../../agent/datastore/object-tracker.js';
import { PrefetchedDatastore } from '../../agent/datastore/prefetched.js';
import { waitFor } from '../harness/process.js';
import { makeTempDir } from '../harness/temp-dirs.js';
import { testLogger } from './agent-fixture.js';
import { gnpObject, namespaceObject, podObject, ResourceDir } from './file-resources.js';

const NODE = 'node-prefetch';

function describeEvent(e: ResourceEvent): string {
  if (e.type === 'upsert') return `upsert ${e.resource.kind} ${resourceKey(e.resource)}`;
  if (e.type === 'delete') return `delete ${e.kind} ${e.key}`;
  return 'in-sync';
}

function collector(): { events: string[]; rejected: string[]; callbacks: DatastoreCallbacks } {
  const events: string[] = [];
  const rejected: string[] = [];
  return {
    events,
    rejected,
    callbacks: {
      onEvent: (e) => events.push(describeEvent(e)),
      onRejected: (ref) => rejected.push(`${ref.kind} ${ref.name}`),
      onWarning: () => undefined,
    },
  };
}

const dirs: string[] = [];
function clusterFiles(): ResourceDir {
  const files = new ResourceDir(makeTempDir('alp-prefetch'));
  dirs.push(files.path);
  files.write('00-cluster.yaml', [
    namespaceObject('demo'),
    ...[1, 2, 3].map((i) =>
      podObject({
        name: `web-${i}`,
        uid: `f0000000-0000-4000-8000-00000000000${i}`,
        ip: `192.0.2.${i}`,
        nodeName: NODE,
        labels: { app: 'web' },
      }),
    ),
  ]);
  files.write('10-policy.yaml', [
    gnpObject('web-ingress', { selector: "app == 'web'", ingress: [{ action: 'Allow' }] }),
    // Refused (an unknown action): reported to the consumer like any other delivery.
    gnpObject('broken', { selector: 'all()', ingress: [{ action: 'Sometimes' }] }),
  ]);
  return files;
}

const open: Datastore[] = [];
function fileDatastore(files: ResourceDir): FileDatastore {
  const d = new FileDatastore({
    paths: [files.path],
    log: testLogger(),
    pollIntervalMs: 100,
    debounceMs: 20,
  });
  open.push(d);
  return d;
}

afterEach(async () => {
  await Promise.all(open.splice(0).map((d) => d.close()));
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('PrefetchedDatastore', () => {
  it('gives a consumer that comes after the sync what a datastore of its own would have, then the changes', async () => {
    const files = clusterFiles();
    const own = collector();
    await fileDatastore(files).start(own.callbacks);
    expect(own.events.at(-1)).toBe('in-sync');
    expect(own.rejected).toEqual(['GlobalNetworkPolicy broken']);

    // Seen through the inner datastore's own start: everything is in before the consumer comes.
    const inner = fileDatastore(files);
    let innerInSync: Promise<void> = Promise.resolve();
    const prefetched = new PrefetchedDatastore({
      start: (callbacks) => (innerInSync = inner.start(callbacks)),
      close: () => inner.close(),
    });
    await innerInSync;
    const late = collector();
    await prefetched.start(late.callbacks);
    expect(late.events).toEqual(own.events);
    expect(late.rejected).toEqual(own.rejected);

    files.write('20-more.yaml', [
      podObject({
        name: 'late',
        uid: 'f0000000-0000-4000-8000-0000000000aa',
        ip: '192.0.2.9',
        nodeName: NODE,
      }),
    ]);
    await waitFor('the new pod reaches the consumer', () => late.events.includes('upsert Pod demo/late'));
  });

  it('does not let a consumer that comes first start before everything is in', async () => {
    const files = clusterFiles();
    const own = collector();
    await fileDatastore(files).start(own.callbacks);

    const prefetched = new PrefetchedDatastore(fileDatastore(files));
    const early = collector();
    await prefetched.start(early.callbacks);
    expect(early.events).toEqual(own.events);
  });

  it('has one consumer', async () => {
    const prefetched = new PrefetchedDatastore(fileDatastore(clusterFiles()));
    await prefetched.start(collector().callbacks);
    await expect(prefetched.start(collector().callbacks)).rejects.toThrow(/one consumer/);
  });
});
