// The WireGuard mesh end to end: three `bin/alp-node` processes, each in its own network
// namespace with a pod behind it, against the envtest API server. Needs root, wireguard-tools,
// wireguard-go, tcpdump and ping (skipped loudly elsewhere, failed in CI without them).
import { linkSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithApiServer } from '../harness/envtest/api-server-gate.js';
import { waitFor } from '../harness/kube.js';
import { describeAsRoot, kernelHasWireguard, run as runCmd } from '../harness/netns.js';
import { keyFilePath } from '../../wireguard/shell/key-store.js';
import { generateKeyPair } from '../../wireguard/core/keys.js';
import {
  hasWireguardPacket,
  IFACE,
  Mesh,
  PING_PATTERN,
  privateKeyLeaks,
  podCidr,
  podIp,
  wireguardUdp,
} from './mesh-fixture.js';

const KEY = 'projectcalico.org/WireguardPublicKey';
const ADDR = 'projectcalico.org/IPv4WireguardInterfaceAddr';
const WAIT = { timeoutMs: 30_000, intervalMs: 100 };
const INDEXES = [1, 2, 3];
const UNUSABLE_KEY = 'not a WireGuard key\n';
const mode = (path: string): number => statSync(path).mode & 0o777;

describeAsRoot('wireguard mesh (root, network namespaces)', () => {
  describeWithApiServer('wireguard mesh against the API server', (api) => {
    let mesh: Mesh;
    const keys = new Map<number, string>();
    const fake = (): string => `${mesh.prefix}-n4`;
    /** A second name for the unusable key file node 3 starts with (see beforeAll). */
    const seededKeyFile = (): string => join(dirname(mesh.node(3).stateDir), 'seeded-v4.key');

    /** Every other mesh node is a peer of node i, with its endpoint and pod CIDR; resolves the dump. */
    const fullMesh = (i: number, expectedKeys = keys) =>
      waitFor(
        `node ${i} to have both other nodes as peers`,
        async () => {
          const dump = await mesh.wgDump(i);
          if (dump === null) return undefined;
          const want = INDEXES.filter((j) => j !== i).map((j) => ({
            publicKey: expectedKeys.get(j),
            endpoint: `192.0.2.${j}:51820`,
            allowedIps: [podCidr(j)],
          }));
          const got = dump.peers.map((p) => ({
            publicKey: p.publicKey,
            endpoint: p.endpoint,
            allowedIps: p.allowedIps,
          }));
          return JSON.stringify(got) === JSON.stringify(want) ? dump : undefined;
        },
        WAIT,
      );

    beforeAll(async () => {
      if (!(await kernelHasWireguard())) {
        console.warn(
          'wireguard mesh: this kernel has no WireGuard module; only the wireguard-go path is exercised',
        );
      }
      mesh = new Mesh(api.kubeConfig(), api.kubeconfigPath, Number(new URL(api.server).port));
      // Node 3 is forced onto wireguard-go, so a kernel with WireGuard still exercises both paths.
      await mesh.build(3, (i) => (i === 3 ? ['--wireguard-device', 'userspace'] : []));
      // Node 3 starts with an unusable v4 key file, which alp-node must replace without rewriting it.
      mkdirSync(mesh.node(3).stateDir, { recursive: true, mode: 0o700 });
      writeFileSync(keyFilePath(mesh.node(3).stateDir, 4), UNUSABLE_KEY, { mode: 0o644 });
      linkSync(keyFilePath(mesh.node(3).stateDir, 4), seededKeyFile());
      for (const i of INDEXES) mesh.startAgent(i);
    });

    afterAll(async () => {
      await mesh?.deleteBlock(`${mesh.prefix}-b4`);
      await mesh?.destroy([fake()]);
    });

    it('publishes each node’s public key (from its 0600 key file) and interface address on its Node', async () => {
      for (const i of INDEXES) {
        const n = mesh.node(i);
        const annotations = await waitFor(
          `node ${i} annotations`,
          async () => {
            const a = await mesh.annotations(n.name);
            return a[KEY] && a[ADDR] ? a : undefined;
          },
          WAIT,
        ).catch((err: unknown) => {
          throw new Error(`${String(err)}\n${mesh.logTail(i)}`);
        });
        expect(annotations[KEY]).toBe(await mesh.publicKeyFromFile(i));
        expect(annotations[ADDR]).toBe(`198.51.100.${64 * (i - 1) + 1}`);
        keys.set(i, annotations[KEY] as string);
      }
    });

    it('keeps each private key in a 0600 file, and replaces an unusable one by renaming a new file over it', async () => {
      for (const i of INDEXES) {
        const stateDir = mesh.node(i).stateDir;
        expect(mode(stateDir)).toBe(0o700);
        for (const family of [4, 6] as const) expect(mode(keyFilePath(stateDir, family))).toBe(0o600);
        expect(readdirSync(stateDir).filter((name) => name.endsWith('.tmp'))).toEqual([]);
      }
      const replaced = keyFilePath(mesh.node(3).stateDir, 4);
      expect(statSync(replaced).ino).not.toBe(statSync(seededKeyFile()).ino);
      expect(readFileSync(seededKeyFile(), 'utf8')).toBe(UNUSABLE_KEY);
      expect(await mesh.publicKeyFromFile(3)).toBe(keys.get(3));
      expect(mesh.agentLines.some((l) => l.node === 3 && l.line.includes('replaced unusable key file'))).toBe(
        true,
      );
    });

    it('programs every other node as a peer: key, endpoint on port 51820, its pod CIDR', async () => {
      for (const i of INDEXES) {
        const dump = await fullMesh(i);
        expect(dump.publicKey).toBe(keys.get(i));
        expect(dump.listenPort).toBe(51820);
        expect(dump.firewallMark).toBe(0x200000);
      }
    });

    it('routes peers’ CIDRs into the device, throws its own, and steers with the fwmark rule', async () => {
      for (const i of INDEXES) {
        const routes = await waitFor(
          `node ${i} routes`,
          async () => {
            const r = await mesh.routes(i);
            // Thrown, so a timeout says what the table held.
            if (r.length !== 3) throw new Error(`table 1 holds ${JSON.stringify(r)}`);
            return r;
          },
          WAIT,
        );
        const byDst = (a: { dst: string }, b: { dst: string }) => a.dst.localeCompare(b.dst);
        expect(routes.sort(byDst)).toEqual(
          INDEXES.map((j) => ({ dst: podCidr(j), target: j === i ? 'throw' : 'device', protocol: 3 })).sort(
            byDst,
          ),
        );
        expect(await mesh.rules(i)).toEqual([
          { priority: 99, mark: 0x200000, mask: 0x200000, invert: true, table: 1 },
        ]);
      }
    });

    it('carries pod traffic encrypted: the underlay sees UDP 51820 between nodes, never the pods’ packets', async () => {
      let ok: (string | null)[] = [];
      const capture = await mesh.capture(async () => {
        ok = [await mesh.ping(1, 2), await mesh.ping(3, 1), await mesh.ping(2, 3)];
      });
      expect(ok).toEqual([null, null, null]);
      const wireguard = await capture.packets(wireguardUdp());
      for (const [a, b] of [
        [1, 2],
        [3, 1],
        [2, 3],
      ] as const) {
        expect(hasWireguardPacket(wireguard, a, b)).toBe(true);
        expect(hasWireguardPacket(wireguard, b, a)).toBe(true);
      }
      expect(await capture.packets(mesh.podTraffic())).toEqual([]);
      expect(capture.raw.includes(Buffer.from(PING_PATTERN, 'hex'))).toBe(false);
    });

    it('adds a node with an IPAM block as a peer, follows its key change, and removes it', async () => {
      const first = generateKeyPair().publicKey;
      await mesh.createFakeNode(fake(), '192.0.2.4', first);
      await mesh.createBlock(`${mesh.prefix}-b4`, podCidr(4), fake());
      const hasPeer = (i: number, key: string) =>
        waitFor(
          `node ${i} to peer with n4 (${key.slice(0, 6)})`,
          async () => {
            const p = (await mesh.wgDump(i))?.peers.find((x) => x.publicKey === key);
            return p?.endpoint === '192.0.2.4:51820' && p.allowedIps.join() === podCidr(4) ? p : undefined;
          },
          WAIT,
        );
      for (const i of INDEXES) await hasPeer(i, first);
      expect(await mesh.routes(1)).toContainEqual({ dst: podCidr(4), target: 'device', protocol: 3 });

      const second = generateKeyPair().publicKey;
      await mesh.setAnnotations(fake(), { [KEY]: second });
      for (const i of INDEXES) {
        await hasPeer(i, second);
        expect((await mesh.wgDump(i))?.peers.some((p) => p.publicKey === first)).toBe(false);
      }

      await mesh.deleteNode(fake());
      await mesh.deleteBlock(`${mesh.prefix}-b4`);
      for (const i of INDEXES) {
        await waitFor(
          `node ${i} to drop n4`,
          async () => {
            const dump = await mesh.wgDump(i);
            const routes = await mesh.routes(i);
            return dump?.peers.length === 2 && !routes.some((r) => r.dst === podCidr(4)) ? true : undefined;
          },
          WAIT,
        );
      }
    });

    it('excludes both nodes that publish the same key, and takes them back when it is unique again', async () => {
      await mesh.createFakeNode(fake(), '192.0.2.4', keys.get(2) as string);
      for (const i of [1, 3]) {
        await waitFor(
          `node ${i} to drop node 2 and the copycat`,
          async () => {
            const dump = await mesh.wgDump(i);
            const routes = await mesh.routes(i);
            const peerKeys = dump?.peers.map((p) => p.publicKey) ?? [];
            const throws = routes.some((r) => r.dst === podCidr(2) && r.target === 'throw');
            return peerKeys.length === 1 && !peerKeys.includes(keys.get(2) as string) && throws
              ? true
              : undefined;
          },
          WAIT,
        );
      }
      // Node 2 never peers with a node that claims its own key.
      expect((await mesh.wgDump(2))?.peers.length).toBe(2);
      await mesh.deleteNode(fake());
      for (const i of [1, 3]) await fullMesh(i);
    });

    it('rewrites its key annotation when someone changes it: the device key wins', async () => {
      await mesh.setAnnotations(mesh.nodeName(2), { [KEY]: generateKeyPair().publicKey });
      await waitFor(
        'node 2 to restore its key',
        async () => ((await mesh.annotations(mesh.nodeName(2)))[KEY] === keys.get(2) ? true : undefined),
        WAIT,
      );
      for (const i of [1, 3]) await fullMesh(i);
    });

    it('repairs a device deleted out of band (same key) and a wireguard-go that was killed', async () => {
      await runCmd(['ip', '-n', mesh.node(1).net.ns, 'link', 'del', 'dev', IFACE]);
      const dump = await fullMesh(1);
      expect(dump.publicKey).toBe(keys.get(1));
      expect(await mesh.ping(1, 2)).toBeNull();

      const pids = (await runCmd(['ip', 'netns', 'pids', mesh.node(3).net.ns])).split('\n').filter(Boolean);
      const args = await Promise.all(
        pids.map((pid) => runCmd(['ps', '-o', 'args=', '-p', pid]).catch(() => '')),
      );
      const wgGo = pids.filter((_, k) => (args[k] as string).startsWith('wireguard-go'));
      expect(wgGo).toHaveLength(1);
      process.kill(Number(wgGo[0]), 'SIGKILL');
      await waitFor(
        'node 3 device to come back',
        async () => ((await mesh.wgDump(3))?.peers.length === 2 ? true : undefined),
        WAIT,
      );
      expect(await mesh.ping(3, 1)).toBeNull();
    });

    it('tears down device, routes, rule and annotations when disabled, and pods talk in plaintext again', async () => {
      for (const i of INDEXES) await mesh.setFelixConfig(i, { wireguardEnabled: false });
      for (const i of INDEXES) {
        await waitFor(
          `node ${i} to tear down`,
          async () => {
            const a = await mesh.annotations(mesh.nodeName(i));
            const gone =
              !(await mesh.hasLink(i)) &&
              (await mesh.routes(i)).length === 0 &&
              (await mesh.rules(i)).length === 0;
            return gone && !(KEY in a) && !(ADDR in a) ? true : undefined;
          },
          WAIT,
        );
      }
      let ok: string | null = 'not run';
      const capture = await mesh.capture(async () => {
        ok = await mesh.ping(1, 2);
      });
      expect(ok).toBeNull();
      expect(await capture.packets(wireguardUdp())).toEqual([]);
      expect(await capture.packets(`icmp and src host ${podIp(1)} and dst host ${podIp(2)}`)).not.toEqual([]);
      expect(capture.raw.includes(Buffer.from(PING_PATTERN, 'hex'))).toBe(true);
    });

    it('comes back with the same keys when enabled again, encrypted', async () => {
      for (const i of INDEXES) await mesh.setFelixConfig(i, { wireguardEnabled: true });
      for (const i of INDEXES) await fullMesh(i);
      let ok: string | null = 'not run';
      const capture = await mesh.capture(async () => {
        ok = await mesh.ping(1, 3);
      });
      expect(ok).toBeNull();
      const wireguard = await capture.packets(wireguardUdp());
      expect(hasWireguardPacket(wireguard, 1, 3)).toBe(true);
      expect(hasWireguardPacket(wireguard, 3, 1)).toBe(true);
      expect(await capture.packets(mesh.podTraffic())).toEqual([]);
      expect(capture.raw.includes(Buffer.from(PING_PATTERN, 'hex'))).toBe(false);
    });

    it('keeps its key across a restart: exits 0 on SIGTERM, comes back with the same key', async () => {
      const agent = mesh.node(2).agent;
      expect(await agent?.stop()).toBe(0);
      mesh.startAgent(2);
      await waitFor(
        'node 2 to be back in the mesh',
        async () => ((await mesh.wgDump(2))?.peers.length === 2 ? true : undefined),
        WAIT,
      );
      expect((await mesh.annotations(mesh.nodeName(2)))[KEY]).toBe(keys.get(2));
      for (const i of INDEXES) await fullMesh(i);
      expect(await mesh.ping(2, 1)).toBeNull();
    });

    it('never logs a private key: no line any agent wrote in this run, from start to shutdown, holds one', async () => {
      for (const i of INDEXES) expect(await mesh.node(i).agent?.stop()).toBe(0);
      const keysOnDisk = await mesh.privateKeysOnDisk();
      expect(keysOnDisk).toHaveLength(2 * INDEXES.length);
      // The collection covers every node from its first log line to its last.
      const nodesThatLogged = (msg: string) =>
        [...new Set(mesh.agentLines.filter((l) => l.line.includes(msg)).map((l) => l.node))].sort();
      expect(nodesThatLogged('WireGuard key ready')).toEqual(INDEXES);
      expect(nodesThatLogged('wireguard stopped')).toEqual(INDEXES);
      expect(privateKeyLeaks(mesh.agentLines, keysOnDisk)).toEqual([]);
    });
  });
});
