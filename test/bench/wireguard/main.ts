// npm run bench:wireguard [-- --peers 1000,5000 --changes 200 --ip-mode channel,process --cpu-hogs 1
//                            --rotations 10 --rotation-pps 1000]   (needs root)
//
// What it models: one node of an N+1-node cluster turning WireGuard on. From the list of N peer
// Nodes (each with a key, a host address and a pod CIDR) to a fully programmed device: peer
// table computed, device created (kernel WireGuard if available, else wireguard-go), N peers
// configured, N+1 routes and the rule installed — the same FamilyReconciler alp-node runs, minus
// the API server. Then a periodic full resync of the unchanged device, and --changes times one
// Node added and removed again (delta applies; p50/p90/p99 of each), and RSS. Targets: 5,000
// peers ≤ 2 s full; one node added or removed p99 ≤ 50 ms with the other core busy.
//
// Load: --cpu-hogs busy-loop processes (default 1: on a two-core machine, the other core) run
// beside that measurement from start to end, so the numbers are those of a busy node.
// --ip-mode: `channel` sends route/rule changes through one long-lived `ip -batch` child (what
// alp-node does); `process` starts one `ip` per change (the old way), for comparison.
// --peers 0 skips this leg.
//
// Then, when envtest's binaries are there, the key-rotation leg (rotation.ts): packets lost
// between two pods while a node rotates its key (--rotations, 0 skips it).
//
// The parent process creates a scratch network namespace and re-runs this file inside it, so
// nothing touches the host's network; addresses come from 198.18.0.0/15 (RFC 2544, reserved for
// benchmarks), and no packet is ever sent (no keepalives, no traffic).
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { silentLogger } from '../../../daemon/log.js';
import { computeWireguardConfig } from '../../../wireguard/core/config.js';
import { Dataplane } from '../../../wireguard/shell/dataplane.js';
import type { IpBatchMode } from '../../../wireguard/shell/ip-batch.js';
import { generateKeyPair } from '../../../wireguard/core/keys.js';
import { computePeerTable } from '../../../wireguard/core/peer-table.js';
import { FamilyReconciler, type ReconcileInputs } from '../../../wireguard/shell/reconciler.js';
import { createRunner, DEFAULT_WG_SOCKET_DIR } from '../../../wireguard/shell/runner.js';
import { percentile, report, rssMiB, type BenchRow } from '../bench-report.js';
import { measureRotations } from './rotation.js';
import { syntheticNode } from './synthetic-nodes.js';

const { values } = parseArgs({
  options: {
    peers: { type: 'string', default: '1000,5000' },
    changes: { type: 'string', default: '200' },
    'ip-mode': { type: 'string', default: 'channel,process' },
    'cpu-hogs': { type: 'string', default: '1' },
    rotations: { type: 'string', default: '10' },
    'rotation-pps': { type: 'string', default: '1000' },
    inside: { type: 'string' },
  },
});
const peerCounts = (values.peers ?? '')
  .split(',')
  .map(Number)
  .filter((n) => n > 0);
const changeRuns = Number(values.changes);
const ipModes = (values['ip-mode'] ?? '').split(',').map((m) => {
  if (m !== 'channel' && m !== 'process') throw new Error(`--ip-mode: ${m} is not channel or process`);
  return m as IpBatchMode;
});
const cpuHogs = Number(values['cpu-hogs']);
const rotations = Number(values.rotations);
const rotationPps = Number(values['rotation-pps']);

interface Measurement {
  readonly peers: number;
  readonly ipMode: IpBatchMode;
  readonly implementation: string;
  readonly peerTableMs: number;
  readonly fullMs: number;
  readonly resyncMs: number;
  readonly add: Percentiles;
  readonly remove: Percentiles;
  readonly changeCpu: Percentiles;
  readonly ipChildren: number;
  readonly teardownMs: number;
  readonly rssMiB: number;
  readonly wireguardGoRssMiB: number;
}

interface Percentiles {
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
}

function percentiles(samples: number[]): Percentiles {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted[sorted.length - 1] ?? NaN,
  };
}

async function measureInside(peers: number, ipMode: IpBatchMode, workDir: string): Promise<Measurement> {
  const log = silentLogger();
  // `ip netns exec` gave this process its own mount namespace: a private /var/run/wireguard lets
  // the benchmark use the default socket directory, as alp-node does on a real node.
  execFileSync('mkdir', ['-p', DEFAULT_WG_SOCKET_DIR]);
  execFileSync('mount', ['-t', 'tmpfs', 'tmpfs', DEFAULT_WG_SOCKET_DIR]);
  const runner = createRunner({ log, secretDir: workDir });
  let reconciler: FamilyReconciler | null = null;
  const dataplane = new Dataplane(
    runner,
    log,
    'auto',
    () => reconciler?.requestResync('device died'),
    ipMode,
  );
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

  // One node joins, then leaves again: each a delta apply (one peer, one route).
  const adds: number[] = [];
  const removes: number[] = [];
  // alp-node's own CPU per change: what a busy machine stretches into wall time.
  const changeCpu: number[] = [];
  const childrenBefore = dataplane.ipBatches[4].childrenStarted;
  for (let i = 0; i < changeRuns; i++) {
    const joined = [...nodes, syntheticNode(peers + 1 + (i % 100), generateKeyPair().publicKey)];
    adds.push(
      await timed(async () => {
        reconciler.update(inputs(joined));
        await reconciler.idle();
      }),
    );
    changeCpu.push(cpuMs);
    if (i === 0 && (await dataplane.readDump('wireguard.cali'))?.peers.length !== peers + 1)
      throw new Error('the added node is not a peer');
    removes.push(
      await timed(async () => {
        reconciler.update(inputs(nodes));
        await reconciler.idle();
      }),
    );
    changeCpu.push(cpuMs);
  }
  const last = (await dataplane.readDump('wireguard.cali'))?.peers.length;
  if (last !== peers) throw new Error(`device has ${last} peers after the changes, want ${peers}`);
  if (durations.filter((d) => d.kind === 'delta').length !== 2 * changeRuns)
    throw new Error('a change was not a delta apply');
  const ipChildren = dataplane.ipBatches[4].childrenStarted - childrenBefore;
  const list = nodes;

  const rss = process.memoryUsage().rss / 2 ** 20;
  const wgGo = wireguardGoPid();
  const wgRss = wgGo === null ? NaN : rssMiB(wgGo);
  const teardown = await timed(async () => {
    reconciler.update(inputs(list, disabled));
    await reconciler.idle();
  });
  await reconciler.close();
  await dataplane.close();
  return {
    peers,
    ipMode,
    implementation: wgGo === null ? 'kernel' : 'wireguard-go',
    peerTableMs,
    fullMs: full,
    resyncMs: resync,
    add: percentiles(adds),
    remove: percentiles(removes),
    changeCpu: percentiles(changeCpu),
    ipChildren,
    teardownMs: teardown,
    rssMiB: rss,
    wireguardGoRssMiB: wgRss,
  };
}

/** CPU time (user + system) this process spent in the timed calls, in ms. */
let cpuMs = 0;

async function timed(fn: () => Promise<void>): Promise<number> {
  const t = performance.now();
  const cpu = process.cpuUsage();
  await fn();
  const used = process.cpuUsage(cpu);
  cpuMs = (used.user + used.system) / 1000;
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

/** Busy loops beside the measurement, so it runs on a loaded machine. */
function startCpuHogs(count: number): ChildProcess[] {
  return Array.from({ length: count }, () =>
    spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }),
  );
}

async function runParent(): Promise<void> {
  if (process.getuid?.() !== 0) {
    console.error('bench:wireguard needs root (it creates a network namespace and a WireGuard device)');
    process.exit(2);
  }
  const ns = `alp-bench-${process.pid}`;
  const workDir = mkdtempSync(join(tmpdir(), 'alp-wg-bench-'));
  const rows: BenchRow[] = [];
  const hogs = startCpuHogs(peerCounts.length > 0 ? cpuHogs : 0);
  try {
    execFileSync('ip', ['netns', 'add', ns]);
    execFileSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    for (const peers of peerCounts) {
      for (const ipMode of ipModes) {
        const child = spawnSync(
          'ip',
          [
            'netns',
            'exec',
            ns,
            process.execPath,
            // Node's own flags (e.g. --cpu-prof) reach the measured process too.
            ...process.execArgv,
            fileURLToPath(import.meta.url),
            '--inside',
            workDir,
            '--peers',
            String(peers),
            '--ip-mode',
            ipMode,
            '--changes',
            String(changeRuns),
          ],
          { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 16 * 1024 * 1024 },
        );
        if (child.status !== 0)
          throw new Error(`measurement for ${peers} peers (${ipMode}) failed (exit ${child.status})`);
        const m = JSON.parse(child.stdout.trim().split('\n').pop() as string) as Measurement;
        const ms = (p: Percentiles) => `${fmt(p.p50)} / ${fmt(p.p90)} / ${fmt(p.p99)}`;
        rows.push({
          peers: m.peers,
          'ip changes': m.ipMode === 'channel' ? 'one ip child' : 'ip per change',
          device: m.implementation,
          'peer table ms': m.peerTableMs,
          'full sync ms': m.fullMs,
          'resync (no change) ms': m.resyncMs,
          'add 1 node p50/p90/p99 ms': ms(m.add),
          'remove 1 node p50/p90/p99 ms': ms(m.remove),
          'worst change ms': Math.max(m.add.max, m.remove.max),
          'alp-node CPU per change p50/p99 ms': `${fmt(m.changeCpu.p50)} / ${fmt(m.changeCpu.p99)}`,
          'ip processes for the changes': m.ipChildren,
          'teardown ms': m.teardownMs,
          // The reconciler runs inside this measuring process (with the synthetic Node list and
          // the benchmark's bookkeeping), not in an alp-node process: this is that process's RSS.
          'bench process RSS MiB (reconciler in it)': m.rssMiB,
          'wireguard-go RSS MiB': m.wireguardGoRssMiB,
        });
      }
    }
  } finally {
    for (const hog of hogs) hog.kill('SIGKILL');
    spawnSync('ip', ['netns', 'del', ns]);
    rmSync(workDir, { recursive: true, force: true });
  }
  if (rows.length > 0)
    report('wireguard', rows, {
      targets: '5,000 peers: full sync <= 2000 ms, add or remove 1 node p99 <= 50 ms under load',
      changes: changeRuns,
      load: `${cpuHogs} busy-loop process(es) beside the benchmark`,
      loadAverage: loadavg()
        .map((l) => l.toFixed(1))
        .join(' '),
    });
  if (rotations <= 0) return;
  const rotation = await measureRotations(rotations, rotationPps);
  if ('unavailable' in rotation) {
    console.warn(`key rotation leg skipped: ${rotation.unavailable}`);
    return;
  }
  report('wireguard-rotation', rotation.rows, {
    what: 'packets lost while one node rotates its key under steady pod traffic (no CPU hog)',
    loadAverage: loadavg()
      .map((l) => l.toFixed(1))
      .join(' '),
  });
}

function fmt(ms: number): string {
  return ms.toFixed(1);
}

if (values.inside !== undefined) {
  const workDir = values.inside;
  measureInside(peerCounts[0] as number, ipModes[0] as IpBatchMode, workDir).then(
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
  runParent().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err instanceof Error ? err.stack : String(err));
      process.exit(1);
    },
  );
}
