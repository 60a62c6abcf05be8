// alp-node enforcing Kubernetes and Calico policy in the kernel, end to end: a real alp-node in a
// node network namespace against the envtest API server, pods as network namespaces wired as
// Calico's CNI wires them, real TCP and UDP servers, and every pod probing every other on TCP and
// UDP ports 80 and 8080 (connectivity-matrix.ts). Needs root, nftables and the API server.
import {
  CustomObjectsApi,
  NetworkingV1Api,
  PatchStrategy,
  setHeaderOptions,
  type V1NetworkPolicy,
  type V1NetworkPolicyIngressRule,
} from '@kubernetes/client-node';
import { mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithApiServer } from '../harness/envtest/api-server-gate.js';
import { waitFor } from '../harness/kube.js';
import { nsRun } from '../harness/netns.js';
import { EnforcedCluster, type TestPod } from './cluster-fixture.js';
import { expectMatrix, type Service } from './connectivity-matrix.js';
import { describeWithNft } from './nft-gate.js';

const CALICO = { group: 'crd.projectcalico.org', version: 'v1' };

/** The sum of the values of the Prometheus samples whose lines `matches` picks. */
function sumSamples(metrics: string, matches: (line: string) => boolean): number {
  return metrics
    .split('\n')
    .filter(matches)
    .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
}

describeWithApiServer('L3/L4 enforcement with nftables (alp-node, envtest)', (api) => {
  describeWithNft('one node', () => {
    let cluster: EnforcedCluster;
    let net: NetworkingV1Api;
    let custom: CustomObjectsApi;
    let prod: string;
    let dev: string;
    let frontend: TestPod;
    let backend: TestPod;
    let other: TestPod;
    let client: TestPod;
    let pods: TestPod[];

    const policy = (ns: string, body: V1NetworkPolicy): Promise<V1NetworkPolicy> =>
      net.createNamespacedNetworkPolicy({ namespace: ns, body });
    /**
     * A NetworkPolicy in prod for the pods labelled app=<app>, with these ingress rules (an Ingress
     * policy, as the API server would default it anyway).
     */
    const ingressTo = (
      app: string,
      name: string,
      ingress: V1NetworkPolicyIngressRule[],
    ): Promise<V1NetworkPolicy> =>
      policy(prod, {
        metadata: { name },
        spec: { podSelector: { matchLabels: { app } }, policyTypes: ['Ingress'], ingress },
      });
    const denyAllIngress = (): Promise<V1NetworkPolicy> =>
      policy(prod, {
        metadata: { name: 'deny-all-ingress' },
        spec: { podSelector: {}, policyTypes: ['Ingress'] },
      });
    /**
     * Calico's overview in prod: deny-all-ingress, and allow-frontend to the backend on TCP 80, both
     * in force on the node when this returns (a matrix can match on a probe the old rules let
     * through, and the tests that follow count what the new rules did, or stop alp-node).
     */
    const overviewPolicies = async (): Promise<void> => {
      await denyAllIngress();
      await ingressTo('backend', 'allow-frontend', [
        { _from: [{ podSelector: { matchLabels: { app: 'frontend' } } }], ports: [{ port: 80 }] },
      ]);
      await cluster.waitForPolicies(1, {
        enforced: [`knp/${prod}/deny-all-ingress`, `knp/${prod}/allow-frontend`],
      });
    };
    /** Deletes every policy in the namespaces; returns the rendered ids of those that were enforceable. */
    const deletePolicies = async (...nss: string[]): Promise<string[]> => {
      const deleted: string[] = [];
      for (const ns of nss) {
        const list = await net.listNamespacedNetworkPolicy({ namespace: ns });
        for (const p of list.items) {
          await net.deleteNamespacedNetworkPolicy({ namespace: ns, name: p.metadata!.name! });
          deleted.push(`knp/${ns}/${p.metadata!.name!}`);
        }
        for (const plural of ['networkpolicies', 'stagednetworkpolicies']) {
          const items = (
            (await custom.listNamespacedCustomObject({ ...CALICO, namespace: ns, plural })) as {
              items: { metadata: { name: string } }[];
            }
          ).items;
          for (const i of items) {
            await custom.deleteNamespacedCustomObject({
              ...CALICO,
              namespace: ns,
              plural,
              name: i.metadata.name,
            });
            if (plural === 'networkpolicies') deleted.push(`np/${ns}/${i.metadata.name}`);
          }
        }
      }
      return deleted;
    };
    const allAllowed = (): boolean => true;
    /** Removes every policy and tier these tests made (GNPs and tiers are cluster-wide). */
    /**
     * Deletes every policy and tier the tests made, and returns once node 1's table no longer
     * enforces any of them: a test that starts meanwhile would see the deletions land (a probe
     * denied by a policy already deleted, or a table snapshot taken mid-change).
     */
    const cleanAll = async (): Promise<void> => {
      const deleted = await deletePolicies(prod, dev);
      for (const plural of ['globalnetworkpolicies', 'tiers']) {
        const items = (
          (await custom.listClusterCustomObject({ ...CALICO, plural })) as {
            items: { metadata: { name: string } }[];
          }
        ).items;
        for (const i of items)
          if (i.metadata.name.startsWith(cluster.prefix) || i.metadata.name.startsWith(`${tier()}.`)) {
            await custom.deleteClusterCustomObject({ ...CALICO, plural, name: i.metadata.name });
            if (plural === 'globalnetworkpolicies') deleted.push(`gnp/${i.metadata.name}`);
          }
      }
      await cluster.waitForPolicies(1, { removed: deleted });
    };
    const tier = (): string => cluster.prefix;
    const gnp = (name: string, spec: Record<string, unknown>): Promise<unknown> =>
      custom.createClusterCustomObject({
        ...CALICO,
        plural: 'globalnetworkpolicies',
        body: {
          apiVersion: 'crd.projectcalico.org/v1',
          kind: 'GlobalNetworkPolicy',
          metadata: { name },
          spec,
        },
      });
    const calicoPolicy = (ns: string, name: string, spec: Record<string, unknown>): Promise<unknown> =>
      custom.createNamespacedCustomObject({
        ...CALICO,
        namespace: ns,
        plural: 'networkpolicies',
        body: { apiVersion: 'crd.projectcalico.org/v1', kind: 'NetworkPolicy', metadata: { name }, spec },
      });
    /** Selects prod's backend only (GNPs are cluster-wide; other suites share the API server). */
    const prodBackend = (): string => `app == 'backend' && projectcalico.org/namespace == '${prod}'`;
    /** deny-all-ingress + allow-frontend (TCP 80) in prod, as in Calico's overview. */
    const overview = (from: TestPod, to: TestPod, s: Service): boolean =>
      to.kubeNs !== prod || (from === frontend && to === backend && s.proto === 'tcp' && s.port === 80);

    /** The overview plus allow-frontend-udp (UDP 8080). */
    const overviewUdp = (from: TestPod, to: TestPod, s: Service): boolean =>
      overview(from, to, s) || (from === frontend && to === backend && s.proto === 'udp' && s.port === 8080);

    beforeAll(async () => {
      cluster = new EnforcedCluster(api);
      net = cluster.kc.makeApiClient(NetworkingV1Api);
      custom = cluster.kc.makeApiClient(CustomObjectsApi);
      await cluster.build(1);
      prod = await cluster.namespace('prod', { team: 'prod' });
      dev = await cluster.namespace('dev', { team: 'dev' });
      frontend = await cluster.addPod(1, prod, 'frontend', { app: 'frontend' });
      backend = await cluster.addPod(
        1,
        prod,
        'backend',
        { app: 'backend' },
        { namedPorts: { 'http-alt': 8080 } },
      );
      other = await cluster.addPod(1, prod, 'other', { app: 'other' });
      client = await cluster.addPod(1, dev, 'client', { app: 'frontend' });
      pods = [frontend, backend, other, client];
      cluster.startAlpNode(1, { FELIX_IPTABLESREFRESHINTERVAL: '1' });
      await cluster.waitEnforcing(1);
    });

    afterAll(async () => {
      await cluster?.destroy();
    });

    it('without policies every pod reaches every other (the namespace profiles allow), with routes and proxy ARP set up by alp-node', async () => {
      await expectMatrix(cluster, pods, allAllowed);
      const routes = await nsRun(cluster.node(1).ns, ['ip', 'route', 'show', 'dev', backend.iface]);
      expect(routes).toContain(`${backend.ip} scope link`);
      const proxyArp = await nsRun(cluster.node(1).ns, [
        'sysctl',
        '-n',
        `net.ipv4.conf.${backend.iface}.proxy_arp`,
      ]);
      expect(proxyArp.trim()).toBe('1');
    });

    it("enforces the overview's deny-all-ingress and allow-frontend (TCP 80 only) for TCP and UDP", async () => {
      await overviewPolicies();
      await expectMatrix(cluster, pods, overview);
      // Per-rule counters: the allow rule counted frontend's connections, the tier's end its drops.
      const metrics = await cluster.metrics(1);
      const value = (pattern: RegExp): number => sumSamples(metrics, (l) => pattern.test(l));
      const allowRule = new RegExp(
        `^alp_dataplane_rule_packets_total\\{kind="rule",tier="default",policy="knp/${prod}/allow-frontend",direction="ingress",rule_index="0",action="allow"\\}`,
      );
      expect(value(allowRule)).toBeGreaterThan(0);
      expect(
        value(/^alp_dataplane_rule_packets_total\{kind="end-of-tier",tier="default",.*action="deny"\}/),
      ).toBeGreaterThan(0);
      expect(value(/^alp_dataplane_programming_seconds_count\{kind="incremental"\}/)).toBeGreaterThan(0);
      // UDP too, when the policy says so.
      await ingressTo('backend', 'allow-frontend-udp', [
        {
          _from: [{ podSelector: { matchLabels: { app: 'frontend' } } }],
          ports: [{ port: 8080, protocol: 'UDP' }],
        },
      ]);
      await expectMatrix(cluster, pods, overviewUdp);
    });

    it('does not enforce a staged policy', async () => {
      await custom.createNamespacedCustomObject({
        ...CALICO,
        namespace: dev,
        plural: 'stagednetworkpolicies',
        body: {
          apiVersion: 'crd.projectcalico.org/v1',
          kind: 'StagedNetworkPolicy',
          metadata: { name: 'staged-deny-all' },
          spec: {
            selector: 'all()',
            types: ['Ingress', 'Egress'],
            ingress: [{ action: 'Deny' }],
            egress: [{ action: 'Deny' }],
          },
        },
      });
      // A staged policy leaves nothing in the kernel to wait for, and a matrix taken too early
      // would pass whatever alp-node later did with it. So an enforced marker that changes no
      // verdict (a Deny for an address no pod has) follows it, and the matrix is taken once the
      // marker is in force: alp-node has applied the staged policy by then (the API server sent
      // its event first).
      await calicoPolicy(prod, 'after-staged', {
        selector: 'all()',
        types: ['Ingress'],
        ingress: [{ action: 'Deny', source: { nets: ['203.0.113.99/32'] } }],
      });
      await cluster.waitForPolicies(1, { enforced: [`np/${prod}/after-staged`] });
      await expectMatrix(cluster, pods, overviewUdp);
    });

    it('lets a namespace selector admit another namespace, and drops the rest', async () => {
      await ingressTo('backend', 'allow-dev-to-backend', [
        { _from: [{ namespaceSelector: { matchLabels: { team: 'dev' } } }] },
      ]);
      await expectMatrix(cluster, pods, (f, t, s) => overviewUdp(f, t, s) || (f === client && t === backend));
    });

    it('enforces egress at the source', async () => {
      await deletePolicies(prod, dev);
      await policy(dev, {
        metadata: { name: 'egress-only-prod-8080' },
        spec: {
          podSelector: {},
          policyTypes: ['Egress'],
          egress: [
            { to: [{ namespaceSelector: { matchLabels: { team: 'prod' } } }], ports: [{ port: 8080 }] },
          ],
        },
      });
      await expectMatrix(
        cluster,
        pods,
        (f, t, s) => f !== client || (t.kubeNs === prod && s.proto === 'tcp' && s.port === 8080),
      );
    });

    it('enforces a Calico NetworkPolicy with a Deny rule and an ordered Allow', async () => {
      await deletePolicies(prod, dev);
      await calicoPolicy(prod, 'backend-rules', {
        order: 10,
        selector: "app == 'backend'",
        types: ['Ingress'],
        ingress: [
          { action: 'Deny', protocol: 'UDP' },
          { action: 'Allow', source: { selector: "app == 'other'" } },
        ],
      });
      await expectMatrix(cluster, pods, (f, t, s) => t !== backend || (f === other && s.proto === 'tcp'));
    });

    it('allows everything again once the policies are deleted', async () => {
      await deletePolicies(prod, dev);
      await expectMatrix(cluster, pods, allAllowed);
    });

    it('handles an interface that appears before its pod, and a pod that appears before its interface', async () => {
      const late = await cluster.namespace('late');
      const ifaceFirst = await cluster.addPod(1, late, 'iface-first', { app: 'x' }, { object: 'later' });
      const objectFirst = await cluster.addPod(1, late, 'object-first', { app: 'x' }, { iface: 'later' });
      // The interface without a pod: nothing routes to it, and our table drops what it sends.
      expect((await cluster.probe(ifaceFirst, backend, 'tcp', 80)).ok).toBe(false);
      await cluster.addObject(late, 'iface-first');
      await cluster.addInterface(late, 'object-first');
      await expectMatrix(cluster, [frontend, ifaceFirst, objectFirst], allAllowed);
      // Deleting the pod removes the route alp-node added.
      await cluster.deleteObject(late, 'object-first');
      await waitFor('the route to the deleted pod to go', async () => {
        const routes = await nsRun(cluster.node(1).ns, ['ip', 'route', 'show', 'dev', objectFirst.iface]);
        return routes.includes(objectFirst.ip) ? undefined : true;
      });
      expect((await cluster.probe(frontend, objectFirst, 'tcp', 80)).ok).toBe(false);
      await cluster.removeInterface(late, 'object-first');
      cluster.pods.delete(cluster.key(late, 'object-first'));
    });

    it('repairs our table when someone flushes it or swaps a rule, and takes none of its own edits for that', async () => {
      // The tests before made many edits, each checked within a second (refresh interval 1 s).
      const tampered = (from: number) =>
        cluster.lines.slice(from).filter((l) => l.includes('our nftables table was changed'));
      expect(tampered(0)).toEqual([]);
      await denyAllIngress();
      const denied = (_f: TestPod, t: TestPod): boolean => t.kubeNs !== prod;
      await expectMatrix(cluster, pods, denied);
      const before = cluster.lines.length;
      await cluster.nft(1, ['flush', 'table', 'inet', 'alp-mesh']);
      await waitFor('alp-node to notice the flushed table', () =>
        tampered(before).length > 0 ? true : undefined,
      );
      await expectMatrix(cluster, pods, denied);
      // The check right after the repair learns the new table's contents; an edit before it would
      // be taken for ours.
      const repairedAt = cluster.lines.findIndex(
        (l, i) => i >= before && l.includes('our nftables table was changed'),
      );
      await waitFor('a check of the repaired table', () =>
        cluster.lines.slice(repairedAt).some((l) => l.includes('nftables table checked')) ? true : undefined,
      );

      // The drop that denies ingress replaced by an accept: the chain's rule count stays, so only
      // its contents tell.
      const swap = endOfTierDrop(await cluster.nft(1, ['-a', 'list', 'table', 'inet', 'alp-mesh']));
      const beforeSwap = cluster.lines.length;
      await cluster.nft(1, [
        'replace',
        'rule',
        'inet',
        'alp-mesh',
        swap.chain,
        'handle',
        swap.handle,
        'accept',
      ]);
      await waitFor('alp-node to notice the swapped rule', () =>
        tampered(beforeSwap).some((l) => l.includes(`chain ${swap.chain} edited`)) ? true : undefined,
      );
      await expectMatrix(cluster, pods, denied);
      const chain = await cluster.nft(1, ['list', 'chain', 'inet', 'alp-mesh', swap.chain]);
      expect(withoutCounts(chain)).toContain(swap.rule);
      await deletePolicies(prod);
    });

    it('enforces ipBlock with except', async () => {
      await cleanAll();
      await ingressTo('backend', 'backend-from-block', [
        { _from: [{ ipBlock: { cidr: cluster.podCidr(1), except: [`${frontend.ip}/32`] } }] },
      ]);
      await expectMatrix(cluster, pods, (f, t) => t !== backend || f !== frontend);
    });

    it('resolves a named port per destination pod, and enforces a port range', async () => {
      await cleanAll();
      await ingressTo('backend', 'backend-named-port', [
        { _from: [{ namespaceSelector: {} }], ports: [{ port: 'http-alt' }] },
      ]);
      await ingressTo('other', 'other-udp-range', [
        { _from: [{ namespaceSelector: {} }], ports: [{ port: 70, endPort: 90, protocol: 'UDP' }] },
      ]);
      await expectMatrix(cluster, pods, (_f, t, s) => {
        if (t === backend) return s.proto === 'tcp' && s.port === 8080;
        if (t === other) return s.proto === 'udp' && s.port === 80;
        return true;
      });
    });

    it('passes from an earlier tier to the next, and orders policies within a tier', async () => {
      await cleanAll();
      await custom.createClusterCustomObject({
        ...CALICO,
        plural: 'tiers',
        body: {
          apiVersion: 'crd.projectcalico.org/v1',
          kind: 'Tier',
          metadata: { name: tier() },
          spec: { order: 100 },
        },
      });
      await gnp(`${tier()}.pass-frontend`, {
        tier: tier(),
        selector: prodBackend(),
        types: ['Ingress'],
        ingress: [
          {
            action: 'Pass',
            source: { selector: `app == 'frontend' && projectcalico.org/namespace == '${prod}'` },
          },
          { action: 'Deny' },
        ],
      });
      await gnp(`${cluster.prefix}-deny-udp`, {
        order: 10,
        selector: prodBackend(),
        types: ['Ingress'],
        ingress: [{ action: 'Deny', protocol: 'UDP' }],
      });
      await gnp(`${cluster.prefix}-allow-all`, {
        order: 20,
        selector: prodBackend(),
        types: ['Ingress'],
        ingress: [{ action: 'Allow' }],
      });
      // Only frontend is passed on; in the default tier the Deny (order 10) comes before the Allow (20).
      await expectMatrix(cluster, pods, (f, t, s) => t !== backend || (f === frontend && s.proto === 'tcp'));
      const name = `${cluster.prefix}-deny-udp`;
      await custom.patchClusterCustomObject(
        { ...CALICO, plural: 'globalnetworkpolicies', name, body: { spec: { order: 30 } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
      await expectMatrix(cluster, pods, (f, t) => t !== backend || f === frontend);
    });

    it('follows relabelled pods and namespaces', async () => {
      await cleanAll();
      await overviewPolicies();
      await ingressTo('backend', 'allow-team-dev', [
        { _from: [{ namespaceSelector: { matchLabels: { team: 'dev' } } }], ports: [{ port: 8080 }] },
      ]);
      const tcp = (s: Service, port: number): boolean => s.proto === 'tcp' && s.port === port;
      await expectMatrix(
        cluster,
        pods,
        (f, t, s) =>
          t.kubeNs !== prod ||
          (t === backend && ((f === frontend && tcp(s, 80)) || (f === client && tcp(s, 8080)))),
      );
      await cluster.relabelPod(prod, 'other', { app: 'frontend' });
      await cluster.relabelNamespace(dev, { team: 'qa' });
      await expectMatrix(
        cluster,
        pods,
        (f, t, s) => t.kubeNs !== prod || (t === backend && (f === frontend || f === other) && tcp(s, 80)),
      );
      await cluster.relabelPod(prod, 'other', { app: 'other' });
      await cluster.relabelNamespace(dev, { team: 'dev' });
      await cleanAll();
    });

    it('handles a pod deleted and created again with the same name (same interface, new address)', async () => {
      await cleanAll();
      const oldIp = other.ip;
      await cluster.deleteObject(prod, 'other');
      await cluster.removeInterface(prod, 'other');
      other = await cluster.addPod(1, prod, 'other', { app: 'other' });
      expect(other.ip).not.toBe(oldIp);
      pods = [frontend, backend, other, client];
      await expectMatrix(cluster, pods, allAllowed);
      await policy(prod, {
        metadata: { name: 'deny-to-other' },
        spec: { podSelector: { matchLabels: { app: 'other' } }, policyTypes: ['Ingress'] },
      });
      await expectMatrix(cluster, pods, (_f, t) => t !== other);
      await cleanAll();
    });

    it('without nft, alp-node stops at start-up with one clear message and programs nothing', async () => {
      await cleanAll(); // node 1's table must hold still while it is compared
      const before = await cluster.nft(1, ['-j', 'list', 'table', 'inet', 'alp-mesh']);
      // A PATH with ip but no nft.
      const bin = join(cluster.tempDir, 'no-nft-bin');
      mkdirSync(bin, { recursive: true });
      symlinkSync('/usr/sbin/ip', join(bin, 'ip'));
      const proc = cluster.spawnAlpNode(1, `${cluster.prefix}-ghost`, join(cluster.tempDir, 'ghost'), [], {
        PATH: bin,
      });
      expect(await proc.exited).toBe(1);
      expect(proc.lines.filter((l) => l.includes('cannot enforce policy with nftables'))).toEqual([
        expect.stringContaining('cannot run "nft": not installed (apt-get install nftables)'),
      ]);
      // Node 1's table (same network namespace) is exactly as it was.
      const strip = (json: string): string => json.replace(/"(packets|bytes|handle)": \d+/g, '');
      expect(strip(await cluster.nft(1, ['-j', 'list', 'table', 'inet', 'alp-mesh']))).toBe(strip(before));
    });

    it('keeps enforcing while alp-node restarts: a denied connection never gets through', async () => {
      await overviewPolicies();
      await expectMatrix(cluster, pods, overview);
      let isRestarting = true;
      const leaks: string[] = [];
      const failures: string[] = [];
      let probes = 0;
      const probing = (async () => {
        while (isRestarting) {
          const [deny, allow] = await Promise.all([
            cluster.probe(other, backend, 'tcp', 80, 400),
            cluster.probe(frontend, backend, 'tcp', 80, 2_000),
          ]);
          probes++;
          if (deny.ok) leaks.push(`other → backend got through at ${new Date().toISOString()}`);
          if (!allow.ok) failures.push(`frontend → backend failed: ${allow.what}`);
        }
      })();
      const node = cluster.node(1);
      expect(await node.alpNode!.stop()).toBe(0);
      // Rules stay in force while nothing runs: probe that window a few times before starting
      // again (a start takes well under a second, too short to count on by itself).
      expect(await cluster.nft(1, ['list', 'tables'])).toContain('table inet alp-mesh');
      const probesWhileStopped = probes + 3;
      await waitFor('three probes with no alp-node running', () =>
        probes >= probesWhileStopped ? true : undefined,
      );
      cluster.startAlpNode(1, { FELIX_IPTABLESREFRESHINTERVAL: '1' });
      await cluster.waitEnforcing(1);
      isRestarting = false;
      await probing;
      expect(leaks).toEqual([]);
      expect(failures).toEqual([]);
      await expectMatrix(cluster, pods, overview);
    });

    it('with every setting from the environment (no FelixConfiguration read), enforces from the start', async () => {
      // Nothing then says whether WireGuard is on, so enforcement waits for the WireGuard manager's
      // own start, which finds it off: that must not hold the first transaction up. The overview's
      // policies are still there from the test before.
      const node = cluster.node(1);
      expect(await node.alpNode!.stop()).toBe(0);
      await cluster.nft(1, ['delete', 'table', 'inet', 'alp-mesh']); // so that only a new start enforces
      const prefix = join(cluster.tempDir, 'policysync');
      mkdirSync(prefix, { recursive: true });
      const started = cluster.startAlpNode(1, {
        FELIX_POLICYSYNCPATHPREFIX: prefix,
        FELIX_NFTABLESMODE: 'Enabled',
        FELIX_INTERFACEPREFIX: 'cali',
        FELIX_DEFAULTENDPOINTTOHOSTACTION: 'Drop',
        FELIX_NFTABLESREFRESHINTERVAL: '1',
      });
      await cluster.waitEnforcing(1);
      expect(started.lines.some((l) => l.includes('component=felix-configuration'))).toBe(false);
      expect(started.lines.find((l) => l.includes('enforcing policy with nftables'))).toContain(
        'wireguard=null',
      );
      await expectMatrix(cluster, pods, overview);
    });
  });
  describeWithNft('two nodes', () => {
    let cluster: EnforcedCluster;
    let net: NetworkingV1Api;
    let ns: string;
    let a: TestPod;
    let b: TestPod;
    const counted = async (node: number, direction: string): Promise<number> =>
      sumSamples(
        await cluster.metrics(node),
        (l) =>
          l.startsWith('alp_dataplane_rule_packets_total{kind="end-of-tier"') &&
          l.includes(`direction="${direction}"`),
      );

    beforeAll(async () => {
      cluster = new EnforcedCluster(api);
      net = cluster.kc.makeApiClient(NetworkingV1Api);
      await cluster.build(2, { ipForward: true });
      ns = await cluster.namespace('two');
      a = await cluster.addPod(1, ns, 'a', { app: 'a' });
      b = await cluster.addPod(2, ns, 'b', { app: 'b' });
      cluster.startAlpNode(1);
      cluster.startAlpNode(2);
      await cluster.waitEnforcing(1);
      await cluster.waitEnforcing(2);
    });

    afterAll(async () => {
      await cluster?.destroy();
    });

    it('enforces egress at the source node and ingress at the destination node', async () => {
      await expectMatrix(cluster, [a, b], () => true);
      await net.createNamespacedNetworkPolicy({
        namespace: ns,
        body: {
          metadata: { name: 'a-no-egress' },
          spec: { podSelector: { matchLabels: { app: 'a' } }, policyTypes: ['Egress'] },
        },
      });
      await expectMatrix(cluster, [a, b], (f) => f !== a);
      // Dropped by node 1, the source's: node 2 has no policy for b and saw nothing to drop.
      expect(await counted(1, 'egress')).toBeGreaterThan(0);
      expect(await counted(2, 'ingress')).toBe(0);
      await net.deleteNamespacedNetworkPolicy({ namespace: ns, name: 'a-no-egress' });
      await net.createNamespacedNetworkPolicy({
        namespace: ns,
        body: {
          metadata: { name: 'b-no-ingress' },
          spec: { podSelector: { matchLabels: { app: 'b' } }, policyTypes: ['Ingress'] },
        },
      });
      // The matrix is the same under the old policy, so it proves nothing about the new one until
      // both nodes have the change.
      await cluster.waitForPolicies(1, { removed: [`knp/${ns}/a-no-egress`] });
      await cluster.waitForPolicies(2, { enforced: [`knp/${ns}/b-no-ingress`] });
      await expectMatrix(cluster, [a, b], (_f, t) => t !== b);
      expect(await counted(2, 'ingress')).toBeGreaterThan(0);
    });
  });
});

/** The first end-of-tier drop in `nft -a list table` output: its chain, handle and text (counts aside). */
function endOfTierDrop(listing: string): { chain: string; handle: string; rule: string } {
  let chain = '';
  for (const line of listing.split('\n')) {
    const c = /^\s*chain (\S+) \{/.exec(line);
    if (c !== null) chain = c[1] as string;
    const r = /^\s*(.*\bdrop comment "end of tier.*) # handle (\d+)$/.exec(line);
    if (r !== null && chain !== '')
      return { chain, handle: r[2] as string, rule: withoutCounts(r[1] as string) };
  }
  throw new Error(`no end-of-tier drop in:\n${listing}`);
}

function withoutCounts(text: string): string {
  return text.replace(/counter packets \d+ bytes \d+/g, 'counter');
}
