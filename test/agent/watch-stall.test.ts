// A watch the API server stops serving: a stand-in API server on loopback answers lists, but
// holds its watches without a byte (no headers at first, then headers and silence), as a hung
// server or a dead connection behind a proxy would. The reflector must give up on each and watch
// again, rather than wait for ever; and a list answered later must still arrive.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CoreV1Api, KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { makeApiClient } from '../../kube/api-client.js';
import { Reflector, reflectorMetrics } from '../../kube/reflector.js';
import { waitFor } from '../harness/process.js';

interface StandIn {
  readonly server: Server;
  readonly watches: URL[];
  readonly held: ServerResponse[];
}

/** Lists one Node; the first watch never gets headers, every later one gets headers only. */
function startStandIn(): Promise<StandIn> {
  const watches: URL[] = [];
  const held: ServerResponse[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://stand-in');
    held.push(res);
    if (url.searchParams.get('watch') !== 'true') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          apiVersion: 'v1',
          kind: 'NodeList',
          metadata: { resourceVersion: '7' },
          items: [{ apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1', resourceVersion: '7' } }],
        }),
      );
      return;
    }
    watches.push(url);
    if (watches.length > 1) res.writeHead(200, { 'content-type': 'application/json' }).flushHeaders();
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, watches, held })));
}

function kubeConfigFor(server: Server): KubeConfig {
  const kc = new KubeConfig();
  const { port } = server.address() as AddressInfo;
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
    users: [{ name: 'u', token: 't' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  return kc;
}

describe('a watch that the API server stops serving', () => {
  let standIn: StandIn | undefined;
  let reflector: Reflector | undefined;

  afterEach(async () => {
    await reflector?.close();
    for (const res of standIn?.held ?? []) res.destroy();
    await new Promise((r) => standIn?.server.close(r));
  });

  it('is dropped and started again: without headers after the deadline, silent past its timeout', async () => {
    standIn = await startStandIn();
    const kc = kubeConfigFor(standIn.server);
    const upserts: KubernetesObject[] = [];
    const core = makeApiClient(kc, CoreV1Api);
    reflector = new Reflector({
      kubeConfig: kc,
      resource: 'nodes',
      path: '/api/v1/nodes',
      listPage: (request) => core.listNode(request),
      log: pino({ level: 'silent' }),
      metrics: reflectorMetrics(new Registry()),
      onUpsert: (o) => upserts.push(o),
      onDelete: () => undefined,
      tuning: {
        connectTimeoutMs: 300,
        watchTimeoutSeconds: 1,
        stallGraceMs: 300,
        retry: { initialMs: 50, maxMs: 100, factor: 2, jitter: 0.2 },
      },
    });
    await reflector.start();
    expect(upserts.map((o) => o.metadata?.name)).toEqual(['n1']);
    await waitFor('a third watch', () => (standIn as StandIn).watches.length >= 3, 20_000);
    const [first] = standIn.watches;
    // Each watch continues from the list and asks the server to end it within its timeout.
    expect(first?.searchParams.get('resourceVersion')).toBe('7');
    expect(Number(first?.searchParams.get('timeoutSeconds'))).toBeGreaterThanOrEqual(1);
    expect(first?.searchParams.get('allowWatchBookmarks')).toBe('true');
  });
});
