// `npm run bench:dataplane [-- flags]` (root): alp-node's L3/L4 enforcement on one node of a
// cluster, and with `--compare-felix <binary>` the same scenario with Calico Felix (policy-only,
// nftables mode) in the same run, one daemon after the other, with ratios alp-node / Felix.
//
// The cluster lives in a private envtest API server: --pods pods, --local-pods of them on the
// node (real network namespaces with Calico-named veths), the rest on other nodes as API objects
// only, and --policies Kubernetes NetworkPolicies (see cluster.ts). For each daemon, on a fresh
// node namespace:
//
//  1. datapath with no daemon at all (iperf3 TCP throughput, connect/close rate), pod → pod
//     through the node;
//  2. start → fully enforced: from spawning the daemon until a probe matrix (bench-client to up
//     to 20 policy-selected local pods on a port no policy allows, to a remote pod its egress
//     policy does not allow, and to the allowed server port) shows every expected verdict in two
//     rounds in a row;
//  3. idle CPU and RSS of the daemon process (from /proc, after a settle period);
//  4. policy edit → enforced: bench-edit's port is switched through the API server; time from
//     the API's answer to the first probe that gets through (probes every 5 ms);
//  5. a remote pod joins a selected set: bench-joiner gets the label bench-egress allows; time
//     from the API's answer to the first probe from bench-client that reaches it;
//  6. datapath with the policies;
//  7. every policy deleted (one collection call per namespace, in parallel; timed from the first
//     request) → all probes get through, then
//     the datapath with the daemon and no policies: the baseline the policy cost is measured on.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { nsRun, spawnInNamespace, startLoopbackRelay, type NsProcess } from '../../harness/netns.js';
import { REPO_ROOT, waitFor } from '../../harness/process.js';
import { cpuSeconds, percentile, report, rssMiB, type BenchRow } from '../bench-report.js';
import { startBenchApi, type BenchApi } from './api.js';
import { dataplaneCluster, isSelected, PORTS, type DataplaneCluster } from './cluster.js';
import {
  ALP_NODE_METRICS_PORT,
  milestones,
  MILESTONES,
  processTree,
  startDaemon,
  type DaemonKind,
} from './daemons.js';
import { netbenchBinary, Prober, type Verdict } from './probe.js';
import { createNodeTopology } from './topology.js';

const USAGE = `usage: npm run bench:dataplane -- [--pods N] [--local-pods N] [--policies N]
       [--iterations N] [--idle-seconds S] [--datapath-seconds S] [--datapath-repeats N]
       [--compare-felix <calico-felix binary>] [--only alp-node|felix]
       [--starts N] [--start-only] [--idle-each] [--node-options='<options for alp-node's node>']
       [--alp-node-bin <launcher>[,<launcher>...]]
Defaults are issue 11's: one node with 110 local pods in a 5,000-pod cluster, 500 policies.
--starts N measures start → enforced N times (the daemon stopped and the node's nftables ruleset
flushed between them; the rows give the median; start n's log is kept as
bench-results/dataplane-<kind>-start-<n>.log, the last one's as dataplane-<kind>.log); --start-only
stops there. --idle-each measures idle CPU and RSS after every start (5 s to settle, then --idle-seconds), so builds compared with
--alp-node-bin get their idle figures interleaved too. --node-options go to
alp-node's node process, e.g. --node-options='--cpu-prof --cpu-prof-dir=/tmp/prof'. With several
--alp-node-bin launchers (builds to compare), the starts take them in turn and each one's median
start is printed.
Needs root, nft, iperf3, go; with --compare-felix also iptables and ipset.`;

const { values: flags } = parseArgs({
  options: {
    pods: { type: 'string', default: '5000' },
    'local-pods': { type: 'string', default: '110' },
    policies: { type: 'string', default: '500' },
    // 100, so that p99 is not simply the slowest sample.
    iterations: { type: 'string', default: '100' },
    'idle-seconds': { type: 'string', default: '30' },
    'datapath-seconds': { type: 'string', default: '4' },
    'datapath-repeats': { type: 'string', default: '3' },
    'compare-felix': { type: 'string' },
    only: { type: 'string' },
    starts: { type: 'string', default: '1' },
    'start-only': { type: 'boolean', default: false },
    'idle-each': { type: 'boolean', default: false },
    'node-options': { type: 'string' },
    'alp-node-bin': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (flags.help === true) {
  console.log(USAGE);
  process.exit(0);
}
const num = (name: keyof typeof flags): number => {
  const v = Number(flags[name]);
  if (!Number.isFinite(v) || v <= 0) {
    console.error(`--${name} must be a positive number\n${USAGE}`);
    process.exit(2);
  }
  return v;
};
const opts = {
  pods: num('pods'),
  localPods: num('local-pods'),
  policies: num('policies'),
  iterations: num('iterations'),
  idleSeconds: num('idle-seconds'),
  datapathSeconds: num('datapath-seconds'),
  datapathRepeats: num('datapath-repeats'),
  starts: num('starts'),
  isStartOnly: flags['start-only'] === true,
  isIdleEach: flags['idle-each'] === true,
  nodeOptions: (flags['node-options'] ?? '').split(/\s+/).filter((o) => o !== ''),
  alpNodeBins: (flags['alp-node-bin'] ?? '').split(',').filter((b) => b !== ''),
};

interface Datapath {
  readonly gbps: number;
  readonly connPerSec: number;
}

interface Figures {
  startMs?: number;
  /** Every start's time to enforced, its daemon's CPU seconds by then, and its log milestones. */
  starts: {
    ms: number;
    cpuSeconds: number;
    milestones: Record<string, number>;
    bin?: string;
    /** With --idle-each. */
    idle?: { cpuPercent: number; rssMiB: number };
  }[];
  idleCpuPercent?: number;
  idleRssMiB?: number;
  idleTreeRssMiB?: number;
  editMs: number[];
  joinMs: number[];
  deleteAllMs?: number;
  /** alp-node's own alp_dataplane_* metrics at the end, one line each. */
  programming?: string;
  /** alp-node's incremental transactions during the edits and joins, from its debug log. */
  transactions?: TransactionTimes;
  /** Start-up milestones from the daemon's own log, ms after the spawn. */
  milestones: Record<string, number>;
  noDaemon?: Datapath;
  withPolicies?: Datapath;
  noPolicies?: Datapath;
  errors: string[];
}

interface TransactionTimes {
  /** From the change reaching the dataplane to nft's answer. */
  totalMs: number[];
  renderMs: number[];
  nftMs: number[];
}

/** The "nftables transaction applied" debug lines of kind incremental logged from `sinceEpochMs`. */
function transactionTimes(lines: readonly string[], sinceEpochMs: number): TransactionTimes {
  const out: TransactionTimes = { totalMs: [], renderMs: [], nftMs: [] };
  for (const line of lines) {
    if (!line.includes('"nftables transaction applied"')) continue;
    const r = JSON.parse(line) as {
      time?: number;
      kind?: string;
      totalMs?: number;
      renderMs?: number;
      nftMs?: number;
    };
    if (r.kind !== 'incremental' || (r.time ?? 0) < sinceEpochMs) continue;
    out.totalMs.push(r.totalMs ?? NaN);
    out.renderMs.push(r.renderMs ?? NaN);
    out.nftMs.push(r.nftMs ?? NaN);
  }
  return out;
}

interface Expected {
  readonly address: string;
  readonly want: Verdict;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (xs: readonly number[]) =>
  percentile(
    [...xs].sort((a, b) => a - b),
    50,
  );

function probeMatrix(cluster: DataplaneCluster): Expected[] {
  // Only pods some policy selects are closed on port 80 (at full scale, all but bench-client).
  const locals = cluster.pods.filter(
    (p) => p.isLocal && p !== cluster.client && isSelected(cluster.policies, p),
  );
  const step = Math.max(1, Math.floor(locals.length / 20));
  const denied = locals.filter((_, i) => i % step === 0).slice(0, 20);
  return [
    ...denied.map((p) => ({ address: `${p.ip}:${PORTS.denied}`, want: 'blocked' as const })),
    { address: `${cluster.joiner.ip}:${PORTS.edit}`, want: 'blocked' },
    { address: `${cluster.server.ip}:${PORTS.connect}`, want: 'reached' },
  ];
}

/**
 * Probe rounds every 50 ms (each probe may wait 80 ms); resolves with the send time of the first
 * of two rounds in a row that both show every expected verdict.
 */
async function untilMatrix(
  prober: Prober,
  expected: readonly Expected[],
  giveUpMs: number,
  isAlive: () => boolean = () => true,
): Promise<number> {
  const rounds: { sentAt: number; ok?: boolean }[] = [];
  const start = performance.now();
  for (;;) {
    for (let i = 0; i + 1 < rounds.length; i++) {
      const [a, b] = [rounds[i]!, rounds[i + 1]!];
      if (a.ok === undefined || b.ok === undefined) break;
      if (a.ok && b.ok) return a.sentAt;
    }
    if (performance.now() - start > giveUpMs)
      throw new Error(`probe matrix not as expected after ${giveUpMs} ms`);
    if (!isAlive()) throw new Error('the daemon exited');
    const round: { sentAt: number; ok?: boolean } = { sentAt: performance.now() };
    rounds.push(round);
    void Promise.all(expected.map((e) => prober.probe(e.address, 80))).then(
      (rs) => (round.ok = rs.every((r, k) => r.verdict === expected[k]!.want)),
    );
    await sleep(50);
  }
}

async function measureDatapath(clientNs: string, serverIp: string, netbench: string): Promise<Datapath> {
  const gbps: number[] = [];
  const cps: number[] = [];
  for (let r = 0; r < opts.datapathRepeats; r++) {
    const iperf = JSON.parse(
      await nsRun(clientNs, [
        'iperf3',
        '-c',
        serverIp,
        '-p',
        String(PORTS.iperf),
        '-t',
        String(opts.datapathSeconds),
        '-O',
        '1',
        '-J',
      ]),
    ) as { end: { sum_received: { bits_per_second: number } } };
    gbps.push(iperf.end.sum_received.bits_per_second / 1e9);
    const crr = JSON.parse(
      await nsRun(clientNs, [
        netbench,
        'crr',
        `${serverIp}:${PORTS.connect}`,
        String(opts.datapathSeconds),
        '2',
      ]),
    ) as { connections: number; errors: number; seconds: number };
    cps.push(crr.connections / crr.seconds);
  }
  return { gbps: median(gbps), connPerSec: median(cps) };
}

/**
 * alp-node's programming metrics (time from a change reaching the dataplane to its nft
 * transaction applied, by kind; errors; resyncs), so a slow row can be placed before or after nft.
 */
async function programmingMetrics(nodeNs: string): Promise<string> {
  try {
    const text = await nsRun(nodeNs, ['curl', '-sf', `http://127.0.0.1:${ALP_NODE_METRICS_PORT}/metrics`]);
    return text
      .split('\n')
      .filter((l) =>
        /^alp_dataplane_(programming_seconds_(sum|count)|programming_errors_total|resyncs_total)/.test(l),
      )
      .join('; ');
  } catch (err) {
    return `metrics not read: ${err instanceof Error ? err.message : String(err)}`;
  }
}

/** Idle CPU and RSS of a daemon that enforces everything: 5 s to settle, then --idle-seconds. */
async function measureIdle(pid: number): Promise<{ cpuPercent: number; rssMiB: number }> {
  await sleep(5_000);
  const cpu0 = cpuSeconds(pid);
  await sleep(opts.idleSeconds * 1000);
  return { cpuPercent: ((cpuSeconds(pid) - cpu0) / opts.idleSeconds) * 100, rssMiB: rssMiB(pid) };
}

async function timedFlips(
  n: number,
  set: (on: boolean) => Promise<void>,
  prober: Prober,
  address: string,
): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    await set(true);
    const answered = performance.now();
    const reached = await prober.until(address, 'reached', { periodMs: 5, timeoutMs: 100 });
    out.push(reached - answered);
    await set(false);
    await prober.until(address, 'blocked', { periodMs: 10, timeoutMs: 100, confirm: 3 });
    await sleep(50);
  }
  return out;
}

async function runScenario(
  kind: DaemonKind,
  cluster: DataplaneCluster,
  api: BenchApi,
  relay: Awaited<ReturnType<typeof startLoopbackRelay>>,
  netbench: string,
  felixBinary: string | undefined,
): Promise<Figures> {
  const fig: Figures = { editMs: [], joinMs: [], errors: [], milestones: {}, starts: [] };
  const workDir = mkdtempSync(join(tmpdir(), `alp-bench-dp-${kind}-`));
  const local = cluster.pods.filter((p) => p.isLocal);
  console.error(`[${kind}] building the node: ${local.length} pod namespaces`);
  const topo = await createNodeTopology(local, [cluster.joiner.ip]);
  const procs: NsProcess[] = [];
  let prober: Prober | undefined;
  let daemon: ReturnType<typeof startDaemon> | undefined;
  const step = async (what: string, f: () => Promise<void>) => {
    try {
      await f();
    } catch (err) {
      const msg = `${what}: ${err instanceof Error ? err.message : String(err)}`;
      console.error(`[${kind}] ${msg}`);
      fig.errors.push(msg);
    }
  };
  try {
    procs.push(await relay.expose(topo.nodeNs));
    const clientNs = topo.podNs.get(cluster.client.name)!;
    const serverNs = topo.podNs.get(cluster.server.name)!;
    const iperf = spawnInNamespace(serverNs, ['iperf3', '-s', '--forceflush', '-p', String(PORTS.iperf)]);
    procs.push(iperf, spawnInNamespace(serverNs, [netbench, 'serve', String(PORTS.connect)]));
    await waitFor('iperf3 -s', () => iperf.lines.some((l) => l.includes('Server listening')));
    prober = await Prober.start(clientNs, netbench);
    const p = prober;
    const matrix = probeMatrix(cluster);
    const open = matrix.map((e) => ({ ...e, want: 'reached' as const }));
    await untilMatrix(p, open, 30_000);

    if (!opts.isStartOnly) {
      console.error(`[${kind}] datapath without a daemon`);
      await step('datapath, no daemon', async () => {
        fig.noDaemon = await measureDatapath(clientNs, cluster.server.ip, netbench);
      });
    }

    let isEnforcing = false;
    for (let n = 1; n <= opts.starts; n++) {
      if (daemon !== undefined) {
        // A stopped daemon leaves its rules in force: flush them, so the next start begins open.
        await daemon.stop();
        mkdirSync(join(REPO_ROOT, 'bench-results'), { recursive: true });
        writeFileSync(
          join(REPO_ROOT, 'bench-results', `dataplane-${kind}-start-${n - 1}.log`),
          daemon.proc.lines.join('\n') + '\n',
        );
        await nsRun(topo.nodeNs, ['nft', 'flush', 'ruleset']);
        await untilMatrix(p, open, 30_000);
      }
      console.error(`[${kind}] starting (${n} of ${opts.starts})`);
      // Each start from an empty state directory, as a first start on a node.
      const stateDir = join(workDir, `start-${n}`);
      mkdirSync(stateDir);
      const bin =
        opts.alpNodeBins.length === 0 ? undefined : opts.alpNodeBins[(n - 1) % opts.alpNodeBins.length];
      daemon = startDaemon(kind, {
        nodeNs: topo.nodeNs,
        kubeconfigPath: api.env.kubeconfigPath,
        workDir: stateDir,
        nodeOptions: opts.nodeOptions,
        ...(bin === undefined ? {} : { alpNodeBin: bin }),
        ...(felixBinary === undefined ? {} : { felixBinary }),
      });
      const d = daemon;
      isEnforcing = false;
      await step('start → enforced', async () => {
        const at = await untilMatrix(p, matrix, 180_000, () => d.proc.child.exitCode === null);
        const cpu = cpuSeconds(d.pid);
        const rss = rssMiB(d.pid);
        isEnforcing = true;
        await sleep(1_000); // for the milestones' log lines
        fig.starts.push({
          ms: at - d.startedAt,
          cpuSeconds: cpu,
          milestones: milestones(d),
          ...(bin === undefined ? {} : { bin }),
        });
        console.error(
          `[${kind}] ${bin ?? ''} enforced after ${(at - d.startedAt).toFixed(0)} ms, ${cpu.toFixed(2)} s of CPU, ` +
            `RSS ${rss.toFixed(0)} MiB, ` +
            JSON.stringify(milestones(d)),
        );
      });
      if (!isEnforcing) break;
      if (opts.isIdleEach) {
        const idle = await measureIdle(d.pid);
        fig.starts.at(-1)!.idle = idle;
        console.error(
          `[${kind}] ${bin ?? ''} idle: CPU ${idle.cpuPercent.toFixed(1)} %, RSS ${idle.rssMiB.toFixed(0)} MiB ` +
            `(load average ${loadavg()
              .map((l) => l.toFixed(2))
              .join(' ')})`,
        );
      }
    }
    fig.startMs = median(fig.starts.map((s) => s.ms));
    for (const bin of opts.alpNodeBins) {
      const of = fig.starts.filter((s) => s.bin === bin);
      if (of.length === 0) continue;
      const ms = median(of.map((s) => s.ms));
      const cpu = median(of.map((s) => s.cpuSeconds));
      const idle = of.flatMap((s) => (s.idle === undefined ? [] : [s.idle.rssMiB]));
      console.error(
        `[${kind}] ${bin}: median start → enforced ${ms.toFixed(0)} ms, CPU ${cpu.toFixed(2)} s` +
          (idle.length === 0 ? '' : `, idle RSS ${median(idle).toFixed(0)} MiB`) +
          ` (${of.length} starts)`,
      );
    }
    const d = daemon!;
    if (!isEnforcing) {
      console.error(`[${kind}] last lines of its log:\n${d.proc.lines.slice(-30).join('\n')}`);
      return fig;
    }
    if (opts.isStartOnly) return fig;

    console.error(`[${kind}] idle for ${opts.idleSeconds} s (after 5 s to settle)`);
    const idle = fig.starts.at(-1)?.idle ?? (await measureIdle(d.pid));
    fig.idleCpuPercent = idle.cpuPercent;
    fig.idleRssMiB = idle.rssMiB;
    fig.idleTreeRssMiB = processTree(d.pid).reduce((sum, pid) => sum + (rssMiB(pid) || 0), 0);

    console.error(`[${kind}] ${opts.iterations} policy edits`);
    const target = `${cluster.target.ip}:${PORTS.edit}`;
    let editsFrom = Date.now();
    await step('policy edit', async () => {
      await p.until(target, 'blocked', { periodMs: 10, confirm: 3 });
      editsFrom = Date.now();
      fig.editMs = await timedFlips(opts.iterations, (on) => api.setEditOpen(on), p, target);
    });
    console.error(`[${kind}] ${opts.iterations} remote pod joins`);
    const joiner = `${cluster.joiner.ip}:${PORTS.edit}`;
    await step('remote pod joins', async () => {
      await p.until(joiner, 'blocked', { periodMs: 10, confirm: 3 });
      fig.joinMs = await timedFlips(opts.iterations, (on) => api.setJoined(on), p, joiner);
      if (kind === 'alp-node') fig.transactions = transactionTimes(d.proc.lines, editsFrom);
    });

    console.error(`[${kind}] datapath with ${cluster.policies.length} policies`);
    await step('datapath, policies', async () => {
      fig.withPolicies = await measureDatapath(clientNs, cluster.server.ip, netbench);
    });
    console.error(`[${kind}] deleting every policy`);
    await step('delete all policies', async () => {
      const t0 = performance.now();
      await api.deletePolicies();
      const answered = performance.now();
      const at = await untilMatrix(p, open, 60_000);
      fig.deleteAllMs = at - t0;
      console.error(`[${kind}] (the deletes took ${(answered - t0).toFixed(0)} ms at the API)`);
    });
    await step('datapath, no policies', async () => {
      fig.noPolicies = await measureDatapath(clientNs, cluster.server.ip, netbench);
    });
    return fig;
  } finally {
    if (daemon !== undefined) {
      // The median of every start's, each label on its own.
      for (const [label] of MILESTONES[kind]) {
        const at = fig.starts.map((s) => s.milestones[label]).filter((v) => v !== undefined);
        if (at.length > 0) fig.milestones[label] = median(at);
      }
      if (kind === 'alp-node') fig.programming = await programmingMetrics(topo.nodeNs);
      await daemon.stop();
      const dir = join(REPO_ROOT, 'bench-results');
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, `dataplane-${kind}.log`), daemon.proc.lines.join('\n') + '\n');
    }
    await prober?.stop();
    for (const proc of procs) await proc.stop(5_000);
    await topo.destroy();
    rmSync(workDir, { recursive: true, force: true });
  }
}

function rows(results: Map<DaemonKind, Figures>, policies: number): BenchRow[] {
  const alp = results.get('alp-node');
  const fx = results.get('felix');
  const out: BenchRow[] = [];
  const add = (row: string, goal: string, unit: string, pick: (f: Figures) => number | undefined) => {
    const a = alp === undefined ? undefined : pick(alp);
    const b = fx === undefined ? undefined : pick(fx);
    out.push({
      row,
      unit,
      ...(alp === undefined ? {} : { 'alp-node': a ?? NaN }),
      ...(fx === undefined ? {} : { felix: b ?? NaN }),
      ...(alp !== undefined && fx !== undefined ? { 'alp/felix': (a ?? NaN) / (b ?? NaN) } : {}),
      goal,
    });
  };
  const p = (xs: number[], q: number) =>
    xs.length === 0
      ? undefined
      : percentile(
          [...xs].sort((x, y) => x - y),
          q,
        );
  const ratio = (x?: number, y?: number) => (x === undefined || y === undefined ? undefined : (100 * x) / y);
  add('start → fully enforced (probe matrix)', '≤ 1000', 'ms', (f) => f.startMs);
  add('  daemon CPU by then', '', 's', (f) =>
    f.starts.length === 0 ? undefined : median(f.starts.map((s) => s.cpuSeconds)),
  );
  for (const [label] of MILESTONES['alp-node'])
    add(`start → ${label} (its log)`, '', 'ms', (f) => f.milestones[label]);
  add('policy edit → enforced p50', '', 'ms', (f) => p(f.editMs, 50));
  add('policy edit → enforced p99', '≤ 100', 'ms', (f) => p(f.editMs, 99));
  add('remote pod joins → enforced p50', '', 'ms', (f) => p(f.joinMs, 50));
  add('remote pod joins → enforced p99', '≤ 100', 'ms', (f) => p(f.joinMs, 99));
  const tx = (pick: (t: TransactionTimes) => number[], q: number) => (f: Figures) =>
    f.transactions === undefined ? undefined : p(pick(f.transactions), q);
  for (const [row, pick, q] of [
    ['edits and joins: change → in the kernel p50 (its log)', (t: TransactionTimes) => t.totalMs, 50],
    ['edits and joins: change → in the kernel p99 (its log)', (t: TransactionTimes) => t.totalMs, 99],
    ['  of which rendering p99', (t: TransactionTimes) => t.renderMs, 99],
    ['  of which nft p99', (t: TransactionTimes) => t.nftMs, 99],
  ] as const)
    add(row, '', 'ms', tx(pick, q));
  add(`delete all ${policies} policies (from the first request) → enforced`, '', 'ms', (f) => f.deleteAllMs);
  add('TCP throughput, no daemon', '', 'Gbit/s', (f) => f.noDaemon?.gbps);
  add('TCP throughput, daemon, 0 policies', '', 'Gbit/s', (f) => f.noPolicies?.gbps);
  add(`TCP throughput, ${policies} policies`, '', 'Gbit/s', (f) => f.withPolicies?.gbps);
  add(`throughput ${policies} policies / 0 policies`, '≥ 90', '%', (f) =>
    ratio(f.withPolicies?.gbps, f.noPolicies?.gbps),
  );
  add('new connections/s, no daemon', '', 'conn/s', (f) => f.noDaemon?.connPerSec);
  add('new connections/s, daemon, 0 policies', '', 'conn/s', (f) => f.noPolicies?.connPerSec);
  add(`new connections/s, ${policies} policies`, '', 'conn/s', (f) => f.withPolicies?.connPerSec);
  add(`conn/s ${policies} policies / 0 policies`, '≥ 80', '%', (f) =>
    ratio(f.withPolicies?.connPerSec, f.noPolicies?.connPerSec),
  );
  add('idle CPU (daemon process)', '', '% of a core', (f) => f.idleCpuPercent);
  add('idle RSS (daemon process)', '', 'MiB', (f) => f.idleRssMiB);
  add('idle RSS (daemon and its children)', '', 'MiB', (f) => f.idleTreeRssMiB);
  return out;
}

async function main(): Promise<void> {
  const felixBinary = flags['compare-felix'];
  const all: DaemonKind[] = felixBinary === undefined ? ['alp-node'] : ['alp-node', 'felix'];
  const kinds = all.filter((k) => flags.only === undefined || flags.only === k);
  const cluster = dataplaneCluster(opts);
  const netbench = netbenchBinary();
  const load: Record<string, string> = {
    before: loadavg()
      .map((l) => l.toFixed(2))
      .join(' '),
  };
  console.error(`filling the API server: ${cluster.pods.length} pods, ${cluster.policies.length} policies`);
  const api = await startBenchApi(cluster);
  console.error(`filled in ${(api.fillMs / 1000).toFixed(1)} s`);
  const sock = join(mkdtempSync(join(tmpdir(), 'alp-bench-dp-')), 'api.sock');
  const relay = await startLoopbackRelay(api.port, sock);
  const results = new Map<DaemonKind, Figures>();
  try {
    for (const [i, kind] of kinds.entries()) {
      if (i > 0) {
        await api.setJoined(false);
        await api.createPolicies();
      }
      results.set(kind, await runScenario(kind, cluster, api, relay, netbench, felixBinary));
      load[`after ${kind}`] = loadavg()
        .map((l) => l.toFixed(2))
        .join(' ');
    }
  } finally {
    await relay.close();
    await api.stop();
    rmSync(join(sock, '..'), { recursive: true, force: true });
  }
  const errors = [...results].flatMap(([k, f]) => f.errors.map((e) => `${k}: ${e}`));
  report('dataplane', rows(results, cluster.policies.length), {
    scale: `${opts.pods} pods (${opts.localPods} on the node), ${opts.policies} NetworkPolicies`,
    iterations: opts.iterations,
    'load average (1/5/15 min)': Object.entries(load)
      .map(([k, v]) => `${k}: ${v}`)
      .join('; '),
    ...(felixBinary === undefined ? {} : { felix: felixBinary }),
    ...(errors.length === 0 ? {} : { errors: errors.join(' | ') }),
    ...(results.get('alp-node')?.programming === undefined
      ? {}
      : { 'alp-node metrics at the end': results.get('alp-node')!.programming! }),
    samples: JSON.stringify(
      Object.fromEntries(
        [...results].map(([k, f]) => [
          k,
          { start: f.starts.map((s) => Math.round(s.ms)), edit: f.editMs, join: f.joinMs },
        ]),
      ),
    ),
  });
  if (errors.length > 0) process.exitCode = 1;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
