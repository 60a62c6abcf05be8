// Dual stack: two `bin/alp-node` processes with wireguardEnabled and wireguardEnabledV6, each
// family its own device, key, port, peers, routes and rule (spec §6). Needs root and the tools.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithApiServer } from '../harness/envtest/api-server-gate.js';
import { waitFor } from '../harness/kube.js';
import { describeAsRoot, nsRun } from '../harness/netns.js';
import {
  hasWireguardPacket,
  IFACE6,
  Mesh,
  PING_PATTERN,
  privateKeyLeaks,
  podCidr,
  podCidr6,
  wireguardUdp,
} from './mesh-fixture.js';

const WAIT = { timeoutMs: 30_000, intervalMs: 100 };

describeAsRoot('wireguard dual stack (root, network namespaces)', () => {
  describeWithApiServer('wireguard dual stack against the API server', (api) => {
    let mesh: Mesh;

    beforeAll(async () => {
      mesh = new Mesh(api.kubeConfig(), api.kubeconfigPath, Number(new URL(api.server).port));
      await mesh.build(2, () => [], { dualStack: true });
      for (const i of [1, 2]) mesh.startAgent(i);
    });

    afterAll(async () => {
      await mesh?.destroy();
    });

    it('publishes a separate IPv6 key and interface address', async () => {
      for (const i of [1, 2]) {
        const a = await waitFor(
          `node ${i} v6 annotations`,
          async () => {
            const x = await mesh.annotations(mesh.nodeName(i));
            return x['projectcalico.org/WireguardPublicKeyV6'] && x['projectcalico.org/WireguardPublicKey']
              ? x
              : undefined;
          },
          WAIT,
        );
        expect(a['projectcalico.org/WireguardPublicKeyV6']).not.toBe(
          a['projectcalico.org/WireguardPublicKey'],
        );
        expect(a['projectcalico.org/IPv6WireguardInterfaceAddr']).toBe(`2001:db8:100:${i}::1`);
      }
    });

    it('programs the v6 device: port 51821, peer at [host]:51821 with its v6 pod CIDR only', async () => {
      for (const [i, j] of [
        [1, 2],
        [2, 1],
      ] as const) {
        const key = (await mesh.annotations(mesh.nodeName(j)))['projectcalico.org/WireguardPublicKeyV6'];
        const dump = await waitFor(
          `node ${i} v6 peer`,
          async () => {
            const d = await mesh.wgDump(i, IFACE6);
            return d?.peers.length === 1 ? d : undefined;
          },
          WAIT,
        );
        expect(dump.listenPort).toBe(51821);
        expect(dump.peers.map((p) => [p.publicKey, p.endpoint, p.allowedIps])).toEqual([
          [key, `[2001:db8::${j}]:51821`, [podCidr6(j)]],
        ]);
        const v4 = await mesh.wgDump(i);
        expect(v4?.peers[0]?.allowedIps).toEqual([podCidr(j)]);
      }
    });

    it('routes v6 pod CIDRs in table 1 and steers with the v6 rule', async () => {
      const routes = await waitFor(
        'node 1 v6 routes',
        async () => {
          const r = await mesh.routes(1, 6);
          return r.length === 2 ? r : undefined;
        },
        WAIT,
      );
      expect(routes).toContainEqual({ dst: podCidr6(1), target: 'throw', protocol: 3 });
      expect(routes).toContainEqual({ dst: podCidr6(2), target: 'device', protocol: 3 });
      expect(await mesh.rules(1, 6)).toEqual([
        { priority: 99, mark: 0x200000, mask: 0x200000, invert: true, table: 1 },
      ]);
    });

    it('carries IPv6 pod traffic encrypted over the IPv6 underlay', async () => {
      let ok: string | null = 'not run';
      const capture = await mesh.capture(async () => {
        ok = await mesh.ping(1, 2, 6);
      });
      expect(ok).toBeNull();
      const wireguard = await capture.packets(wireguardUdp(6));
      expect(hasWireguardPacket(wireguard, 1, 2, 6)).toBe(true);
      expect(hasWireguardPacket(wireguard, 2, 1, 6)).toBe(true);
      expect(await capture.packets(mesh.podTraffic(6))).toEqual([]);
      expect(capture.raw.includes(Buffer.from(PING_PATTERN, 'hex'))).toBe(false);
    });

    it("accepts each family's WireGuard port in the node's nftables table, for that family", async () => {
      // alp-node enforces policy (the Kubernetes datastore's default) and follows both devices.
      const table = await waitFor(
        'node 1 table with both WireGuard ports',
        async () => {
          const text = await nsRun(mesh.node(1).net.ns, ['nft', 'list', 'table', 'inet', 'alp-mesh']).catch(
            () => '',
          );
          return text.includes('dport 51821') ? text : undefined;
        },
        WAIT,
      );
      expect(table).toMatch(/meta nfproto ipv4 udp dport 51820 fib daddr type local .*accept/);
      expect(table).toMatch(/meta nfproto ipv6 udp dport 51821 fib daddr type local .*accept/);
    });

    it('never logs a private key of either family, from start to shutdown', async () => {
      for (const i of [1, 2]) expect(await mesh.node(i).agent?.stop()).toBe(0);
      const keysOnDisk = await mesh.privateKeysOnDisk();
      expect(keysOnDisk.map((k) => [k.node, k.family])).toEqual([
        [1, 4],
        [1, 6],
        [2, 4],
        [2, 6],
      ]);
      expect(mesh.agentLines.filter((l) => l.line.includes('wireguard stopped')).map((l) => l.node)).toEqual([
        1, 2,
      ]);
      expect(privateKeyLeaks(mesh.agentLines, keysOnDisk)).toEqual([]);
    });
  });
});
