// Key rotation end to end: two `bin/alp-node` processes in network namespaces against the envtest
// API server, pods on each node talking over TCP and UDP (both ways) while first one node
// rotates on request (the annotation) and then the other (SIGUSR2), and finally on an interval.
// What a user would check: the TCP stream survives with every byte in order, UDP flows again
// under the new keys, the underlay carries nothing but WireGuard throughout, peers use the new
// key, the key file holds it, and the request annotation is gone. Needs root.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithApiServer } from '../harness/envtest/api-server-gate.js';
import { waitFor } from '../harness/kube.js';
import { describeAsRoot } from '../harness/netns.js';
import { ANNOTATION_ROTATE_KEY } from '../../wireguard/shell/key-rotation.js';
import { Mesh, podCidr, podIp, wireguardUdp } from './mesh-fixture.js';
import { startTcpStream, startUdpStream, type TcpResult, type UdpResult } from './pod-traffic.js';

const KEY = 'projectcalico.org/WireguardPublicKey';
const WAIT = { timeoutMs: 30_000, intervalMs: 50 };
/** The TCP stream's bytes as a run that encrypted traffic cannot contain by chance. */
const TCP_PATTERN = Buffer.from(Array.from({ length: 48 }, (_, i) => i));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The text of every file in a state directory. */
async function readStateDir(dir: string): Promise<string[]> {
  const names = await readdir(dir);
  return Promise.all(names.map((n) => readFile(join(dir, n), 'utf8').catch(() => '')));
}

describeAsRoot('WireGuard key rotation (root, network namespaces)', () => {
  describeWithApiServer('key rotation against the API server', (api) => {
    let mesh: Mesh;
    /** Each node's private key before the rotations (read from its key file). */
    const oldPrivate = new Map<number, string>();

    const publishedKey = async (i: number): Promise<string | undefined> =>
      (await mesh.annotations(mesh.nodeName(i)))[KEY];

    /** Node i's device and its peer agree on key `k` for node i, and node i's key file holds it. */
    const meshUses = (i: number, k: string) =>
      waitFor(
        `node ${i}'s key ${k.slice(0, 6)} on its device, its peer and its key file`,
        async () => {
          const other = i === 1 ? 2 : 1;
          const own = await mesh.wgDump(i);
          const peer = (await mesh.wgDump(other))?.peers.find((p) => p.allowedIps.includes(podCidr(i)));
          return own?.publicKey === k && peer?.publicKey === k && (await mesh.publicKeyFromFile(i)) === k
            ? true
            : undefined;
        },
        WAIT,
      ).catch((err: unknown) => {
        throw new Error(`${String(err)}\n${mesh.logTail(i, 60)}`);
      });

    /** Waits for node i to publish a key other than `old`; returns it. */
    const newKeyOf = (i: number, old: string) =>
      waitFor(
        `node ${i} to publish a new key`,
        async () => {
          const k = await publishedKey(i);
          return k !== undefined && k !== old ? k : undefined;
        },
        WAIT,
      ).catch((err: unknown) => {
        throw new Error(`${String(err)}\n${mesh.logTail(i)}`);
      });

    beforeAll(async () => {
      mesh = new Mesh(api.kubeConfig(), api.kubeconfigPath, Number(new URL(api.server).port));
      await mesh.build(2);
      for (const i of [1, 2]) mesh.startAgent(i);
      for (const i of [1, 2]) {
        const k = await waitFor(`node ${i} to publish its key`, () => publishedKey(i), WAIT);
        await meshUses(i, k);
      }
    });

    afterAll(async () => {
      await mesh?.destroy();
    });

    it('rotates on request (annotation, then SIGUSR2) under TCP and UDP streams: TCP intact, only WireGuard on the underlay', async () => {
      const old = new Map<number, string>();
      for (const i of [1, 2]) {
        old.set(i, (await publishedKey(i)) as string);
        const keyFile = join(mesh.node(i).stateDir, 'wireguard-v4.key');
        oldPrivate.set(i, (await readFile(keyFile, 'utf8')).trim());
      }
      let tcp: TcpResult | null = null;
      let udp: UdpResult | null = null;
      let udpBack: UdpResult | null = null;
      const rotated = new Map<number, string>();
      const capture = await mesh.capture(async () => {
        const [p1, p2] = [mesh.node(1).pod.ns, mesh.node(2).pod.ns];
        const tcpStream = await startTcpStream(p1, p2, podIp(2), 9001);
        const udpStream = await startUdpStream(p1, p2, podIp(2), 9000);
        const udpBackStream = await startUdpStream(p2, p1, podIp(1), 9002);
        await sleep(1_000);

        await mesh.setAnnotations(mesh.nodeName(1), { [ANNOTATION_ROTATE_KEY]: 'test-request-1' });
        rotated.set(1, await newKeyOf(1, old.get(1) as string));
        await meshUses(1, rotated.get(1) as string);
        await waitFor(
          'the rotation request to be removed',
          async () =>
            ANNOTATION_ROTATE_KEY in (await mesh.annotations(mesh.nodeName(1))) ? undefined : true,
          WAIT,
        );
        await sleep(1_000);

        process.kill(mesh.node(2).agent?.child.pid as number, 'SIGUSR2');
        rotated.set(2, await newKeyOf(2, old.get(2) as string));
        await meshUses(2, rotated.get(2) as string);
        await sleep(1_000);

        tcp = await tcpStream.stop();
        udp = await udpStream.stop();
        udpBack = await udpBackStream.stop();
      });
      console.info('traffic across two key rotations', { tcp, udp, udpBack });

      expect(tcp).toMatchObject({ isIntact: true, error: null });
      expect((tcp as unknown as TcpResult).received).toBeGreaterThan(0);
      for (const u of [udp, udpBack] as unknown as UdpResult[]) {
        expect(u.received).toBeGreaterThan(0);
        // Whatever was lost, the stream ran again under the new keys until the end.
        expect(u.lost).toBeLessThan(u.sent);
      }
      // Only WireGuard carried the pods' traffic: none of it crossed the underlay in the clear.
      expect(await capture.packets(wireguardUdp())).not.toEqual([]);
      expect(await capture.packets(mesh.podTraffic())).toEqual([]);
      expect(capture.raw.includes(TCP_PATTERN)).toBe(false);
      for (const i of [1, 2]) {
        expect(rotated.get(i)).not.toBe(old.get(i));
        // One request, one rotation (the Node events during it still show the annotation).
        const rotations = (mesh.node(i).agent?.lines ?? []).filter((l) =>
          l.includes('rotated the WireGuard key'),
        );
        expect(rotations).toHaveLength(1);
      }
    });

    it('leaves the old private keys nowhere: not in the state directory, not in any log line', async () => {
      for (const i of [1, 2]) {
        const files = await readStateDir(mesh.node(i).stateDir);
        expect(files.some((text) => text.includes(oldPrivate.get(i) as string))).toBe(false);
        const current = (await readFile(join(mesh.node(i).stateDir, 'wireguard-v4.key'), 'utf8')).trim();
        const logs = (mesh.node(i).agent?.lines ?? []).join('\n');
        for (const secret of [oldPrivate.get(i) as string, current])
          expect(logs.includes(secret)).toBe(false);
      }
      const udp = await startUdpStream(mesh.node(2).pod.ns, mesh.node(1).pod.ns, podIp(1), 9003);
      await sleep(1_000);
      expect((await udp.stop()).received).toBeGreaterThan(0);
    });

    it('rotates on its interval (--wireguard-key-rotation-interval), counted from the key file’s age', async () => {
      const agent = mesh.node(1).agent;
      expect(await agent?.stop()).toBe(0);
      const before = (await publishedKey(1)) as string;
      // The key file is older than 2 s: the first rotation is due at once, the next 2 s later.
      mesh.startAgent(1, ['--wireguard-key-rotation-interval', '2s']);
      const first = await newKeyOf(1, before);
      await meshUses(1, first);
      const second = await newKeyOf(1, first);
      await meshUses(1, second);
      expect(await mesh.node(1).agent?.stop()).toBe(0);
      mesh.startAgent(1);
      await meshUses(1, (await publishedKey(1)) as string);
    });
  });
});
