// The Kubernetes datastore's watches against a real kube-apiserver (envtest): lists that take
// several pages, one InvalidPolicy Event however many nodes refuse the policy, and an update
// that an exception in the handler would have lost.
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { pino } from 'pino';
import { Counter, Registry } from 'prom-client';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ResourceEvent } from '../../agent/calc/cluster-model.js';
import { KubernetesDatastore } from '../../agent/datastore/kubernetes.js';
import type { DatastoreCallbacks } from '../../agent/datastore/object-tracker.js';
import type { Logger } from '../../daemon/log.js';
import { describeWithApiServer } from '../harness/envtest/api-server-gate.js';
import { applyObject, createNamespace, createObject, deleteNamespace, uniqueName } from '../harness/kube.js';
import { waitFor } from '../harness/process.js';

/** A debug logger that keeps its records, to see what the datastore did. */
function recordingLogger(): { log: Logger; records: Record<string, unknown>[] } {
  const records: Record<string, unknown>[] = [];
  const log = pino({ level: 'debug' }, { write: (line: string) => void records.push(JSON.parse(line)) });
  return { log, records };
}

function collect(): { callbacks: DatastoreCallbacks; events: ResourceEvent[]; refused: string[] } {
  const events: ResourceEvent[] = [];
  const refused: string[] = [];
  return {
    events,
    refused,
    callbacks: {
      onEvent: (e) => events.push(e),
      onRejected: (ref) => refused.push(`${ref.namespace}/${ref.name}`),
      onWarning: () => undefined,
    },
  };
}

const serviceAccountNames = (events: readonly ResourceEvent[], namespace: string): string[] =>
  events.flatMap((e) =>
    e.type === 'upsert' &&
    e.resource.kind === 'ServiceAccount' &&
    e.resource.serviceAccount.namespace === namespace
      ? [e.resource.serviceAccount.name]
      : [],
  );

describeWithApiServer('the Kubernetes datastore’s watches', (api) => {
  let kc: KubeConfig;
  let ns: string;
  const datastores: KubernetesDatastore[] = [];
  const open = (opts: Omit<ConstructorParameters<typeof KubernetesDatastore>[0], 'kubeConfig'>) => {
    const d = new KubernetesDatastore({ kubeConfig: kc, ...opts });
    datastores.push(d);
    return d;
  };

  beforeAll(async () => {
    kc = api.kubeConfig();
    ns = await createNamespace(kc, 'alp-watch');
  });

  afterAll(async () => {
    await Promise.all(datastores.map((d) => d.close()));
    if (kc !== undefined) await deleteNamespace(kc, ns);
  });

  it('lists in pages: every object of every page arrives, first from the watch cache, then on a relist', async () => {
    const names = Array.from({ length: 12 }, (_, i) => `sa-${i}`);
    for (const name of names)
      await createObject(kc, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace: ns } });
    const { log, records } = recordingLogger();
    const { callbacks, events } = collect();
    const trigger = uniqueName('trigger');
    let hasThrown = false;
    const datastore = open({
      log,
      nodeName: uniqueName('node'),
      reportEvents: false,
      watchTuning: { pageSize: 5 },
    });
    await datastore.start({
      ...callbacks,
      onEvent: (e) => {
        // One failure, to make the datastore relist service accounts.
        if (
          !hasThrown &&
          e.type === 'upsert' &&
          e.resource.kind === 'ServiceAccount' &&
          e.resource.serviceAccount.name === trigger
        ) {
          hasThrown = true;
          throw new Error('handler failed on purpose');
        }
        callbacks.onEvent(e);
      },
    });
    const inSync = events.findIndex((e) => e.type === 'in-sync');
    expect(serviceAccountNames(events.slice(0, inSync), ns).sort()).toEqual([...names].sort());
    const lists = () =>
      records.filter((r) => r['msg'] === 'listed resource' && r['resource'] === 'serviceaccounts');
    // The first list asks the watch cache (resourceVersion 0), which may answer in one page.
    expect(lists()[0]?.['from']).toBe('0');
    await createObject(kc, {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: trigger, namespace: ns },
    });
    await waitFor('the relist', () => lists().length >= 2);
    const relist = lists()[1] as Record<string, unknown>;
    expect(relist['from']).not.toBe('0');
    expect(relist['pages']).toBeGreaterThanOrEqual(3);
    expect(relist['items']).toBeGreaterThanOrEqual(names.length + 1);
    await waitFor('the service account whose handler failed', () =>
      serviceAccountNames(events, ns).includes(trigger),
    );
  });

  it('two nodes that refuse the same policy revision post one Event between them', async () => {
    const nodes = [uniqueName('node-a'), uniqueName('node-b')];
    const seen = nodes.map(() => collect());
    const both = nodes.map((nodeName) => open({ log: pino({ level: 'silent' }), nodeName }));
    await Promise.all(both.map((d, i) => d.start((seen[i] as ReturnType<typeof collect>).callbacks)));
    const name = uniqueName('bad');
    // Both 'exact' and 'prefix' in one path match: the CRD schema accepts it, Calico's validator
    // (and so every node) refuses it.
    await applyObject(kc, {
      apiVersion: 'crd.projectcalico.org/v1',
      kind: 'NetworkPolicy',
      metadata: { name, namespace: ns },
      spec: {
        selector: 'all()',
        ingress: [{ action: 'Allow', http: { paths: [{ exact: '/a', prefix: '/b' }] } }],
      },
    });
    await waitFor('both nodes to refuse the policy', () =>
      seen.every((s) => s.refused.includes(`${ns}/${name}`)),
    );
    await Promise.all(both.map((d) => d.eventsPosted()));
    const list = await kc.makeApiClient(CoreV1Api).listNamespacedEvent({ namespace: ns });
    const posted = list.items.filter((e) => e.reason === 'InvalidPolicy' && e.involvedObject.name === name);
    expect(posted).toHaveLength(1);
    expect(nodes).toContain(posted[0]?.source?.host);
  });

  it('an exception in the handler is counted, and the update arrives after the resync', async () => {
    const registry = new Registry();
    const { callbacks, events } = collect();
    const name = uniqueName('flaky');
    let hasThrown = false;
    const throwingOnce: DatastoreCallbacks = {
      ...callbacks,
      onEvent: (e) => {
        if (
          !hasThrown &&
          e.type === 'upsert' &&
          e.resource.kind === 'ServiceAccount' &&
          e.resource.serviceAccount.name === name
        ) {
          hasThrown = true;
          throw new Error('handler failed on purpose');
        }
        callbacks.onEvent(e);
      },
    };
    const datastore = open({
      log: pino({ level: 'silent' }),
      nodeName: uniqueName('node'),
      registry,
      reportEvents: false,
    });
    await datastore.start(throwingOnce);
    await createObject(kc, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace: ns } });
    await waitFor('the service account after the resync', () =>
      serviceAccountNames(events, ns).includes(name),
    );
    expect(hasThrown).toBe(true);
    const counter = registry.getSingleMetric('alp_node_watch_handler_errors_total');
    expect(counter).toBeInstanceOf(Counter);
    const values = (await (counter as Counter).get()).values;
    expect(values).toEqual([expect.objectContaining({ labels: { resource: 'serviceaccounts' }, value: 1 })]);
  });
});
