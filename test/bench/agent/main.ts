// npm run bench:agent [-- --pods 1000 --policies 500 --sidecars 5 --edits 100 --file-edits 30
//                        --kubernetes auto|on|off --scale auto|on|off|only --scale-runs 5
//                        --scale-edits 30]
// Models one node of a 1,000-pod cluster with 500 policies: alp-node's policy-sync agent in this
// process, real `dikastes server` processes for a few local pods. Measures
//   - policy edit → changed verdict at the sidecar (the change enters alp-node in memory; again
//     through the file datastore, i.e. including the file watch; and, when envtest's binaries are
//     there, through a real kube-apiserver and alp-node's informers);
//   - stream start → InSync for a new stream (full snapshot of a pod's policy);
//   - RSS of one sidecar (its own process), and of this process, which hosts the agent;
//   - at issue 11's scale (the dataplane benchmark's 5,000 pods, 110 local, 500 Kubernetes
//     NetworkPolicies, in its own API server): start → in sync, and API write → calculation done
//     for a policy edit and a remote pod joining (sync-scale.ts).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Registry } from 'prom-client';
import { stringify } from 'yaml';
import { FileDatastore } from '../../../agent/datastore/file.js';
import type { Datastore } from '../../../agent/datastore/object-tracker.js';
import { socketPath } from '../../../agent/pod-sockets.js';
import type { PolicySyncAgent } from '../../../agent/policy-sync-agent.js';
import { startPolicySyncAgent } from '../../../agent/policy-sync-agent.js';
import { silentLogger } from '../../../daemon/log.js';
import { EnvoyStandIn, httpCheckRequest } from '../../harness/ext-authz-client.js';
import { ChildRun, fileExists, waitFor } from '../../harness/process.js';
import { percentile, report, rssMiB, type BenchRow } from '../bench-report.js';
import { startKubernetesLeg } from './kubernetes-run.js';
import { MemoryDatastore } from './memory-datastore.js';
import { startBenchApi } from '../dataplane/api.js';
import { dataplaneCluster } from '../dataplane/cluster.js';
import { ISSUE_11_SCALE, measureSyncScale } from './sync-scale.js';
import { openProbeStream } from './probe-stream.js';
import type { BenchPod, SyntheticCluster } from './synthetic-cluster.js';
import { BENCH_NODE, editedPolicy, syntheticCluster } from './synthetic-cluster.js';

const { values } = parseArgs({
  options: {
    pods: { type: 'string', default: '1000' },
    policies: { type: 'string', default: '500' },
    sidecars: { type: 'string', default: '5' },
    edits: { type: 'string', default: '100' },
    'file-edits': { type: 'string', default: '30' },
    'stream-starts': { type: 'string', default: '30' },
    kubernetes: { type: 'string', default: 'auto' },
    scale: { type: 'string', default: 'auto' },
    'scale-runs': { type: 'string', default: '5' },
    'scale-edits': { type: 'string', default: '30' },
  },
});
const opts = {
  pods: Number(values.pods),
  policies: Number(values.policies),
  sidecars: Number(values.sidecars),
  edits: Number(values.edits),
  fileEdits: Number(values['file-edits']),
  streamStarts: Number(values['stream-starts']),
  kubernetes: values.kubernetes,
  scale: values.scale,
  scaleRuns: Number(values['scale-runs']),
  scaleEdits: Number(values['scale-edits']),
};
if (!['auto', 'on', 'off'].includes(opts.kubernetes)) throw new Error('--kubernetes must be auto, on or off');
if (!['auto', 'on', 'off', 'only'].includes(opts.scale))
  throw new Error('--scale must be auto, on, off or only');

interface Sidecar {
  readonly run: ChildRun;
  readonly envoy: EnvoyStandIn;
}

function startSidecar(dir: string, prefix: string, pod: BenchPod): Sidecar {
  const listen = join(dir, `${pod.name}.sock`);
  const run = new ChildRun('dikastes', [
    'server',
    '-l',
    listen,
    '-d',
    socketPath(prefix, pod.uid),
    '--log-level',
    'warn',
  ]);
  return { run, envoy: new EnvoyStandIn(listen) };
}

async function ready(s: Sidecar): Promise<void> {
  await waitFor('sidecar readiness', () => s.envoy.ready(), 60_000);
}

function summary(measure: string, times: number[]): BenchRow {
  times.sort((a, b) => a - b);
  return {
    measure,
    runs: times.length,
    'p50 ms': percentile(times, 50),
    'p90 ms': percentile(times, 90),
    'p99 ms': percentile(times, 99),
    'max ms': times[times.length - 1] ?? NaN,
  };
}

/** Edits the policy `edits` times and times each until the sidecar's verdict flips. */
async function editToVerdict(
  cluster: SyntheticCluster,
  sidecar: Sidecar,
  edits: number,
  applyEdit: (version: number) => void,
): Promise<number[]> {
  const source = cluster.allPods.find((p) => p.app === 'app-3') as BenchPod;
  // Port 9000 and path / miss every synthetic rule, so only the edited policy decides.
  const request = httpCheckRequest({
    sourceIp: source.ip,
    destinationIp: cluster.target.ip,
    destinationPort: 9000,
    method: 'GET',
    path: '/',
  });
  const code = async () => (await sidecar.envoy.check(request)).status?.code ?? -1;
  if ((await code()) !== 0) throw new Error('the edited policy should allow app-3 before the first edit');
  const times: number[] = [];
  for (let v = 1; v <= edits; v++) {
    const want = v % 2 === 0 ? 0 : 7;
    const t0 = performance.now();
    applyEdit(v);
    while ((await code()) !== want) {
      if (performance.now() - t0 > 30_000) throw new Error(`verdict did not change after edit ${v}`);
    }
    times.push(performance.now() - t0);
  }
  return times;
}

async function startAgent(
  datastore: Datastore,
  prefix: string,
): Promise<{ agent: PolicySyncAgent; ms: number }> {
  const t0 = performance.now();
  const agent = await startPolicySyncAgent({
    nodeName: BENCH_NODE,
    datastore,
    log: silentLogger(),
    registry: new Registry(),
    policySyncPathPrefix: prefix,
    socketLayout: 'driverless',
  });
  return { agent, ms: performance.now() - t0 };
}

/** Issue 11's scale in its own API server; adds its rows, or says why it was skipped. */
async function scaleLeg(rows: BenchRow[], extra: Record<string, unknown>): Promise<void> {
  const o = { ...ISSUE_11_SCALE, runs: opts.scaleRuns, edits: opts.scaleEdits };
  const cluster = dataplaneCluster(o);
  let api;
  try {
    api = await startBenchApi(cluster);
  } catch (err) {
    if (opts.scale === 'on' || opts.scale === 'only') throw err;
    extra['scale leg'] = `skipped: ${(err instanceof Error ? err.message : String(err)).split('\n')[0]}`;
    return;
  }
  try {
    const measured = await measureSyncScale(api.kc, cluster, api, o);
    rows.push(...measured.rows.map((r) => ({ ...r, measure: `${r.measure} (${o.pods} pods)` })));
    extra['scale: cluster'] = `${o.pods} pods, ${o.localPods} local, ${o.policies} NetworkPolicies`;
    extra['scale: API server filled in ms'] = api.fillMs;
    for (const [k, v] of Object.entries(measured.extra)) extra[`scale: ${k}`] = v;
  } finally {
    await api.stop();
  }
}

async function main(): Promise<void> {
  if (opts.scale === 'only') {
    const rows: BenchRow[] = [];
    const extra: Record<string, unknown> = {};
    await scaleLeg(rows, extra);
    report('agent-scale', rows, extra);
    return;
  }
  const cluster = syntheticCluster({
    pods: opts.pods,
    policies: opts.policies,
    sidecars: opts.sidecars,
    probes: 1,
  });
  const rows: BenchRow[] = [];
  const extra: Record<string, unknown> = {
    pods: opts.pods,
    policies: opts.policies,
    sidecars: opts.sidecars,
  };
  const dir = mkdtempSync(join(tmpdir(), 'alp-bench-agent-'));
  try {
    // ---- in-memory datastore: the agent and the sidecars only ----
    const memory = new MemoryDatastore([...cluster.objects, editedPolicy(0)]);
    const prefix = join(dir, 'mem');
    const started = await startAgent(memory, prefix);
    extra['initial calculation ms'] = started.ms;
    await waitFor(
      'sockets',
      () => cluster.sidecarPods.every((p) => fileExists(socketPath(prefix, p.uid))),
      30_000,
    );
    const t0 = performance.now();
    const sidecars = cluster.sidecarPods.map((p) => startSidecar(dir, prefix, p));
    await Promise.all(sidecars.map(ready));
    extra['sidecars started and in sync ms'] = performance.now() - t0;
    const probe = cluster.probePods[0] as BenchPod;
    const starts: number[] = [];
    for (let i = 0; i < opts.streamStarts; i++) {
      const r = await openProbeStream(socketPath(prefix, probe.uid));
      starts.push(r.ms);
      extra['snapshot messages'] = r.messages;
      extra['snapshot bytes'] = r.bytes;
    }
    rows.push(summary('stream start → InSync', starts));
    const target = sidecars[0] as Sidecar;
    rows.push(
      summary(
        'policy edit → verdict (in-memory datastore)',
        await editToVerdict(cluster, target, opts.edits, (v) => memory.apply(editedPolicy(v))),
      ),
    );
    const view = started.agent.calculator.endpointView(`${cluster.target.namespace}/${cluster.target.name}`);
    extra['target pod: policies'] = view?.policies.length ?? 0;
    extra['target pod: IP sets'] = view?.ipSets.size ?? 0;
    // The agent runs inside this process, beside the synthetic cluster and the benchmark's own
    // objects; no alp-node process exists to read. The sidecar is a real process: its /proc.
    extra['bench process RSS MiB (agent and synthetic cluster in it)'] = process.memoryUsage().rss / 2 ** 20;
    extra['sidecar RSS MiB'] = rssMiB(target.run.pid);
    await Promise.all(sidecars.map(async (s) => (s.envoy.close(), await s.run.stop())));
    await started.agent.close();

    // ---- file datastore: the same cluster in YAML files, edits written to disk ----
    const files = join(dir, 'resources');
    mkdirSync(files);
    for (let i = 0; i < cluster.objects.length; i += 100) {
      writeFileSync(
        join(files, `objects-${i}.yaml`),
        cluster.objects
          .slice(i, i + 100)
          .map((o) => stringify(o))
          .join('---\n'),
      );
    }
    const editFile = join(files, 'bench-edit.yaml');
    writeFileSync(editFile, stringify(editedPolicy(0)));
    const filePrefix = join(dir, 'file');
    const fileStarted = await startAgent(
      new FileDatastore({ paths: [files], log: silentLogger() }),
      filePrefix,
    );
    extra['initial load from files ms'] = fileStarted.ms;
    await waitFor('socket', () => fileExists(socketPath(filePrefix, cluster.target.uid)), 30_000);
    const fileSidecar = startSidecar(dir, filePrefix, cluster.target);
    await ready(fileSidecar);
    rows.push(
      summary(
        'policy edit → verdict (file datastore)',
        await editToVerdict(cluster, fileSidecar, opts.fileEdits, (v) =>
          writeFileSync(editFile, stringify(editedPolicy(v))),
        ),
      ),
    );
    fileSidecar.envoy.close();
    await fileSidecar.run.stop();
    await fileStarted.agent.close();

    // ---- Kubernetes datastore: the same cluster in a private kube-apiserver ----
    if (opts.kubernetes !== 'off') {
      const leg = await startKubernetesLeg(cluster);
      if ('unavailable' in leg) {
        if (opts.kubernetes === 'on') throw new Error(`envtest: ${leg.unavailable}`);
        extra['kubernetes leg'] = `skipped: ${leg.unavailable.split('\n')[0]}`;
      } else {
        try {
          extra['objects created in the API server ms'] = leg.createMs;
          const k8sPrefix = join(dir, 'k8s');
          const k8sStarted = await startAgent(leg.datastore, k8sPrefix);
          extra['initial list and calculation (kubernetes) ms'] = k8sStarted.ms;
          const target = { ...cluster.target, uid: leg.targetUid };
          await waitFor('socket', () => fileExists(socketPath(k8sPrefix, target.uid)), 30_000);
          const k8sSidecar = startSidecar(dir, k8sPrefix, target);
          await ready(k8sSidecar);
          rows.push(
            summary(
              'policy edit → verdict (kubernetes datastore)',
              await editToVerdict(cluster, k8sSidecar, opts.fileEdits, leg.applyEdit),
            ),
          );
          k8sSidecar.envoy.close();
          await k8sSidecar.run.stop();
          await k8sStarted.agent.close();
        } finally {
          await leg.stop();
        }
      }
    }
    if (opts.scale === 'on' || (opts.scale === 'auto' && opts.kubernetes !== 'off'))
      await scaleLeg(rows, extra);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  report('agent', rows, extra);
}

await main();
process.exit(0);
