// The kernel half of `alp-node explain` on the demo's resources: which node drops a connection,
// in which direction, and by which rule; egress is judged at the source's node.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ResourceEvent } from '../agent/calc/cluster-model.js';
import { FileDatastore } from '../agent/datastore/file.js';
import { collectResources, type ExplainRequest } from '../agent/explain.js';
import { silentLogger } from '../daemon/log.js';
import { explainKernel } from './explain-kernel.js';

const RESOURCES = join(fileURLToPath(new URL('.', import.meta.url)), '..', 'examples', 'demo', 'resources');

const request = (from: string, to: string, port: number): ExplainRequest => ({
  from: { kind: 'pod', pod: from },
  to,
  port,
  method: null,
  path: '/',
  protocol: 'TCP',
  trustDomain: 'cluster.local',
});

/** The same resources with one pod moved to another node. */
function withPodOn(events: readonly ResourceEvent[], pod: string, node: string): ResourceEvent[] {
  return events.map((e) =>
    e.type === 'upsert' &&
    e.resource.kind === 'Pod' &&
    `${e.resource.pod.namespace}/${e.resource.pod.name}` === pod
      ? { ...e, resource: { ...e.resource, pod: { ...e.resource.pod, nodeName: node } } }
      : e,
  );
}

let events: readonly ResourceEvent[];
beforeAll(async () => {
  events = (await collectResources(new FileDatastore({ paths: [RESOURCES], log: silentLogger() }))).events;
});

describe('explainKernel', () => {
  it('drops a connection no policy allows, at the destination’s ingress, naming the end of tier', () => {
    const out = explainKernel(events, request('yaobank/customer', 'yaobank/database', 2379));
    expect(out).toMatch(/^kernel: +DROP at L3\/L4/);
    expect(out).toContain('ingress of yaobank/database: deny');
    expect(out).toMatch(/decided by tier default, end-of-tier/);
  });

  it('allows what a policy allows and names the policy and rule', () => {
    const out = explainKernel(events, request('yaobank/summary', 'yaobank/database', 2379));
    expect(out).toMatch(/^kernel: +ALLOW/);
    expect(out).toMatch(/decided by tier default, gnp\/database rule 0: .*"#0 allow"/);
  });

  it('judges egress at the source’s node and ingress at the destination’s when they differ', () => {
    const moved = withPodOn(events, 'yaobank/customer', 'other-node');
    const out = explainKernel(moved, request('yaobank/customer', 'yaobank/database', 2379));
    expect(out).toMatch(/node other-node: ALLOW \(egress of yaobank\/customer: allow\)/);
    expect(out).toMatch(/node \S+: DROP \(ingress of yaobank\/database: deny\)/);
  });

  it('says why there is no verdict without a source address', () => {
    const anonymous: ExplainRequest = {
      ...request('x/y', 'yaobank/database', 2379),
      from: { kind: 'identity', serviceAccount: null, ip: null },
    };
    expect(explainKernel(events, anonymous)).toMatch(/no verdict without a source address/);
  });
});
