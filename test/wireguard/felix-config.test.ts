// FelixConfiguration behaviours end to end, with three `bin/alp-node` processes in network
// namespaces against the envtest API server: a FelixConfiguration selected by node labels turning
// WireGuard on and off as a node is relabelled (spec §1.3), the start-up bootstrap removing a
// stale published key (spec §2.6), and routeSyncDisabled leaving the routing table alone while
// the device, peers and rule are programmed (spec §1.1). Needs root and the WireGuard tools.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithApiServer } from '../harness/envtest/api-server-gate.js';
import { waitFor } from '../harness/kube.js';
import { describeAsRoot, run } from '../harness/netns.js';
import { generateKeyPair } from '../../wireguard/core/keys.js';
import { Mesh, podCidr } from './mesh-fixture.js';

const KEY = 'projectcalico.org/WireguardPublicKey';
const WAIT = { timeoutMs: 30_000, intervalMs: 100 };
const FOREIGN_ROUTE = '203.0.113.0/24';

describeAsRoot('wireguard FelixConfiguration and start-up (root, network namespaces)', () => {
  describeWithApiServer('wireguard FelixConfiguration against the API server', (api) => {
    let mesh: Mesh;
    let recording: { readonly values: readonly (string | null)[]; stop(): void } | null = null;
    const stale = generateKeyPair().publicKey;
    const label = (): string => `${mesh.prefix}-wireguard`;
    const selected = (): string => `${mesh.prefix}-selected`;

    /** Resolves once node i's device has exactly these nodes as peers (by published key). */
    const peersOf = (i: number, nodes: number[]) =>
      waitFor(
        `node ${i} to have peers ${nodes.join(',') || 'none'}`,
        async () => {
          const want = await Promise.all(nodes.map(async (j) => mesh.publicKeyFromFile(j)));
          const dump = await mesh.wgDump(i);
          const got = dump?.peers.map((p) => p.publicKey).sort() ?? null;
          return JSON.stringify(got) === JSON.stringify(want.sort()) ? dump : undefined;
        },
        WAIT,
      ).catch((err: unknown) => {
        throw new Error(`${String(err)}\n${mesh.logTail(i)}`);
      });

    beforeAll(async () => {
      mesh = new Mesh(api.kubeConfig(), api.kubeconfigPath, Number(new URL(api.server).port));
      // Nodes 1 and 2 get WireGuard only through the selector; node 3 through its own resource.
      await mesh.build(3, () => [], {
        nodeFelixConfig: (i) => (i === 3 ? { wireguardEnabled: true, routeSyncDisabled: true } : null),
      });
      await mesh.applyFelixConfig(selected(), {
        nodeSelector: `${label()} == 'on'`,
        wireguardEnabled: true,
      });
      for (const i of [1, 2]) await mesh.setLabels(mesh.nodeName(i), { [label()]: 'on' });
      // Node 3 starts with a key on its Node that it does not hold, and a route in table 1 that
      // someone else put there.
      await mesh.setAnnotations(mesh.nodeName(3), { [KEY]: stale });
      await run(['ip', '-n', mesh.node(3).net.ns, 'route', 'add', 'throw', FOREIGN_ROUTE, 'table', '1']);
      const rec = await mesh.recordAnnotation(mesh.nodeName(3), KEY);
      recording = rec;
      // A watch opened without a resourceVersion may start from the API server's watch cache a
      // little behind the patch above: wait until it has seen the stale key before the agents run.
      await waitFor(
        'the annotation watch to see the stale key',
        () => (rec.values.at(-1) === stale ? true : undefined),
        WAIT,
      );
      for (const i of [1, 2, 3]) mesh.startAgent(i);
    });

    afterAll(async () => {
      recording?.stop();
      await mesh?.deleteFelixConfig(selected());
      await mesh?.destroy();
    });

    it('enables WireGuard on the nodes a FelixConfiguration’s nodeSelector selects', async () => {
      await peersOf(1, [2, 3]);
      await peersOf(2, [1, 3]);
      for (const i of [1, 2]) {
        expect((await mesh.annotations(mesh.nodeName(i)))[KEY]).toBe(await mesh.publicKeyFromFile(i));
      }
    });

    it('bootstrap removes a stale published key at start, then publishes the key it holds', async () => {
      const own = await waitFor(
        'node 3 to write its key file',
        async () => (await mesh.publicKeyFromFile(3)) ?? undefined,
        WAIT,
      );
      // Wait on the watch itself, not a GET: the watch's events may trail what a GET returns.
      await waitFor(
        'node 3 to publish its key',
        () => (recording?.values.at(-1) === own ? true : undefined),
        WAIT,
      );
      // Without the bootstrap the stale key would be overwritten in place, never absent.
      const values = recording?.values ?? [];
      expect(values.slice(values.indexOf(stale))).toEqual([stale, null, own]);
      expect(mesh.node(3).agent?.lines.some((l) => l.includes('removed stale published keys'))).toBe(true);
    });

    it('with routeSyncDisabled programs device, peers and rule but leaves table 1 as it found it', async () => {
      await peersOf(3, [1, 2]);
      const link = await run([
        'ip',
        '-n',
        mesh.node(3).net.ns,
        '-j',
        'link',
        'show',
        'dev',
        'wireguard.cali',
      ]);
      expect(JSON.parse(link)[0].flags).toContain('UP');
      expect(await mesh.rules(3)).toEqual([
        { priority: 99, mark: 0x200000, mask: 0x200000, invert: true, table: 1 },
      ]);
      // Only the route someone else added: none of ours, and theirs not removed.
      expect((await mesh.routes(3)).map((r) => [r.dst, r.target])).toEqual([[FOREIGN_ROUTE, 'throw']]);
      // Its peers sync routes as usual and send node 3's pod CIDR into their device.
      expect(await mesh.routes(1)).toContainEqual({ dst: podCidr(3), target: 'device', protocol: 3 });
    });

    it('turns WireGuard off when the node loses the label, and on again when it gets it back', async () => {
      const node2 = await mesh.publicKeyFromFile(2);
      await mesh.setLabels(mesh.nodeName(2), { [label()]: null });
      await waitFor(
        'node 2 to tear down and withdraw its key',
        async () => {
          const gone = !(await mesh.hasLink(2)) && (await mesh.rules(2)).length === 0;
          return gone && !(KEY in (await mesh.annotations(mesh.nodeName(2)))) ? true : undefined;
        },
        WAIT,
      );
      await peersOf(1, [3]);
      expect(await mesh.routes(1)).toContainEqual({ dst: podCidr(2), target: 'throw', protocol: 3 });

      await mesh.setLabels(mesh.nodeName(2), { [label()]: 'on' });
      await peersOf(2, [1, 3]);
      await peersOf(1, [2, 3]);
      expect((await mesh.annotations(mesh.nodeName(2)))[KEY]).toBe(node2);
      expect(await mesh.ping(1, 2)).toBeNull();
    });
  });
});
