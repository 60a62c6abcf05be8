// FelixConfiguration changes applied by a running alp-node, never restarted: a real alp-node in a
// node network namespace against the envtest API server, pods wired as Calico's CNI wires them,
// and the kernel's verdicts probed after each edit of the node's own FelixConfiguration
// (`node.<name>`; `default` is shared with the other suites of the run). Needs root, nftables and
// the API server.
import {
  CoreV1Api,
  CustomObjectsApi,
  NetworkingV1Api,
  PatchStrategy,
  setHeaderOptions,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithApiServer } from '../harness/envtest/api-server-gate.js';
import { waitFor } from '../harness/kube.js';
import { spawnInNamespace, type NsProcess } from '../harness/netns.js';
import { EnforcedCluster, type TestPod } from './cluster-fixture.js';
import { describeWithNft } from './nft-gate.js';

const CALICO = { group: 'crd.projectcalico.org', version: 'v1', plural: 'felixconfigurations' };
const MERGE = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const HOST_IP = '192.0.2.1';
const HOST_PORT = 9000;
const TABLE = 'table inet alp-mesh';

describeWithApiServer('FelixConfiguration applied live (alp-node, envtest)', (api) => {
  describeWithNft('one node, no restart', () => {
    let cluster: EnforcedCluster;
    let custom: CustomObjectsApi;
    let frontend: TestPod;
    let backend: TestPod;
    let other: TestPod;
    let hostServer: NsProcess | null = null;
    const felixName = (): string => `node.${cluster.node(1).name}`;

    /** Merges `spec` into our node's FelixConfiguration (null removes a field), creating it if needed. */
    const setFelix = async (spec: Record<string, unknown>): Promise<void> => {
      try {
        await custom.patchClusterCustomObject({ ...CALICO, name: felixName(), body: { spec } }, MERGE);
      } catch {
        await custom.createClusterCustomObject({
          ...CALICO,
          body: {
            apiVersion: 'crd.projectcalico.org/v1',
            kind: 'FelixConfiguration',
            metadata: { name: felixName() },
            spec,
          },
        });
      }
    };
    /** Waits until a TCP probe from `from` to `to` gets the verdict `ok`. */
    const until = (from: TestPod, to: TestPod | string, port: number, ok: boolean): Promise<unknown> =>
      waitFor(
        `${from.name} → ${typeof to === 'string' ? to : to.name}:${port} ${ok ? 'allowed' : 'dropped'}`,
        async () => ((await cluster.probe(from, to, 'tcp', port, 800)).ok === ok ? true : undefined),
        { timeoutMs: 30_000 },
      ).catch((err: unknown) => {
        throw new Error(`${String(err)}\n${cluster.lines.slice(-40).join('\n')}`);
      });
    const tables = (): Promise<string> => cluster.nft(1, ['list', 'tables']);
    const logged = (text: string, since: number): Promise<unknown> =>
      waitFor(`alp-node to log "${text}"`, () =>
        cluster.lines.slice(since).some((l) => l.includes(text)) ? true : undefined,
      );

    beforeAll(async () => {
      const kc = api.kubeConfig();
      custom = kc.makeApiClient(CustomObjectsApi);
      cluster = new EnforcedCluster(api);
      await cluster.build(1);
      const ns = await cluster.namespace('live');
      frontend = await cluster.addPod(1, ns, 'frontend', { app: 'frontend' });
      backend = await cluster.addPod(1, ns, 'backend', { app: 'backend' });
      other = await cluster.addPod(1, ns, 'other', { app: 'other' });
      const net = kc.makeApiClient(NetworkingV1Api);
      await net.createNamespacedNetworkPolicy({
        namespace: ns,
        body: { metadata: { name: 'deny-all-ingress' }, spec: { podSelector: {}, policyTypes: ['Ingress'] } },
      });
      await net.createNamespacedNetworkPolicy({
        namespace: ns,
        body: {
          metadata: { name: 'allow-frontend' },
          spec: {
            podSelector: { matchLabels: { app: 'backend' } },
            ingress: [
              { _from: [{ podSelector: { matchLabels: { app: 'frontend' } } }], ports: [{ port: 80 }] },
            ],
          },
        },
      });
      // A service on the node itself, for defaultEndpointToHostAction.
      const server = spawnInNamespace(cluster.node(1).ns, [
        process.execPath,
        '-e',
        `require('node:net').createServer((c) => { c.on('error', () => {}); c.end('ok host\\n'); })` +
          `.listen(${HOST_PORT}, '0.0.0.0', () => console.log('ready'));`,
      ]);
      hostServer = server;
      await waitFor('the node service', () => (server.lines.includes('ready') ? true : undefined));
      // No FELIX_IPTABLESREFRESHINTERVAL: the environment would win over FelixConfiguration.
      cluster.startAlpNode(1);
      await cluster.waitEnforcing(1);
      await until(other, backend, 80, false);
      await until(frontend, backend, 80, true);
    });

    afterAll(async () => {
      if (cluster !== undefined)
        await custom.deleteClusterCustomObject({ ...CALICO, name: felixName() }).catch(() => undefined);
      await hostServer?.stop();
      await cluster?.destroy();
    });

    it('nftablesMode Disabled removes our table, Enabled programs it again', async () => {
      await setFelix({ nftablesMode: 'Disabled' });
      await waitFor('our table to go', async () => (!(await tables()).includes(TABLE) ? true : undefined));
      await until(other, backend, 80, true);
      const since = cluster.lines.length;
      await setFelix({ nftablesMode: 'Enabled' });
      await logged('enforcing policy with nftables', since);
      expect(await tables()).toContain(TABLE);
      await until(other, backend, 80, false);
      await until(frontend, backend, 80, true);
    });

    it('a new defaultEndpointToHostAction replaces the rules with no moment a denied connection gets through', async () => {
      // Drop (the default): pods do not reach the node's own services.
      await until(frontend, HOST_IP, HOST_PORT, false);
      let isChanging = true;
      const leaks: string[] = [];
      let probes = 0;
      const probing = (async () => {
        while (isChanging) {
          const r = await cluster.probe(other, backend, 'tcp', 80, 300);
          probes++;
          if (r.ok) leaks.push(`other → backend got through at ${new Date().toISOString()}`);
        }
      })();
      try {
        await setFelix({ defaultEndpointToHostAction: 'Accept' });
        await until(frontend, HOST_IP, HOST_PORT, true);
        // Keep probing for a moment after the handover too.
        const after = probes;
        await waitFor('more probes', () => (probes >= after + 3 ? true : undefined));
      } finally {
        isChanging = false;
        await probing;
      }
      expect(leaks).toEqual([]);
      await until(frontend, backend, 80, true);
    });

    it('refuses an invalid value with a clear message and keeps the last good settings', async () => {
      const since = cluster.lines.length;
      await setFelix({ defaultEndpointToHostAction: 'Allow' });
      await logged('FelixConfiguration refused for enforcement', since);
      expect(cluster.lines.slice(since).join('\n')).toMatch(/must be Drop, Accept or Return, not \\?"Allow/);
      // And says so where kubectl describe shows it.
      const core = api.kubeConfig().makeApiClient(CoreV1Api);
      const event = await waitFor('the InvalidFelixConfiguration Event', async () =>
        (await core.listNamespacedEvent({ namespace: 'default' })).items.find(
          (e) => e.reason === 'InvalidFelixConfiguration' && e.involvedObject.name === felixName(),
        ),
      );
      expect(event.type).toBe('Warning');
      expect(event.message).toMatch(/must be Drop, Accept or Return, not "Allow"/);
      // Still Accept, still enforcing.
      await until(frontend, HOST_IP, HOST_PORT, true);
      await until(other, backend, 80, false);
      await setFelix({ defaultEndpointToHostAction: null });
      await until(frontend, HOST_IP, HOST_PORT, false);
    });

    it('a new interfacePrefix re-renders the dispatch for the new interface names', async () => {
      const tapName = backend.iface.replace(/^cali/, 'tap');
      await setFelix({ interfacePrefix: 'tap' });
      await waitFor('the table to name tap interfaces', async () => {
        const text = await cluster.nft(1, ['list', 'table', 'inet', 'alp-mesh']);
        return text.includes(tapName) && !text.includes(backend.iface) ? true : undefined;
      });
      // cali* interfaces are no workload interfaces now: nothing polices them.
      await until(other, backend, 80, true);
      await setFelix({ interfacePrefix: null });
      await until(other, backend, 80, false);
      await until(frontend, backend, 80, true);
    });

    it('a shorter iptablesRefreshInterval repairs a flushed table within it', async () => {
      const since = cluster.lines.length;
      await setFelix({ iptablesRefreshInterval: '1s' });
      await logged('enforcement settings changed', since);
      await logged('enforcing policy with nftables', since);
      await cluster.nft(1, ['flush', 'table', 'inet', 'alp-mesh']);
      // The default interval (60 s) is longer than this wait: only the new one repairs in time.
      await logged('our nftables table was changed; replacing it', since);
      await until(other, backend, 80, false);
      await until(frontend, backend, 80, true);
    });

    it('follows a selector-scoped FelixConfiguration as our Node gains and loses its label', async () => {
      const label = `${cluster.prefix}-live`;
      const selected = `${cluster.prefix}-selected`;
      const core = api.kubeConfig().makeApiClient(CoreV1Api);
      const setLabel = (value: string | null): Promise<unknown> =>
        core.patchNode(
          { name: cluster.node(1).name, body: { metadata: { labels: { [label]: value } } } },
          MERGE,
        );
      await custom.createClusterCustomObject({
        ...CALICO,
        body: {
          apiVersion: 'crd.projectcalico.org/v1',
          kind: 'FelixConfiguration',
          metadata: { name: selected },
          spec: { nodeSelector: `${label} == 'on'`, defaultEndpointToHostAction: 'Accept' },
        },
      });
      try {
        await until(frontend, HOST_IP, HOST_PORT, false);
        await setLabel('on');
        await until(frontend, HOST_IP, HOST_PORT, true);
        await setLabel(null);
        await until(frontend, HOST_IP, HOST_PORT, false);
      } finally {
        await custom.deleteClusterCustomObject({ ...CALICO, name: selected }).catch(() => undefined);
      }
    });

    it('did all of it without restarting', () => {
      const proc = cluster.node(1).alpNode!;
      expect(proc.child.exitCode).toBeNull();
      expect(proc.lines.filter((l) => l.includes('alp-node started'))).toHaveLength(1);
    });

    it('started with enforcement off (nothing calculated), switches it on when told', async () => {
      expect(await cluster.node(1).alpNode!.stop()).toBe(0);
      await setFelix({ nftablesMode: 'Disabled', iptablesRefreshInterval: null });
      const since = cluster.lines.length;
      cluster.startAlpNode(1);
      await logged('alp-node started', since);
      expect(await tables()).not.toContain(TABLE);
      // No PolicySync prefix and enforcement off: the policy calculation does not run yet.
      expect(cluster.lines.slice(since).some((l) => l.includes('policySyncPathPrefix is empty'))).toBe(true);
      await until(other, backend, 80, true);
      await setFelix({ nftablesMode: 'Enabled' });
      await logged('enforcing policy with nftables', since);
      await until(other, backend, 80, false);
      await until(frontend, backend, 80, true);
      await until(frontend, HOST_IP, HOST_PORT, false);
    });
  });
});
