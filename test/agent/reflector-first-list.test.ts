// A reflector's first list applies each object as its page hands it out (the pod list is read as
// it arrives), not after the whole list: here a list page hands out its objects and then waits,
// and they must already be applied. A list that fails half-way leaves what it applied; the next,
// full list then deletes what is gone and applies nothing twice. Watches go to a stand-in API
// server on loopback that answers them with headers and then silence.
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig, type KubernetesListObject, type KubernetesObject } from '@kubernetes/client-node';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import type { ListPage } from '../../kube/list-pages.js';
import { Reflector, reflectorMetrics } from '../../kube/reflector.js';
import { waitFor } from '../harness/process.js';

function pod(name: string): KubernetesObject {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'ns', resourceVersion: '5' } };
}

function page(items: KubernetesObject[]): KubernetesListObject<KubernetesObject> {
  return { apiVersion: 'v1', kind: 'PodList', metadata: { resourceVersion: '5' }, items };
}

describe('a reflector’s first list', () => {
  let server: Server | undefined;
  let reflector: Reflector | undefined;
  const held: ServerResponse[] = [];

  afterEach(async () => {
    await reflector?.close();
    for (const res of held.splice(0)) res.destroy();
    await new Promise((r) => server?.close(r));
  });

  async function start(listPage: ListPage) {
    server = createServer((_req, res) => {
      held.push(res);
      res.writeHead(200, { 'content-type': 'application/json' }).flushHeaders();
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'c', server: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }],
      users: [{ name: 'u', token: 't' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
    const applied: string[] = [];
    reflector = new Reflector({
      kubeConfig: kc,
      resource: 'pods',
      path: '/api/v1/pods',
      listPage,
      log: pino({ level: 'silent' }),
      metrics: reflectorMetrics(new Registry()),
      onUpsert: (o) => applied.push(`upsert ${o.metadata?.name}`),
      onDelete: (o) => applied.push(`delete ${o.metadata?.name}`),
      tuning: { retry: { initialMs: 20, maxMs: 50, factor: 2, jitter: 0 } },
    });
    return { applied, started: reflector.start() };
  }

  it('applies each object as its page hands it out, and each once', async () => {
    let finish: () => void = () => undefined;
    const listed = new Promise<void>((r) => (finish = r));
    const items = [pod('a'), pod('b')];
    const { applied, started } = await start(async (_request, onItem) => {
      for (const item of items) onItem?.(item);
      await listed;
      return page(items);
    });
    await waitFor('both pods applied before the list ends', () => applied.length === 2, 5_000);
    expect(applied).toEqual(['upsert a', 'upsert b']);
    finish();
    await started;
    expect(applied).toEqual(['upsert a', 'upsert b']);
    expect(reflector!.list().map((o) => o.metadata?.name)).toEqual(['a', 'b']);
  });

  it('after a list that failed half-way, the next one deletes what is gone', async () => {
    let lists = 0;
    const { applied, started } = await start(async (_request, onItem) => {
      lists++;
      if (lists === 1) {
        onItem?.(pod('a'));
        onItem?.(pod('gone'));
        throw new Error('connection reset');
      }
      // The store is no longer empty: this list is applied as a whole, not item by item.
      expect(onItem).toBeUndefined();
      return page([pod('a'), pod('b')]);
    });
    await started;
    expect(lists).toBe(2);
    expect(applied).toEqual(['upsert a', 'upsert gone', 'upsert a', 'upsert b', 'delete gone']);
    expect(reflector!.list().map((o) => o.metadata?.name)).toEqual(['a', 'b']);
  });
});
