// The kernel half of `alp-node explain` on the demo's resources: which node drops a connection,
// in which direction, and by which rule; egress is judged at the source's node.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ResourceEvent } from '../agent/calc/cluster-model.js';
import { FileDatastore } from '../agent/datastore/file.js';
import { collectResources, type ExplainQuery } from '../agent/explain.js';
import { silentLogger } from '../daemon/log.js';
import { explainKernel } from './explain-kernel.js';

const RESOURCES = join(fileURLToPath(new URL('.', import.meta.url)), '..', 'examples', 'demo', 'resources');

const request = (from: string, to: string, port: number): ExplainQuery => ({
  from: { kind: 'pod', pod: from },
  to: { kind: 'pod', pod: to },
  protocol: { kind: 'name', name: 'TCP' },
  port,
  fromPort: null,
  icmpType: null,
  icmpCode: null,
  method: null,
  path: '/',
  trustDomain: 'cluster.local',
});

/** A query between addresses, as `--from-ip … --to-ip …` gives it. */
const flow = (srcIp: string, dstIp: string, more: Partial<ExplainQuery> = {}): ExplainQuery => ({
  ...request('x/y', 'x/y', 80),
  from: { kind: 'identity', serviceAccount: null, ip: srcIp },
  to: { kind: 'ip', ip: dstIp },
  ...more,
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

  it('judges an address that is a pod’s as that pod, at its own node too', () => {
    // 192.0.2.66 is sandbox/attacker on other-node: its egress is judged there, the database's
    // ingress at demo-node.
    const out = explainKernel(events, flow('192.0.2.66', '192.0.2.12', { port: 2379 }));
    expect(out).toMatch(
      /^kernel: +DROP at L3\/L4 \(nftables, first packet of TCP 192\.0\.2\.66 → 192\.0\.2\.12 port 2379\)/,
    );
    expect(out).toMatch(/node other-node: ALLOW \(egress of sandbox\/attacker: allow\)/);
    expect(out).toMatch(/node demo-node: DROP \(ingress of yaobank\/database: deny\)/);
  });

  it('judges a pod’s connection to an address outside the cluster at the pod’s node only', () => {
    const out = explainKernel(events, {
      ...request('yaobank/customer', 'x/y', 443),
      to: { kind: 'ip', ip: '203.0.113.9' },
      fromPort: 40000,
    });
    expect(out).toMatch(/first packet of TCP 192\.0\.2\.10 port 40000 → 203\.0\.113\.9 port 443/);
    expect(out).toMatch(/node demo-node: ALLOW \(egress of yaobank\/customer: allow\)/);
    expect(out).toMatch(/decided by tier default, gnp\/customer rule 0/);
    expect(out).not.toMatch(/other-node/);
  });

  it('answers for ICMP with its type and code', () => {
    const out = explainKernel(events, {
      ...request('sandbox/attacker', 'yaobank/database', 0),
      protocol: { kind: 'name', name: 'ICMP' },
      port: null,
      icmpType: 8,
      icmpCode: 0,
    });
    expect(out).toMatch(/first packet of ICMP 192\.0\.2\.66 → 192\.0\.2\.12 type 8 code 0/);
    expect(out).toMatch(/node demo-node: DROP \(ingress of yaobank\/database: deny\)/);
  });

  it('names a destination pod that does not exist', () => {
    const icmp = {
      ...request('yaobank/customer', 'yaobank/nope', 0),
      protocol: { kind: 'name', name: 'ICMP' },
      port: null,
    } as const;
    expect(explainKernel(events, icmp)).toBe('kernel:     no verdict: no pod yaobank/nope');
  });

  it('says a flow between two addresses that are no pods is not policed', () => {
    expect(explainKernel(events, flow('198.51.100.7', '203.0.113.9'))).toMatch(
      /^kernel: +ALLOW, not policed: neither end of TCP 198\.51\.100\.7 → 203\.0\.113\.9 port 80 is a pod/,
    );
  });

  it('says why there is no verdict without a source address', () => {
    const anonymous: ExplainQuery = {
      ...request('x/y', 'yaobank/database', 2379),
      from: { kind: 'identity', serviceAccount: null, ip: null },
    };
    expect(explainKernel(events, anonymous)).toMatch(/no verdict without a source address/);
  });
});
