import { describe, expect, it } from 'vitest';
import { parseCalicoResource } from '../../calico/resources.js';
import { convertK8sNetworkPolicy } from '../../calico/k8s-network-policy.js';
import type { ClusterResource, PodInfo, ResourceEvent } from './cluster-model.js';
import { resourceKey } from './cluster-model.js';
import { PolicyCalculator } from './calculator.js';
import type { SentState } from './stream-diff.js';
import { diffStream, NOTHING_SENT } from './stream-diff.js';
import type { ToDataplane } from './to-dataplane.js';
import { payloadKind } from './to-dataplane.js';

const NODE = 'node-a';

function pod(
  name: string,
  ip: string,
  labels: Record<string, string>,
  extra: Partial<PodInfo> = {},
): ClusterResource {
  return {
    kind: 'Pod',
    pod: {
      namespace: 'prod',
      name,
      uid: `uid-${name}`,
      nodeName: NODE,
      labels: new Map(Object.entries(labels)),
      serviceAccount: 'default',
      ips: [ip],
      namedPorts: [],
      hostNetwork: false,
      finished: false,
      hasSidecar: true,
      ...extra,
    },
  };
}

function calico(raw: Record<string, unknown>): ClusterResource {
  const r = parseCalicoResource({ apiVersion: 'projectcalico.org/v3', ...raw });
  if (!r.ok) throw new Error(r.reason);
  const v = r.value;
  if (v.kind === 'policy') return { kind: 'Policy', policy: v.policy };
  if (v.kind === 'tier') return { kind: 'Tier', tier: v.tier };
  return { kind: 'NetworkSet', networkSet: v.networkSet };
}

const gnp = (name: string, spec: Record<string, unknown>) =>
  calico({ kind: 'GlobalNetworkPolicy', metadata: { name }, spec });
const ns = (name: string, labels: Record<string, string> = {}): ClusterResource => ({
  kind: 'Namespace',
  namespace: { name, labels: new Map(Object.entries(labels)) },
});
const up = (resource: ClusterResource): ResourceEvent => ({ type: 'upsert', resource });

/** One client's stream: the calculation plus what this stream has already been sent. */
class Stream {
  sent: SentState = NOTHING_SENT;
  ended = false;
  constructor(
    readonly calc: PolicyCalculator,
    readonly id: string,
  ) {}
  next(): ToDataplane[] {
    const d = diffStream(this.id, this.sent, this.calc.endpointView(this.id), this.calc.clusterView());
    this.sent = d.sent;
    this.ended = d.endStream;
    return d.messages;
  }
  kinds(): string[] {
    return this.next().map(payloadKind);
  }
}

function setup(...events: ResourceEvent[]): PolicyCalculator {
  const calc = new PolicyCalculator(NODE);
  for (const e of events) calc.apply(e);
  return calc;
}

const webOnly = gnp('web-from-client', {
  selector: "app == 'web'",
  ingress: [{ action: 'Allow', source: { selector: "role == 'client'" } }],
});

describe('PolicyCalculator + diffStream (spec §2.4 order)', () => {
  it('a new stream gets IP sets, policies, profiles, the endpoint, then service accounts, namespaces and InSync', () => {
    const calc = setup(
      up(ns('prod')),
      up(pod('web', '10.0.0.1', { app: 'web' })),
      up(pod('client', '10.0.0.2', { role: 'client' }, { nodeName: 'other' })),
      up(webOnly),
      { type: 'in-sync' },
    );
    const s = new Stream(calc, 'prod/web');
    const msgs = s.next();
    expect(msgs.map(payloadKind)).toEqual([
      'ipset_update',
      'active_policy_update',
      'active_profile_update',
      'workload_endpoint_update',
      'namespace_update',
      'in_sync',
    ]);
    expect(msgs[0]?.ipset_update?.members).toEqual(['10.0.0.2/32']);
    expect(msgs[0]?.ipset_update?.type).toBe('NET');
    expect(msgs[2]?.active_profile_update?.id?.name).toBe('kns.prod');
    const ep = msgs[3]?.workload_endpoint_update;
    expect(ep?.id).toEqual({ orchestrator_id: 'k8s', workload_id: 'prod/web', endpoint_id: 'eth0' });
    expect(ep?.endpoint?.profile_ids).toEqual(['kns.prod', 'ksa.prod.default']);
    expect(ep?.endpoint?.tiers).toEqual([
      {
        name: 'default',
        default_action: 'Deny',
        ingress_policies: [{ name: 'web-from-client', namespace: '', kind: 'GlobalNetworkPolicy' }],
        egress_policies: [],
      },
    ]);
    expect(msgs[4]?.namespace_update?.labels).toEqual({ 'projectcalico.org/name': 'prod' });
    expect(s.next()).toEqual([]);
  });

  it('InSync is withheld until the datastore is in sync, then sent once', () => {
    const calc = setup(up(ns('prod')), up(pod('web', '10.0.0.1', { app: 'web' })));
    const s = new Stream(calc, 'prod/web');
    expect(s.kinds()).not.toContain('in_sync');
    calc.apply({ type: 'in-sync' });
    expect(s.kinds()).toEqual(['in_sync']);
  });

  it('a stream for an endpoint not known yet gets only the cluster data, then the endpoint when it appears', () => {
    const calc = setup(up(ns('prod')), { type: 'in-sync' });
    const s = new Stream(calc, 'prod/web');
    expect(s.kinds()).toEqual(['namespace_update', 'in_sync']);
    calc.apply(up(pod('web', '10.0.0.1', {})));
    expect(s.kinds()).toEqual(['active_profile_update', 'workload_endpoint_update']);
  });

  it('relabelling a remote pod changes IP set membership with a delta', () => {
    const calc = setup(
      up(pod('web', '10.0.0.1', { app: 'web' })),
      up(pod('c1', '10.0.0.2', { role: 'client' })),
      up(pod('c2', '10.0.0.3', {})),
      up(webOnly),
    );
    const s = new Stream(calc, 'prod/web');
    s.next();
    const changes = calc.apply(up(pod('c2', '10.0.0.3', { role: 'client' })));
    expect(changes.endpoints.has('prod/web')).toBe(true);
    expect(s.next()).toEqual([
      expect.objectContaining({
        ipset_delta_update: expect.objectContaining({ added_members: ['10.0.0.3/32'], removed_members: [] }),
      }),
    ]);
    calc.apply(up(pod('c1', '10.0.0.2', { role: 'gone' })));
    const m = s.next();
    expect(m[0]?.ipset_delta_update?.removed_members).toEqual(['10.0.0.2/32']);
  });

  it('editing a policy’s selector sends the new set, the policy, then removes the old set', () => {
    const calc = setup(
      up(pod('web', '10.0.0.1', { app: 'web' })),
      up(pod('c', '10.0.0.2', { role: 'x' })),
      up(webOnly),
    );
    const s = new Stream(calc, 'prod/web');
    const oldSet = s.next()[0]?.ipset_update?.id;
    calc.apply(
      up(
        gnp('web-from-client', {
          selector: "app == 'web'",
          ingress: [{ action: 'Allow', source: { selector: "role == 'x'" } }],
        }),
      ),
    );
    const m = s.next();
    expect(m.map(payloadKind)).toEqual(['ipset_update', 'active_policy_update', 'ipset_remove']);
    expect(m[0]?.ipset_update?.members).toEqual(['10.0.0.2/32']);
    expect(m[2]?.ipset_remove?.id).toBe(oldSet);
  });

  it('an edit that keeps a rule’s selector keeps its IP set tracking membership', () => {
    const calc = setup(
      up(pod('web', '10.0.0.1', { app: 'web' })),
      up(pod('c1', '10.0.0.2', { role: 'client' })),
      up(webOnly),
    );
    const s = new Stream(calc, 'prod/web');
    s.next();
    calc.apply(
      up(
        gnp('web-from-client', {
          selector: "app == 'web'",
          ingress: [
            { action: 'Allow', source: { selector: "role == 'client'" }, http: { methods: ['GET'] } },
          ],
        }),
      ),
    );
    expect(s.kinds()).toEqual(['active_policy_update']);
    calc.apply(up(pod('c2', '10.0.0.3', { role: 'client' })));
    expect(s.next()[0]?.ipset_delta_update?.added_members).toEqual(['10.0.0.3/32']);
  });

  it('a policy that stops selecting the endpoint is removed after the endpoint update', () => {
    const calc = setup(up(pod('web', '10.0.0.1', { app: 'web' })), up(webOnly));
    const s = new Stream(calc, 'prod/web');
    s.next();
    calc.apply(up(pod('web', '10.0.0.1', { app: 'other' })));
    expect(s.kinds()).toEqual(['workload_endpoint_update', 'active_policy_remove', 'ipset_remove']);
  });

  it('deleting the pod sends WorkloadEndpointRemove and ends the stream', () => {
    const calc = setup(up(pod('web', '10.0.0.1', {})));
    const s = new Stream(calc, 'prod/web');
    s.next();
    calc.apply({ type: 'delete', kind: 'Pod', key: 'prod/web' });
    expect(s.kinds()).toEqual(['workload_endpoint_remove']);
    expect(s.ended).toBe(true);
  });

  it('namespace label changes reach namespaceSelector IP sets and the NamespaceUpdate', () => {
    const calc = setup(
      up(ns('prod')),
      up(ns('dev')),
      up(pod('web', '10.0.0.1', { app: 'web' })),
      up(pod('d', '10.0.1.1', {}, { namespace: 'dev', nodeName: 'other' })),
      up(
        gnp('from-trusted', {
          selector: "app == 'web'",
          ingress: [{ action: 'Allow', source: { namespaceSelector: "trusted == 'yes'" } }],
        }),
      ),
    );
    const s = new Stream(calc, 'prod/web');
    expect(s.next()[0]?.ipset_update?.members).toEqual([]);
    calc.apply(up(ns('dev', { trusted: 'yes' })));
    const m = s.next();
    expect(m.map(payloadKind)).toEqual(['ipset_delta_update', 'namespace_update']);
    expect(m[0]?.ipset_delta_update?.added_members).toEqual(['10.0.1.1/32']);
    expect(m[1]?.namespace_update?.labels).toEqual({ trusted: 'yes', 'projectcalico.org/name': 'dev' });
  });

  it('orders tiers by order then name and policies by order then name; staged policies are listed', () => {
    const calc = setup(
      up(pod('web', '10.0.0.1', { app: 'web' })),
      up(
        calico({ kind: 'Tier', metadata: { name: 'security' }, spec: { order: 100, defaultAction: 'Pass' } }),
      ),
      up(gnp('b', { selector: 'all()', order: 10 })),
      up(gnp('a', { selector: 'all()', order: 10 })),
      up(gnp('first', { selector: 'all()', order: 1 })),
      up(gnp('sec', { selector: 'all()', tier: 'security' })),
      up(
        calico({
          kind: 'StagedGlobalNetworkPolicy',
          metadata: { name: 'staged' },
          spec: { selector: 'all()' },
        }),
      ),
      up(
        calico({
          kind: 'StagedGlobalNetworkPolicy',
          metadata: { name: 'gone' },
          spec: { selector: 'all()', stagedAction: 'Delete' },
        }),
      ),
    );
    const tiers = calc.endpointView('prod/web')?.endpoint.tiers ?? [];
    expect(
      tiers.map((t) => [t.name, t.default_action, (t.ingress_policies ?? []).map((p) => p.name)]),
    ).toEqual([
      ['security', 'Pass', ['sec']],
      ['default', 'Deny', ['first', 'a', 'b', 'staged']],
    ]);
  });

  it('a policy in a tier with no Tier resource gets an empty default action (fails closed in Dikastes)', () => {
    const calc = setup(up(pod('web', '10.0.0.1', {})), up(gnp('x', { tier: 'missing' })));
    expect(calc.endpointView('prod/web')?.endpoint.tiers?.[0]?.default_action).toBe('');
  });

  it('Kubernetes NetworkPolicy lands in the default tier with its namespace', () => {
    const r = convertK8sNetworkPolicy({
      kind: 'NetworkPolicy',
      metadata: { name: 'allow-80', namespace: 'prod' },
      spec: { podSelector: {}, ingress: [{ ports: [{ port: 80 }] }] },
    });
    if (!r.ok) throw new Error(r.reason);
    const calc = setup(up(pod('web', '10.0.0.1', {})), up({ kind: 'Policy', policy: r.value.policy }));
    const view = calc.endpointView('prod/web');
    expect(view?.policies.map((p) => p.id)).toEqual([
      { name: 'allow-80', namespace: 'prod', kind: 'KubernetesNetworkPolicy' },
    ]);
    expect(view?.policies[0]?.wire.namespace).toBe('prod');
    expect(view?.policies[0]?.wire.inbound_rules?.[0]?.dst_ports).toEqual([{ first: 80, last: 80 }]);
  });

  it('network sets contribute their nets to selector IP sets', () => {
    const calc = setup(
      up(pod('web', '10.0.0.1', { app: 'web' })),
      up(
        calico({
          kind: 'GlobalNetworkSet',
          metadata: { name: 'ext', labels: { ext: 'yes' } },
          spec: { nets: ['198.51.100.0/24'] },
        }),
      ),
      up(
        gnp('p', { selector: 'all()', ingress: [{ action: 'Deny', source: { selector: "ext == 'yes'" } }] }),
      ),
    );
    const sets = [...(calc.endpointView('prod/web')?.ipSets.values() ?? [])];
    expect(sets.map((s) => [...s.members])).toEqual([['198.51.100.0/24']]);
  });

  it('named ports become <ip>,<proto>:<port> members', () => {
    const calc = setup(
      up(pod('web', '10.0.0.1', { app: 'web' })),
      up(
        pod('db', '10.0.0.9', { app: 'db' }, { namedPorts: [{ name: 'http', protocol: 'tcp', port: 8080 }] }),
      ),
      up(
        gnp('p', {
          selector: "app == 'web'",
          egress: [
            { action: 'Allow', protocol: 'TCP', destination: { selector: "app == 'db'", ports: ['http'] } },
          ],
        }),
      ),
    );
    const sets = [...(calc.endpointView('prod/web')?.ipSets.values() ?? [])];
    expect(sets.map((s) => [s.type, [...s.members]])).toEqual([['IP_AND_PORT', ['10.0.0.9,tcp:8080']]]);
  });

  it('service-account profiles and updates follow the ServiceAccount objects', () => {
    const calc = setup(up(pod('web', '10.0.0.1', {})));
    const s = new Stream(calc, 'prod/web');
    s.next();
    calc.apply(
      up({
        kind: 'ServiceAccount',
        serviceAccount: { namespace: 'prod', name: 'default', labels: new Map([['a', 'b']]) },
      }),
    );
    const m = s.next();
    expect(m.map(payloadKind)).toEqual(['active_profile_update', 'service_account_update']);
    expect(m[0]?.active_profile_update?.id?.name).toBe('ksa.prod.default');
    expect(m[1]?.service_account_update?.labels).toEqual({ a: 'b', 'projectcalico.org/name': 'default' });
  });

  it('pods on other nodes and host-networked pods are not endpoints', () => {
    const calc = setup(
      up(pod('a', '10.0.0.1', {}, { nodeName: 'other' })),
      up(pod('b', '10.0.0.2', {}, { hostNetwork: true })),
    );
    expect(calc.localEndpointIds()).toEqual([]);
  });

  it('tracks local sidecar pods for driverless sockets', () => {
    const calc = new PolicyCalculator(NODE);
    expect(calc.apply(up(pod('a', '10.0.0.1', {}))).localSidecarPods).toBe(true);
    expect(calc.apply(up(pod('a', '10.0.0.1', { x: 'y' }))).localSidecarPods).toBe(false);
    expect(calc.apply(up(pod('b', '10.0.0.2', {}, { hasSidecar: false }))).localSidecarPods).toBe(false);
    expect(calc.localSidecarPods().map((p) => p.name)).toEqual(['a']);
  });

  it('an endpoint arriving after the policies, or relabelled, gets exactly the policies selecting it', () => {
    const allow = { ingress: [{ action: 'Allow' }] };
    const names = (calc: PolicyCalculator): string[] =>
      (calc.endpointView('prod/web')?.policies ?? []).map((p) => p.id.name).sort();
    const calc = setup(
      up(ns('prod', { env: 'prod' })),
      up(gnp('eq-web', { selector: "app == 'web'", ...allow })),
      up(gnp('in-web-api', { selector: "app in { 'web', 'api' }", ...allow })),
      up(gnp('has-app', { selector: 'has(app)', ...allow })),
      up(gnp('all', { selector: 'all()', ...allow })),
      up(gnp('eq-api', { selector: "app == 'api'", ...allow })),
      up(gnp('ns-prod', { selector: 'all()', namespaceSelector: "env == 'prod'", ...allow })),
      up(gnp('ns-dev', { selector: 'all()', namespaceSelector: "env == 'dev'", ...allow })),
    );
    calc.apply(up(pod('web', '10.0.0.1', { app: 'web' })));
    expect(names(calc)).toEqual(['all', 'eq-web', 'has-app', 'in-web-api', 'ns-prod']);
    calc.apply(up(pod('web', '10.0.0.1', { app: 'api' })));
    expect(names(calc)).toEqual(['all', 'eq-api', 'has-app', 'in-web-api', 'ns-prod']);
    calc.apply(up(pod('web', '10.0.0.1', { other: 'x' })));
    expect(names(calc)).toEqual(['all', 'ns-prod']);
    // A policy edited to another selector is found under its new requirement, not its old one.
    calc.apply(up(gnp('eq-web', { selector: "other == 'x'", ...allow })));
    calc.apply(up(gnp('eq-api', { selector: "app == 'web'", ...allow })));
    calc.apply({ type: 'delete', kind: 'Policy', key: resourceKey(gnp('has-app', {})) });
    calc.apply(up(pod('web', '10.0.0.1', { app: 'web' })));
    expect(names(calc)).toEqual(['all', 'eq-api', 'in-web-api', 'ns-prod']);
    calc.apply(up(ns('prod', { env: 'dev' })));
    expect(names(calc)).toEqual(['all', 'eq-api', 'in-web-api', 'ns-dev']);
  });
});
