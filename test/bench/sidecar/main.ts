// npm run bench:sidecar [-- --compare <dikastes binary>] [--store one-policy|production|both]
//                         [--client h2load|node|both] [--duration-ms N] [--in-flight 1,64]
//                         [--node-flags='<flags for alp-mesh's node>'] [--in-process-only]
//                         [--floor] [--sync-runs 3] [--sync-only] [--also name=<command> ...]
//                         [--memory-probe]
// Runs alp-mesh's sidecar (and, with --compare, any Dikastes-compatible binary, e.g. Calico's
// Dikastes built from source) through the same stores, the same requests and the same load client
// in one run, and prints the ratios. Each sidecar is a real process fed over a real PolicySync
// stream by a Felix that sends the snapshot's bytes encoded once (bulk-felix.ts); its CPU and RSS are read from /proc/<its pid>, the client's CPU is
// reported beside it (all share the machine's cores). alp-mesh runs as deployed: bin/dikastes
// executed, with its launcher's V8 flags; --node-flags runs `node <flags> bin/dikastes` instead.
//   one-policy store: a GNP denying /admin in a Pass tier, an allow-all profile;
//     requests GET /public (allowed), GET /admin (denied: one decision-log line each).
//   production store: Calico's production-scale store (spec §6) behind a one-policy front tier
//     (testing/scale-store.ts): first policy allows; full walk where ports filter every rule;
//     full walk with ~2,400 IP-set lookups.
// Also, in-process on the production store: decide() per request, IP-set lookups, store apply.
// --floor adds a third server, floor-server.ts: the least a node:http2 server does to answer a
// gRPC unary call (no decoding, no decision), measured on the allowed requests only, so the
// sidecar's CPU per Check can be read against what Node's HTTP/2 layer costs by itself.
// --also adds more sidecars, measured in the same interleaved rounds but not in the ratio tables:
// e.g. main's build (--also main=<main>/bin/dikastes), or a wrapper script that sets V8 flags.
// --sync-only measures the snapshot → first verdict starts and RSS after sync: no load rows and
// no in-process figures.
// --memory-probe loads memory-probe.ts into every Node.js sidecar (NODE_OPTIONS) and prints where
// its memory is before any policy (the snapshot is then held back a second), after sync, now
// (after the load rows) and at its highest RSS: process.memoryUsage(), V8's heap spaces and
// smaps_rollup. The probe's 20 ms RSS reads cost a little CPU: compare CPU figures without it.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { loadExtAuthz, loadFelix } from '../../../proto/load.js';
import type { ToDataplane, ToDataplane__Output } from '../../../proto/gen/felix/ToDataplane.js';
import type {
  CheckRequest,
  CheckRequest__Output,
} from '../../../proto/gen/envoy/service/auth/v3/CheckRequest.js';
import { parseIp, type Ip } from '../../../calico/ip.js';
import { PolicyStore } from '../../../policy/policy-store.js';
import { createIpSet, type IpSet } from '../../../policy/ip-set.js';
import { decide } from '../../../policy/decide.js';
import { flowFromCheckRequest } from '../../../policy/flow.js';
import { buildScaleBenchStore, type ScaleRequest } from '../../../testing/scale-store.js';
import { httpCheckRequest } from '../../harness/ext-authz-client.js';
import { denyAdminSnapshot } from '../../harness/felix-messages.js';
import { REPO_ROOT } from '../../harness/process.js';
import { BulkFelix, encodeSyncMessages } from './bulk-felix.js';
import { cpuSeconds, peakRssMiB, percentile, report, rssMiB, type BenchRow } from '../bench-report.js';
import { CheckProbe, runH2Load, type LoadResult } from './h2-load.js';
import { hasH2load, runH2loadTool } from './h2load-tool.js';
import type { MemoryBreakdown } from './memory-probe.js';
import {
  alpMeshTarget,
  binaryTarget,
  floorTarget,
  startTarget,
  type RunningSidecar,
  type SidecarTarget,
} from './targets.js';

const { values } = parseArgs({
  options: {
    compare: { type: 'string' },
    store: { type: 'string', default: 'both' },
    scale: { type: 'string' },
    client: { type: 'string' },
    'duration-ms': { type: 'string', default: '5000' },
    'in-flight': { type: 'string', default: '1,64' },
    'node-flags': { type: 'string', default: '' },
    'in-process-only': { type: 'boolean', default: false },
    'sync-runs': { type: 'string', default: '3' },
    floor: { type: 'boolean', default: false },
    'sync-only': { type: 'boolean', default: false },
    also: { type: 'string', multiple: true, default: [] },
    'memory-probe': { type: 'boolean', default: false },
  },
});
const durationMs = Number(values['duration-ms']);
const inFlights = values['in-flight'].split(',').map(Number);
const syncRuns = Math.max(1, Number(values['sync-runs']));
// --scale simple|calico is the older spelling of --store.
const storeArg = { simple: 'one-policy', calico: 'production' }[values.scale ?? ''] ?? values.store;
if (!['one-policy', 'production', 'both'].includes(storeArg))
  throw new Error(`--store must be one-policy, production or both, not ${storeArg}`);

const memoryProbe = values['memory-probe'];

interface MemoryPoint {
  readonly target: string;
  readonly point: string;
  readonly at: MemoryBreakdown;
}
const memoryPoints: MemoryPoint[] = [];

/** Asks a probed sidecar for its breakdown now; also records its peak so far when `withPeak`. */
async function probeMemory(
  s: Pick<Started, 'target' | 'sidecar' | 'probeFile'>,
  point: string,
  withPeak = false,
): Promise<void> {
  if (s.probeFile === null) return;
  const before = existsSync(s.probeFile) ? readFileSync(s.probeFile, 'utf8').length : 0;
  process.kill(s.sidecar.pid, 'SIGUSR2');
  const deadline = performance.now() + 10_000;
  for (;;) {
    const text = existsSync(s.probeFile) ? readFileSync(s.probeFile, 'utf8') : '';
    const line = text.slice(before);
    if (line.endsWith('\n')) {
      const { now, peak } = JSON.parse(line) as { now: MemoryBreakdown; peak: MemoryBreakdown };
      memoryPoints.push({ target: s.target.name, point, at: now });
      if (withPeak) memoryPoints.push({ target: s.target.name, point: 'peak RSS', at: peak });
      return;
    }
    if (performance.now() > deadline) throw new Error(`${s.target.name}: no memory probe answer`);
    await new Promise((res) => setTimeout(res, 20));
  }
}

function memoryRow(p: MemoryPoint): BenchRow {
  const mib = (bytes: number | undefined) => (bytes ?? NaN) / 2 ** 20;
  const space = (name: string) => p.at.spaces[name];
  const rssKb = p.at.smaps['Rss'] ?? NaN;
  const anonKb = p.at.smaps['Anonymous'] ?? NaN;
  return {
    sidecar: p.target,
    point: p.point,
    'RSS MiB': mib(p.at.rss),
    'anon MiB': anonKb / 1024,
    'file MiB': (rssKb - anonKb) / 1024,
    'heapTotal MiB': mib(p.at.heapTotal),
    'heapUsed MiB': mib(p.at.heapUsed),
    'external MiB': mib(p.at.external),
    'arrayBuffers MiB': mib(p.at.arrayBuffers),
    'new space MiB (used)': `${mib(space('new_space')?.size).toFixed(1)} (${mib(space('new_space')?.used).toFixed(1)})`,
    'old space MiB (used)': `${mib(space('old_space')?.size).toFixed(1)} (${mib(space('old_space')?.used).toFixed(1)})`,
    'code MiB': mib(space('code_space')?.size),
    'large objects MiB': mib(space('large_object_space')?.size),
    'other spaces MiB': mib(
      Object.entries(p.at.spaces)
        .filter(([n]) => !['new_space', 'old_space', 'code_space', 'large_object_space'].includes(n))
        .reduce((sum, [, v]) => sum + v.size, 0),
    ),
  };
}

interface BenchStore {
  readonly name: string;
  readonly messages: ToDataplane[];
  readonly requests: ScaleRequest[];
}

function onePolicyStore(): BenchStore {
  return {
    name: 'one policy',
    messages: denyAdminSnapshot(),
    requests: [
      { name: 'allowed (GET /public)', request: httpCheckRequest({ path: '/public' }), expectedCode: 0 },
      { name: 'denied (GET /admin)', request: httpCheckRequest({ path: '/admin' }), expectedCode: 7 },
    ],
  };
}

function productionStore(): BenchStore {
  return { name: 'production', ...buildScaleBenchStore() };
}

interface LoadClient {
  readonly name: string;
  run(socket: string, request: CheckRequest, expectedCode: number, inFlight: number): Promise<LoadResult>;
}

const nodeClient: LoadClient = {
  name: 'node http2',
  run: (socket, request, expectedCode, n) => runH2Load(socket, request, expectedCode, n, durationMs),
};
const h2loadClient: LoadClient = {
  name: 'h2load',
  run: (socket, request, _expectedCode, n) => runH2loadTool(socket, request, n, durationMs),
};

async function chooseClients(): Promise<LoadClient[]> {
  const installed = await hasH2load();
  const want = values.client ?? (installed ? 'h2load' : 'node');
  if (want !== 'node' && !installed)
    throw new Error('h2load is not installed (apt-get install nghttp2-client)');
  if (want === 'h2load') return [h2loadClient];
  if (want === 'node') return [nodeClient];
  if (want === 'both') return [h2loadClient, nodeClient];
  throw new Error(`--client must be h2load, node or both, not ${want}`);
}

/** Wire round trip, so the in-process store sees exactly what the sidecar sees. */
function decoded(messages: ToDataplane[]): ToDataplane__Output[] {
  const m = loadFelix().felix.PolicySync.service.Sync;
  return messages.map((msg) => m.responseDeserialize(m.responseSerialize(msg)));
}

function decodedRequest(req: CheckRequest): CheckRequest__Output {
  const m = loadExtAuthz().envoy.service.auth.v3.Authorization.service.Check;
  return m.requestDeserialize(m.requestSerialize(req));
}

/** `fn` returns the milliseconds of the part it measures. */
function timesMs(runs: number, fn: () => number): number[] {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) times.push(fn());
  return times.sort((a, b) => a - b);
}

/** 10.a.b.c, the member at index `k` of the production store's 10.0.0.0/12 (its sets are contiguous runs). */
const memberAddress = (k: number): string => `10.${(k >> 16) & 0xff}.${(k >> 8) & 0xff}.${k & 0xff}`;

/**
 * The store with each set's members spread over 10.0.0.0/12 (index k → k × 0x9e3b1 mod 2^20, a
 * bijection), as pods' addresses are in a real cluster, so a set's address bounds span most of
 * the range and refuse little; and the lookups request from an address there that is in no set.
 */
function scatteredLookups(store: BenchStore): { messages: ToDataplane[]; request: ScaleRequest } {
  const used = new Set<number>();
  const scatter = (member: string): string => {
    const [, b, c, d] = member.split('/')[0]!.split('.').map(Number) as [number, number, number, number];
    const k = Number((BigInt((b << 16) | (c << 8) | d) * 0x9e3b1n) % (1n << 20n));
    used.add(k);
    return `${memberAddress(k)}/32`;
  };
  const messages = store.messages.map((m): ToDataplane => {
    const u = m.ipset_update;
    return u?.members == null ? m : { ipset_update: { ...u, members: u.members.map(scatter) } };
  });
  let stranger = (1 << 20) - 1;
  while (used.has(stranger)) stranger--;
  const lookups = store.requests.find((r) => r.name === 'full walk with IP-set lookups')!;
  const request = structuredClone(lookups.request);
  request.attributes!.source!.address!.socket_address!.address = memberAddress(stranger);
  return {
    messages,
    request: { ...lookups, name: `${lookups.name}, sets scattered, source among them`, request },
  };
}

/** In-process figures on the production store: apply, decide() per request, IP-set lookups. */
function inProcess(store: BenchStore): { rows: BenchRow[]; extra: Record<string, number> } {
  const wire = decoded(store.messages);
  const policyStore = new PolicyStore();
  const t0 = performance.now();
  for (const msg of wire) policyStore.apply(msg);
  const applyMs = performance.now() - t0;
  const scattered = scatteredLookups(store);
  const scatteredStore = new PolicyStore();
  for (const msg of decoded(scattered.messages)) scatteredStore.apply(msg);
  // Back to back, a walk finds the store in the CPU caches; in the sidecar, serving HTTP/2 and
  // allocating between Checks evicts it. The second row of each request touches 32 MiB first.
  const evictor = new Uint8Array(32 << 20);
  const evictCaches = (): void => {
    for (let i = 0; i < evictor.length; i += 64) evictor[i]!++;
  };
  const cases = [
    ...store.requests.map((r) => ({ r, on: policyStore })),
    { r: scattered.request, on: scatteredStore },
  ];
  const rows: BenchRow[] = cases.flatMap(({ r, on }) => {
    const req = decodedRequest(r.request);
    return [false, true].map((evict) => {
      let code = -1;
      const times = timesMs(300, () => {
        if (evict) evictCaches();
        const s = performance.now();
        code = decide(on, flowFromCheckRequest(req)).code;
        return performance.now() - s;
      });
      if (code !== r.expectedCode) throw new Error(`in-process ${r.name}: ${code}, want ${r.expectedCode}`);
      return {
        measure: `decide(): ${r.name}${evict ? ', caches evicted' : ''}`,
        runs: times.length,
        'p50 ms': percentile(times, 50),
        'p90 ms': percentile(times, 90),
        'p99 ms': percentile(times, 99),
      };
    });
  });
  // IP-set lookups: the store's own NET sets rebuilt, each looked up with a member and a stranger.
  const sets: IpSet[] = [];
  const hits: Ip[] = [];
  for (const msg of wire) {
    const u = msg.ipset_update;
    if (u == null || u.members.length === 0) continue;
    const set = createIpSet('NET');
    for (const m of u.members) set.add(m);
    sets.push(set);
    hits.push(parseIp(u.members[u.members.length >> 1]!.split('/')[0]!)!);
  }
  const miss = parseIp('192.0.2.10')!;
  const v6 = createIpSet('NET');
  for (let i = 0; i < 1000; i++) v6.add(`2001:db8:${i.toString(16)}::${(i * 7).toString(16)}/128`);
  for (let i = 0; i < 100; i++) v6.add(`2001:db8:ff${i.toString(16).padStart(2, '0')}::/48`);
  const v6Hit = parseIp('2001:db8:ff42::9')!;
  // The median of 7 timed batches of ~1M lookups each, after a warm-up: a single batch of 50k
  // (3 ms) was at the mercy of one GC or context switch, and read 61–202 ns for v6 in one hour.
  const perLookupNs = (fn: () => boolean, n: number): number => {
    let found = 0;
    const rounds = Math.max(1, Math.ceil(1_000_000 / n));
    for (let k = 0; k < rounds; k++) for (let i = 0; i < n; i++) if (fn()) found++; // warm-up
    const batches: number[] = [];
    for (let b = 0; b < 7; b++) {
      const s = process.hrtime.bigint();
      for (let k = 0; k < rounds; k++) for (let i = 0; i < n; i++) if (fn()) found++;
      batches.push(Number(process.hrtime.bigint() - s) / (rounds * n));
    }
    if (found < 0) throw new Error('unreachable');
    return percentile(
      batches.sort((a, b) => a - b),
      50,
    );
  };
  let i = 0;
  const extra = {
    'in-process store apply ms': applyMs,
    'NET v4 lookup, member ns': perLookupNs(
      () => sets[i++ % sets.length]!.containsIp(hits[i % sets.length]!),
      sets.length,
    ),
    'NET v4 lookup, no member ns': perLookupNs(() => sets[i++ % sets.length]!.containsIp(miss), sets.length),
    'NET v6 lookup (1,000 /128 + 100 /48) ns': perLookupNs(() => v6.containsIp(v6Hit), 1000),
  };
  return { rows, extra };
}

interface Measured {
  readonly target: string;
  readonly store: string;
  readonly request: string;
  readonly inFlight: number;
  readonly client: string;
  readonly load: LoadResult;
  readonly sidecarCpuUs: number;
}

interface TargetRun {
  readonly target: string;
  readonly store: string;
  /** Median over the fresh starts. */
  readonly snapshotToVerdictMs: number;
  readonly snapshotToVerdictAllMs: readonly number[];
  /** The sidecar's CPU over that span: median, and each start's. */
  readonly snapshotCpuMs: number;
  readonly snapshotCpuAllMs: readonly number[];
  readonly rssAfterSyncMiB: number;
  readonly peakRssMiB: number;
  readonly rssAfterLoadMiB: number;
}

/** Probes on one connection until the sidecar gives `r`'s expected answer. */
async function waitForVerdict(socket: string, r: ScaleRequest, timeoutMs: number): Promise<void> {
  const probe = new CheckProbe(socket);
  try {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const answer = await probe.check(r.request);
      if (answer?.grpcStatus === 0 && answer.code === r.expectedCode) return;
      if (performance.now() > deadline)
        throw new Error(
          `${r.name}: no ${r.expectedCode} answer within ${timeoutMs} ms (last ${JSON.stringify(answer)})`,
        );
      await new Promise((res) => setTimeout(res, 2));
    }
  } finally {
    probe.close();
  }
}

/** Each store's snapshot and InSync, encoded once for every fresh start. */
const encodedSnapshots = new WeakMap<BenchStore, Buffer>();
function snapshotBytes(store: BenchStore): Buffer {
  let bytes = encodedSnapshots.get(store);
  if (bytes === undefined) {
    bytes = encodeSyncMessages([...store.messages, { in_sync: {} }]);
    encodedSnapshots.set(store, bytes);
  }
  return bytes;
}

interface Started {
  readonly target: SidecarTarget;
  readonly dir: string;
  readonly felix: BulkFelix;
  readonly listen: string;
  readonly sidecar: RunningSidecar;
  /** Snapshot streamed → first correct verdict, ms. */
  readonly syncMs: number;
  /** The sidecar's own CPU time over the same span, ms (what the machine's load does not inflate). */
  readonly syncCpuMs: number;
  readonly rssAfterSyncMiB: number;
  /** Where the memory probe writes, when it is loaded. */
  readonly probeFile: string | null;
}

/**
 * Starts `target` on a fresh PolicySync server and waits for its first correct verdict. If that
 * fails, what was started is stopped and its directory (sockets, log) removed before rethrowing.
 */
async function startSynced(target: SidecarTarget, store: BenchStore): Promise<Started> {
  const dir = mkdtempSync(join(tmpdir(), 'alp-bench-sidecar-'));
  const felix = new BulkFelix(join(dir, 'felix.sock'));
  const spawned: { sidecar?: Started['sidecar'] } = {};
  try {
    return await syncFresh(target, store, dir, felix, spawned);
  } catch (err) {
    await spawned.sidecar?.stop().catch(() => {});
    await felix.stop().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

async function syncFresh(
  target: SidecarTarget,
  store: BenchStore,
  dir: string,
  felix: BulkFelix,
  spawned: { sidecar?: Started['sidecar'] },
): Promise<Started> {
  const probeFile = memoryProbe && target.isNode === true ? join(dir, 'memory.jsonl') : null;
  // Probed, the snapshot is held back until the sidecar's memory before any policy is read.
  const holdSnapshot = probeFile !== null && !target.answersOkOnly;
  felix.snapshot = holdSnapshot ? Buffer.alloc(0) : snapshotBytes(store);
  await felix.start();
  const listen = join(dir, 'dikastes.sock');
  const probe = join(REPO_ROOT, 'dist-test', 'test', 'bench', 'sidecar', 'memory-probe.js');
  const env =
    probeFile === null
      ? process.env
      : {
          ...process.env,
          NODE_OPTIONS: `--import=${pathToFileURL(probe).href}`,
          ALP_MEMORY_PROBE_OUT: probeFile,
        };
  const sidecar = await startTarget(target, listen, felix.socketPath, join(dir, 'sidecar.log'), env);
  spawned.sidecar = sidecar;
  // Snapshot streamed → first correct verdict: from the moment the stream opens.
  if (!target.answersOkOnly) await felix.waitForConnections(1, 60_000);
  if (holdSnapshot) {
    await new Promise((res) => setTimeout(res, 1000));
    await probeMemory({ target, sidecar, probeFile }, 'before policy');
    felix.send(snapshotBytes(store));
  }
  const t0 = performance.now();
  const cpu0 = cpuSeconds(sidecar.pid);
  await waitForVerdict(listen, store.requests[0]!, 120_000);
  const syncMs = performance.now() - t0;
  const syncCpuMs = (cpuSeconds(sidecar.pid) - cpu0) * 1000;
  const started = {
    target,
    dir,
    felix,
    listen,
    sidecar,
    syncMs,
    syncCpuMs,
    rssAfterSyncMiB: rssMiB(sidecar.pid),
    probeFile,
  };
  await probeMemory(started, 'after sync');
  return started;
}

async function stopStarted(s: Started): Promise<void> {
  await s.sidecar.stop();
  await s.felix.stop();
  rmSync(s.dir, { recursive: true, force: true });
}

/**
 * One store, every target, interleaved so that a change in the machine's load hits them alike:
 * `syncRuns` fresh starts per target, alternating, for the snapshot figure (median); then each
 * request × client × in-flight row is run on every target back to back.
 */
async function runStore(
  targets: readonly SidecarTarget[],
  store: BenchStore,
  clients: LoadClient[],
  measured: Measured[],
): Promise<TargetRun[]> {
  const syncTimes = new Map<string, number[]>(targets.map((t) => [t.name, []]));
  const syncCpu = new Map<string, number[]>(targets.map((t) => [t.name, []]));
  const running: Started[] = [];
  try {
    for (let round = 0; round < syncRuns; round++) {
      for (const target of targets) {
        const s = await startSynced(target, store);
        syncTimes.get(target.name)!.push(s.syncMs);
        syncCpu.get(target.name)!.push(s.syncCpuMs);
        console.log(
          `${target.name} | ${store.name} | snapshot → verdict ${s.syncMs.toFixed(0)} ms, ` +
            `${s.syncCpuMs.toFixed(0)} ms of its CPU (load average ${loadavg()[0]!.toFixed(1)})`,
        );
        if (round === syncRuns - 1) running.push(s);
        else await stopStarted(s);
      }
    }
    for (const r of values['sync-only'] ? [] : store.requests) {
      for (const s of running) {
        if (s.target.answersOkOnly && r.expectedCode !== 0) continue;
        await waitForVerdict(s.listen, r, 10_000);
        await runH2Load(s.listen, r.request, r.expectedCode, 8, 1000); // warm-up
      }
      for (const client of clients) {
        for (const inFlight of inFlights) {
          for (const s of running) {
            if (s.target.answersOkOnly && r.expectedCode !== 0) continue;
            const pid = s.sidecar.pid;
            const cpuBefore = cpuSeconds(pid);
            const load = await client.run(s.listen, r.request, r.expectedCode, inFlight);
            const sidecarCpuUs = ((cpuSeconds(pid) - cpuBefore) / load.checks) * 1e6;
            // h2load sees HTTP statuses only: the verdict is checked again after the run (the
            // store does not change during it, so every answer in between was this one).
            await waitForVerdict(s.listen, r, 10_000);
            const name = s.target.name;
            if (load.wrongAnswers > 0)
              throw new Error(`${name} ${store.name} ${r.name}: ${load.wrongAnswers} wrong answers`);
            measured.push({
              target: name,
              store: store.name,
              request: r.name,
              inFlight,
              client: client.name,
              load,
              sidecarCpuUs,
            });
            console.log(
              `${name} | ${store.name} | ${r.name} | ${inFlight} in flight | ${client.name}: ` +
                `${Math.round(load.checksPerSecond)}/s p50 ${load.p50Ms.toFixed(3)} ms, ` +
                `${sidecarCpuUs.toFixed(1)} µs CPU/Check, RSS ${rssMiB(pid).toFixed(0)} MiB ` +
                `(peak so far ${peakRssMiB(pid).toFixed(0)}) (load average ${loadavg()[0]!.toFixed(1)})`,
            );
          }
        }
      }
    }
    for (const s of running) await probeMemory(s, 'after the load rows', true);
    return running.map((s) => {
      const times = [...syncTimes.get(s.target.name)!].sort((a, b) => a - b);
      const cpu = [...syncCpu.get(s.target.name)!].sort((a, b) => a - b);
      return {
        snapshotCpuMs: percentile(cpu, 50),
        snapshotCpuAllMs: cpu,
        target: s.target.name,
        store: store.name,
        snapshotToVerdictMs: percentile(times, 50),
        snapshotToVerdictAllMs: times,
        rssAfterSyncMiB: s.rssAfterSyncMiB,
        peakRssMiB: peakRssMiB(s.sidecar.pid),
        rssAfterLoadMiB: rssMiB(s.sidecar.pid),
      };
    });
  } finally {
    for (const s of running) await stopStarted(s);
  }
}

function loadRow(m: Measured): BenchRow {
  return {
    sidecar: m.target,
    store: m.store,
    request: m.request,
    'in flight': m.inFlight,
    client: m.client,
    checks: m.load.checks,
    'checks/s': Math.round(m.load.checksPerSecond),
    'p50 ms': m.load.p50Ms,
    'p90 ms': m.load.p90Ms,
    'p99 ms': m.load.p99Ms,
    'sidecar CPU µs/check': m.sidecarCpuUs,
    'client CPU µs/check': (m.load.clientCpuS / m.load.checks) * 1e6,
  };
}

function ratioRows(measured: Measured[], ours: string, theirs: string): BenchRow[] {
  const key = (m: Measured) => `${m.store}|${m.request}|${m.inFlight}|${m.client}`;
  const other = new Map(measured.filter((m) => m.target === theirs).map((m) => [key(m), m]));
  return measured
    .filter((m) => m.target === ours && other.has(key(m)))
    .map((a) => {
      const b = other.get(key(a))!;
      return {
        store: a.store,
        request: a.request,
        'in flight': a.inFlight,
        client: a.client,
        [`${ours} CPU µs`]: a.sidecarCpuUs,
        [`${theirs} CPU µs`]: b.sidecarCpuUs,
        'CPU ratio': a.sidecarCpuUs / b.sidecarCpuUs,
        [`${ours} p50 ms`]: a.load.p50Ms,
        [`${theirs} p50 ms`]: b.load.p50Ms,
        'p50 ratio': a.load.p50Ms / b.load.p50Ms,
        'checks/s ratio': a.load.checksPerSecond / b.load.checksPerSecond,
      };
    });
}

async function main(): Promise<void> {
  const stores =
    storeArg === 'both'
      ? [onePolicyStore(), productionStore()]
      : [storeArg === 'production' ? productionStore() : onePolicyStore()];
  const nodeFlags = values['node-flags'].split(' ').filter((f) => f !== '');
  const targets = [alpMeshTarget(nodeFlags)];
  if (values.compare !== undefined) targets.push(binaryTarget('dikastes', values.compare));
  if (values.floor) targets.push(floorTarget());
  for (const spec of values.also) {
    const at = spec.indexOf('=');
    if (at <= 0) throw new Error(`--also wants name=<command>, not ${spec}`);
    targets.push({
      name: spec.slice(0, at),
      isNode: true, // alp-mesh's builds or wrappers of them, so far
      command: spec
        .slice(at + 1)
        .split(' ')
        .filter((w) => w !== ''),
    });
  }
  const clients = await chooseClients();
  const extra: Record<string, unknown> = {
    'load average at start': loadavg()
      .map((l) => l.toFixed(1))
      .join(' '),
    durationMs,
    clients: clients.map((c) => c.name).join(', '),
    ...(nodeFlags.length > 0 ? { 'alp-mesh node flags': nodeFlags.join(' ') } : {}),
  };

  const production = stores.find((s) => s.name === 'production');
  if (production !== undefined && !values['sync-only']) {
    const { rows, extra: e } = inProcess(production);
    report('sidecar-in-process', rows, e);
  }
  if (values['in-process-only']) return;

  const measured: Measured[] = [];
  const runs: TargetRun[] = [];
  for (const store of stores) runs.push(...(await runStore(targets, store, clients, measured)));
  extra['load average at end'] = loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');

  for (const r of runs) {
    if (targets.find((t) => t.name === r.target)?.answersOkOnly === true) {
      extra[`${r.target}: RSS after load MiB`] = r.rssAfterLoadMiB;
      continue;
    }
    extra[`${r.target} ${r.store}: snapshot → first correct verdict ms (median)`] = r.snapshotToVerdictMs;
    extra[`${r.target} ${r.store}: snapshot → first correct verdict, each start ms`] =
      r.snapshotToVerdictAllMs.map((t) => t.toFixed(0)).join(', ');
    extra[`${r.target} ${r.store}: sidecar CPU snapshot → verdict ms (median)`] = r.snapshotCpuMs;
    extra[`${r.target} ${r.store}: sidecar CPU snapshot → verdict, each start ms`] = r.snapshotCpuAllMs
      .map((t) => t.toFixed(0))
      .join(', ');
    extra[`${r.target} ${r.store}: RSS after sync MiB`] = r.rssAfterSyncMiB;
    extra[`${r.target} ${r.store}: peak RSS MiB`] = r.peakRssMiB;
  }
  report('sidecar', measured.map(loadRow), extra);
  if (memoryPoints.length > 0) report('sidecar-memory', memoryPoints.map(memoryRow));
  if (targets.length > 1) {
    const snapshotRatios: Record<string, number> = {};
    for (const store of stores) {
      const a = runs.find((r) => r.store === store.name && r.target === targets[0]!.name)!;
      const b = runs.find((r) => r.store === store.name && r.target === targets[1]!.name)!;
      snapshotRatios[`${store.name}: snapshot → verdict ratio`] =
        a.snapshotToVerdictMs / b.snapshotToVerdictMs;
      snapshotRatios[`${store.name}: snapshot → verdict sidecar CPU ratio`] =
        a.snapshotCpuMs / b.snapshotCpuMs;
      snapshotRatios[`${store.name}: peak RSS ratio`] = a.peakRssMiB / b.peakRssMiB;
    }
    report('sidecar-compare', ratioRows(measured, targets[0]!.name, targets[1]!.name), {
      compared: values.compare ?? targets[1]!.name,
      ...snapshotRatios,
    });
  }
  if (values.floor && values.compare !== undefined)
    report('sidecar-floor', ratioRows(measured, 'node:http2 floor', 'dikastes'));
}

await main();
