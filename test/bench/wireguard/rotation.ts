// The key-rotation leg of bench:wireguard: what a rotation costs the traffic between two pods.
// Two `bin/alp-node` (wireguard-go devices) in network namespaces against a private envtest API
// server, as in test/wireguard/key-rotation.test.ts. For each rotation (alternating nodes,
// triggered by SIGUSR2) and traffic pattern: fresh streams between the pods at `pps` datagrams
// per second, one second of steady traffic, the rotation, until both nodes use the new key, one
// more second, then the counts. Loss is reported separately for the UDP stream the rotating node
// sends and the one it receives.
import { startEnvtest } from '../../harness/envtest/envtest.js';
import { waitFor } from '../../harness/kube.js';
import { Mesh, podCidr, podIp } from '../../wireguard/mesh-fixture.js';
import {
  startTcpStream,
  startUdpStream,
  type TcpResult,
  type UdpResult,
} from '../../wireguard/pod-traffic.js';
import { percentile, type BenchRow } from '../bench-report.js';

const KEY = 'projectcalico.org/WireguardPublicKey';
const WAIT = { timeoutMs: 30_000, intervalMs: 20 };

type Scenario = 'both ways' | 'only from the rotating node' | 'only to the rotating node';
const SCENARIOS: readonly Scenario[] = [
  'both ways',
  'only from the rotating node',
  'only to the rotating node',
];

interface OneRotation {
  readonly scenario: Scenario;
  readonly rotatingSends: UdpResult | null;
  readonly rotatingReceives: UdpResult | null;
  readonly tcp: TcpResult | null;
  readonly rotationMs: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * `rotations` rotations per scenario: traffic both ways (UDP each way and a TCP stream), and
 * UDP one way only, from or to the rotating node (no traffic the other way to carry a
 * handshake along: the case where the handshakes started on purpose matter, see key-rotation.ts).
 */
export async function measureRotations(
  rotations: number,
  pps: number,
): Promise<{ rows: BenchRow[] } | { unavailable: string }> {
  let env;
  try {
    env = await startEnvtest({ build: false });
  } catch (err) {
    return { unavailable: err instanceof Error ? err.message : String(err) };
  }
  const mesh = new Mesh(env.kubeConfig(), env.kubeconfigPath, Number(new URL(env.server).port));
  const results: OneRotation[] = [];
  const perTick = Math.max(1, Math.round(pps / 200));
  let port = 9100;
  try {
    await mesh.build(2);
    for (const i of [1, 2]) mesh.startAgent(i, ['--log-level', 'info']);
    for (const i of [1, 2]) await usesKey(mesh, i, await published(mesh, i));
    for (let r = 0; r < rotations; r++) {
      for (const scenario of SCENARIOS) {
        const rotating = (r % 2) + 1;
        const other = 3 - rotating;
        const [rNs, oNs] = [mesh.node(rotating).pod.ns, mesh.node(other).pod.ns];
        const isOut = scenario !== 'only to the rotating node';
        const isIn = scenario !== 'only from the rotating node';
        const sends = isOut ? await startUdpStream(rNs, oNs, podIp(other), port++, perTick) : null;
        const receives = isIn ? await startUdpStream(oNs, rNs, podIp(rotating), port++, perTick) : null;
        const tcp = scenario === 'both ways' ? await startTcpStream(rNs, oNs, podIp(other), port++) : null;
        await sleep(1_000);
        const old = await published(mesh, rotating);
        const t0 = performance.now();
        process.kill(mesh.node(rotating).agent?.child.pid as number, 'SIGUSR2');
        const next = await waitFor(
          `node ${rotating} to publish a new key`,
          async () => {
            const k = await published(mesh, rotating);
            return k !== old ? k : undefined;
          },
          WAIT,
        );
        await usesKey(mesh, rotating, next);
        const rotationMs = performance.now() - t0;
        await sleep(1_000);
        const result: OneRotation = {
          scenario,
          rotatingSends: (await sends?.stop()) ?? null,
          rotatingReceives: (await receives?.stop()) ?? null,
          tcp: (await tcp?.stop()) ?? null,
          rotationMs,
        };
        results.push(result);
        console.error(JSON.stringify({ rotation: r, rotating, ...result }));
      }
    }
  } finally {
    await mesh.destroy();
    await env.stop();
  }
  const rows: BenchRow[] = [];
  const spread = (values: number[]): string => {
    const sorted = [...values].sort((a, b) => a - b);
    return `${Math.round(percentile(sorted, 50))} / ${Math.round(sorted[sorted.length - 1] as number)}`;
  };
  for (const scenario of SCENARIOS) {
    const of = results.filter((r) => r.scenario === scenario);
    const udpRow = (what: string, pick: (r: OneRotation) => UdpResult | null): void => {
      const list = of.map(pick).filter((u): u is UdpResult => u !== null);
      if (list.length === 0) return;
      rows.push({
        traffic: scenario,
        stream: `${what} (UDP, ${pps}/s)`,
        rotations: list.length,
        'sent per window': Math.round(list.reduce((sum, u) => sum + u.sent, 0) / list.length),
        'lost p50 / max': spread(list.map((u) => u.lost)),
        'longest silence p50 / max ms': spread(list.map((u) => u.maxGapMs)),
      });
    };
    udpRow('from the rotating node', (r) => r.rotatingSends);
    udpRow('to the rotating node', (r) => r.rotatingReceives);
    const tcps = of.map((r) => r.tcp).filter((t): t is TcpResult => t !== null);
    if (tcps.length > 0) {
      rows.push({
        traffic: scenario,
        stream: 'from the rotating node (TCP)',
        rotations: tcps.length,
        'sent per window': `${Math.round(tcps.reduce((sum, t) => sum + t.sent, 0) / tcps.length / 1024)} KiB`,
        'lost p50 / max': `${tcps.filter((t) => !t.isIntact || t.error !== null).length} streams broken or short`,
        'longest silence p50 / max ms': spread(tcps.map((t) => t.maxGapMs)),
      });
    }
  }
  rows.push({
    traffic: 'all',
    stream: 'SIGUSR2 → both nodes on the new key (ms)',
    rotations: results.length,
    'sent per window': '',
    'lost p50 / max': '',
    'longest silence p50 / max ms': spread(results.map((r) => r.rotationMs)),
  });
  return { rows };
}

async function published(mesh: Mesh, i: number): Promise<string> {
  return waitFor(
    `node ${i}'s key annotation`,
    async () => (await mesh.annotations(mesh.nodeName(i)))[KEY],
    WAIT,
  );
}

/** Node i's device and its peer both use key `k` for node i. */
async function usesKey(mesh: Mesh, i: number, k: string): Promise<void> {
  await waitFor(
    `node ${i} and its peer to use key ${k.slice(0, 6)}`,
    async () => {
      const own = await mesh.wgDump(i);
      const peer = (await mesh.wgDump(3 - i))?.peers.find((p) => p.allowedIps.includes(podCidr(i)));
      return own?.publicKey === k && peer?.publicKey === k ? true : undefined;
    },
    WAIT,
  );
}
