// npm run bench:wireguard [-- --peers 1000,5000 --incremental 20]   (needs root)
//
// What it models: one node of an N+1-node cluster turning WireGuard on. From the list of N peer
// Nodes (each with a key, a host address and a pod CIDR) to a fully programmed device: peer
// table computed, device created (kernel WireGuard if available, else wireguard-go), N peers
// configured, N+1 routes and the rule installed — the same FamilyReconciler alp-node runs, minus
// the API server. Then one Node added (delta apply, median of --incremental runs), a periodic
// full resync of the unchanged device, and RSS. Targets: 5,000 peers ≤ 2 s full,
// ≤ 50 ms incremental.
//
// The parent process creates a scratch network namespace and re-runs this file inside it, so
// nothing touches the host's network; addresses come from 198.18.0.0/15 (RFC 2544, reserved for
// benchmarks), and no packet is ever sent (no keepalives, no traffic).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { silentLogger } from '../../../daemon/log.js';
import { computeWireguardConfig } from '../../../wireguard/core/config.js';
import { Dataplane } from '../../../wireguard/shell/dataplane.js';
import { generateKeyPair } from '../../../wireguard/core/keys.js';
import { computePeerTable } from '../../../wireguard/core/peer-table.js';
import { FamilyReconciler, type ReconcileInputs } from '../../../wireguard/shell/reconciler.js';
import { createRunner, DEFAULT_WG_SOCKET_DIR } from '../../../wireguard/shell/runner.js';
import { percentile, report, rssMiB, type BenchRow } from '../bench-report.js';
import { syntheticNode } from './synthetic-nodes.js';

const { values } = parseArgs({
  options: {
    peers: { type: 'string', default: '1000,5000' },
    incremental: { type: 'string', default: '20' },
    inside: { type: 'string' },
  },
});
const peerCounts = (values.peers ?? '').split(',').map(Number);
const incrementalRuns = Number(values.incremental);

interface Measurement {
  readonly peers: number;
  readonly implementation: string;
  readonly peerTableMs: number;
  readonly fullMs: number;
  readonly resyncMs: number;
  readonly incrementalMedianMs: number;
  readonly incrementalP90Ms: number;
  readonly teardownMs: number;
  readonly rssMiB: number;
  readonly wireguardGoRssMiB: number;
}

async function measureInside(peers: number, workDir: string): Promise<Measurement> {
  const log = silentLogger();
  // `ip netns exec` gave this process its own mount namespace: a private /var/run/wireguard lets
  // the benchmark use the default socket directory, as alp-node does on a real node.
  execFileSync('mkdir', ['-p', DEFAULT_WG_SOCKET_DIR]);
  execFileSync('mount', ['-t', 'tmpfs', 'tmpfs', DEFAULT_WG_SOCKET_DIR]);
  const runner = createRunner({ log, secretDir: workDir });
  let reconciler: FamilyReconciler | null = null;
  const dataplane = new Dataplane(runner, log, 'auto', () => reconciler?.requestResync('device died'));
  const self = generateKeyPair();
  const durations: { kind: string; ms: number }[] = [];
  reconciler = new FamilyReconciler(4, 'self', self, dataplane, log, {
    onApplied: (_status, kind, ms) => durations.push({ kind, ms }),
    onError: (_family, err) => {
      throw err instanceof Error ? err : new Error(String(err));
    },
  });
  const enabled = computeWireguardConfig(
    { layers: [{ source: 'default', name: 'default', spec: { wireguardEnabled: true } }], env: {} },
    null,
  ).config;
  const disabled = { ...enabled, enabledV4: false };
  const nodes = [
    syntheticNode(0, null),
    ...Array.from({ length: peers }, (_, i) => syntheticNode(i + 1, generateKeyPair().publicKey)),
  ];
  const inputs = (list: typeof nodes, config = enabled): ReconcileInputs => ({
    config,
    nodes: list,
    blocks: [],
  });

  const t0 = performance.now();
  const table = computePeerTable({
    family: 4,
    selfName: 'self',
    selfPublicKey: self.publicKey,
    nodes,
    blocks: [],
    listenPort: 51820,
    persistentKeepaliveSeconds: 0,
    hostEncryptionEnabled: false,
  });
  const peerTableMs = performance.now() - t0;
  if (table.peers.length !== peers) throw new Error(`peer table has ${table.peers.length} peers`);

  const full = await timed(async () => {
    reconciler.update(inputs(nodes));
    await reconciler.idle();
  });
  const dump = await dataplane.readDump('wireguard.cali');
  if (dump?.peers.length !== peers) throw new Error(`device has ${dump?.peers.length} peers, want ${peers}`);
  const routes = execFileSync('ip', ['-4', 'route', 'show', 'table', '1'], { encoding: 'utf8' })
    .trim()
    .split('\n');
  if (routes.length !== peers + 1) throw new Error(`table 1 has ${routes.length} routes, want ${peers + 1}`);

  const resync = await timed(async () => {
    reconciler.requestResync('bench');
    await reconciler.idle();
  });

  const incremental: number[] = [];
  let list = nodes;
  for (let i = 0; i < incrementalRuns; i++) {
    list = [...list, syntheticNode(peers + 1 + i, generateKeyPair().publicKey)];
    incremental.push(
      await timed(async () => {
        reconciler.update(inputs(list));
        await reconciler.idle();
      }),
    );
  }
  const last = (await dataplane.readDump('wireguard.cali'))?.peers.length;
  if (last !== peers + incrementalRuns) throw new Error(`device has ${last} peers after adds`);
  if (durations.filter((d) => d.kind === 'delta').length !== incrementalRuns)
    throw new Error('an add was not a delta apply');

  const rss = process.memoryUsage().rss / 2 ** 20;
  const wgGo = wireguardGoPid();
  const wgRss = wgGo === null ? NaN : rssMiB(wgGo);
  const teardown = await timed(async () => {
    reconciler.update(inputs(list, disabled));
    await reconciler.idle();
  });
  await reconciler.close();
  await dataplane.close();
  incremental.sort((a, b) => a - b);
  return {
    peers,
    implementation: wgGo === null ? 'kernel' : 'wireguard-go',
    peerTableMs,
    fullMs: full,
    resyncMs: resync,
    incrementalMedianMs: percentile(incremental, 50),
    incrementalP90Ms: percentile(incremental, 90),
    teardownMs: teardown,
    rssMiB: rss,
    wireguardGoRssMiB: wgRss,
  };
}

async function timed(fn: () => Promise<void>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

function wireguardGoPid(): number | null {
  const out = spawnSync('pgrep', ['-P', String(process.pid), '-f', 'wireguard-go'], {
    encoding: 'utf8',
  }).stdout.trim();
  // The runner's unshare/sh wrapper execs into wireguard-go, so the child itself is it.
  const pid = out.split('\n').filter(Boolean)[0];
  return pid === undefined ? null : Number(pid);
}

function runParent(): void {
  if (process.getuid?.() !== 0) {
    console.error('bench:wireguard needs root (it creates a network namespace and a WireGuard device)');
    process.exit(2);
  }
  const ns = `alp-bench-${process.pid}`;
  const workDir = mkdtempSync(join(tmpdir(), 'alp-wg-bench-'));
  const rows: BenchRow[] = [];
  try {
    execFileSync('ip', ['netns', 'add', ns]);
    execFileSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    for (const peers of peerCounts) {
      const child = spawnSync(
        'ip',
        [
          'netns',
          'exec',
          ns,
          process.execPath,
          fileURLToPath(import.meta.url),
          '--inside',
          workDir,
          '--peers',
          String(peers),
          '--incremental',
          String(incrementalRuns),
        ],
        { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 16 * 1024 * 1024 },
      );
      if (child.status !== 0) throw new Error(`measurement for ${peers} peers failed (exit ${child.status})`);
      const m = JSON.parse(child.stdout.trim().split('\n').pop() as string) as Measurement;
      rows.push({
        peers: m.peers,
        device: m.implementation,
        'peer table ms': m.peerTableMs,
        'full sync ms': m.fullMs,
        'resync (no change) ms': m.resyncMs,
        'add 1 node p50 ms': m.incrementalMedianMs,
        'add 1 node p90 ms': m.incrementalP90Ms,
        'teardown ms': m.teardownMs,
        'agent RSS MiB': m.rssMiB,
        'wireguard-go RSS MiB': m.wireguardGoRssMiB,
      });
    }
  } finally {
    spawnSync('ip', ['netns', 'del', ns]);
    rmSync(workDir, { recursive: true, force: true });
  }
  report('wireguard', rows, {
    targets: '5,000 peers: full sync <= 2000 ms, add 1 node <= 50 ms',
    incrementalRuns,
  });
}

if (values.inside !== undefined) {
  const workDir = values.inside;
  measureInside(peerCounts[0] as number, workDir).then(
    (m) => {
      process.stdout.write(`${JSON.stringify(m)}\n`);
      process.exit(0);
    },
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
      process.exit(1);
    },
  );
} else {
  runParent();
}
