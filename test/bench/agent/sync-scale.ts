// The agent's share of issue 11's budget at the issue's scale (5,000 pods, 110 on the node, 500
// Kubernetes NetworkPolicies, the dataplane benchmark's cluster): everything before the nftables
// dataplane, in this process, against a private envtest API server.
//   - start → in sync: a fresh Kubernetes datastore and calculation, from construction until every
//     kind is listed and applied (what alp-node logs as "policy calculation in sync"), and how
//     much of that the calculation itself took;
//   - API write → calculation done, for bench-edit's port (a policy edit) and bench-joiner's
//     label (a remote pod joining a selected set): from sending the merge patch until the
//     calculation has applied the watched change, and the calculation's own share.
//
//   node dist-test/test/bench/agent/sync-scale.js [--runs N] [--edits N] [--kubeconfig <file>]
//        [--serve <kubeconfig to write>] [--pods N] [--local-pods N] [--policies N]
// --serve fills an API server, writes its kubeconfig and waits (Ctrl-C ends it); --kubeconfig
// measures against such a server, so A/B builds can be compared on one filled server.
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { KubeConfig } from '@kubernetes/client-node';
import { Registry } from 'prom-client';
import type { CalcChanges } from '../../../agent/calc/calculator.js';
import { PolicyCalculator } from '../../../agent/calc/calculator.js';
import type { ResourceEvent } from '../../../agent/calc/cluster-model.js';
import { KubernetesDatastore } from '../../../agent/datastore/kubernetes.js';
import { startPolicySyncAgent, type PolicySyncAgent } from '../../../agent/policy-sync-agent.js';
import { silentLogger } from '../../../daemon/log.js';
import { percentile, type BenchRow } from '../bench-report.js';
import { benchEdits, startBenchApi, type BenchApi } from '../dataplane/api.js';
import { BENCH_NODE, dataplaneCluster, type DataplaneCluster } from '../dataplane/cluster.js';

/** Issue 11's benchmark cluster: one node's 110 pods in a 5,000-pod cluster, 500 policies. */
export const ISSUE_11_SCALE = { pods: 5000, localPods: 110, policies: 500 } as const;

export interface SyncScaleOptions {
  readonly pods: number;
  readonly localPods: number;
  readonly policies: number;
  /** Fresh starts measured. */
  readonly runs: number;
  /** Edits (and as many joins) measured, alternating on/off. */
  readonly edits: number;
}

interface Observed {
  /** Total time inside PolicyCalculator.apply so far. */
  calcMs: number;
  waiter: { readonly match: (e: ResourceEvent, c: CalcChanges) => boolean; resolve: () => void } | null;
}

type Edits = Pick<BenchApi, 'setEditOpen' | 'setJoined'>;

function summary(measure: string, times: number[]): BenchRow {
  const sorted = [...times].sort((a, b) => a - b);
  return {
    measure,
    runs: sorted.length,
    'p50 ms': percentile(sorted, 50),
    'p90 ms': percentile(sorted, 90),
    'p99 ms': percentile(sorted, 99),
    'max ms': sorted.at(-1) ?? NaN,
  };
}

/** Times every PolicyCalculator.apply into `observed.calcMs` until the returned restore(). */
function timeCalculation(observed: Observed): () => void {
  const proto = PolicyCalculator.prototype;
  const original = proto.apply;
  proto.apply = function (this: PolicyCalculator, e: ResourceEvent): CalcChanges {
    const t = performance.now();
    try {
      return original.call(this, e);
    } finally {
      observed.calcMs += performance.now() - t;
    }
  };
  return () => {
    proto.apply = original;
  };
}

/** A fresh agent (Kubernetes datastore + calculation, no PolicySync API); resolves in sync. */
function startAgent(kc: KubeConfig, observed: Observed): Promise<PolicySyncAgent> {
  return startPolicySyncAgent({
    nodeName: BENCH_NODE,
    datastore: new KubernetesDatastore({
      kubeConfig: kc,
      log: silentLogger(),
      nodeName: BENCH_NODE,
      reportEvents: false,
    }),
    log: silentLogger(),
    registry: new Registry(),
    policySyncPathPrefix: '',
    calculateWithoutApi: true,
    onApplied: (event, changes) => {
      const w = observed.waiter;
      if (w !== null && w.match(event, changes)) {
        observed.waiter = null;
        w.resolve();
      }
    },
  });
}

/** Times `write` until the calculation has applied an event `match` accepts. */
async function timeWrite(
  observed: Observed,
  match: (e: ResourceEvent, c: CalcChanges) => boolean,
  write: () => Promise<void>,
): Promise<{ totalMs: number; calcMs: number }> {
  const calcBefore = observed.calcMs;
  let timer: NodeJS.Timeout | undefined;
  const applied = new Promise<void>((resolve, reject) => {
    observed.waiter = { match, resolve };
    timer = setTimeout(() => reject(new Error('the change was not applied within 30 s')), 30_000);
  });
  const t0 = performance.now();
  await write();
  await applied.finally(() => clearTimeout(timer));
  return { totalMs: performance.now() - t0, calcMs: observed.calcMs - calcBefore };
}

/**
 * `runs` fresh starts; on the last one, `edits` policy edits and as many remote pod joins (each
 * undone by the next). The API server must hold `cluster` (startBenchApi), with bench-edit closed
 * and bench-joiner not joined; it is left that way.
 */
export async function measureSyncScale(
  kc: KubeConfig,
  cluster: DataplaneCluster,
  api: Edits,
  o: SyncScaleOptions,
): Promise<{ rows: BenchRow[]; extra: Record<string, unknown> }> {
  const observed: Observed = { calcMs: 0, waiter: null };
  const restore = timeCalculation(observed);
  const starts: number[] = [];
  const startCpu: number[] = [];
  const startCalc: number[] = [];
  const views: number[] = [];
  const edits = { total: [] as number[], calc: [] as number[] };
  const joins = { total: [] as number[], calc: [] as number[] };
  const extra: Record<string, unknown> = {};
  try {
    for (let run = 0; run < o.runs; run++) {
      observed.calcMs = 0;
      const t0 = performance.now();
      const cpu0 = process.cpuUsage();
      const agent = await startAgent(kc, observed);
      starts.push(performance.now() - t0);
      const cpu = process.cpuUsage(cpu0);
      startCpu.push((cpu.user + cpu.system) / 1000);
      startCalc.push(observed.calcMs);
      // What the dataplane asks for first: every local endpoint's view.
      const tv = performance.now();
      for (const id of agent.calculator.localEndpointIds()) agent.calculator.endpointView(id);
      views.push(performance.now() - tv);
      if (run === o.runs - 1) {
        extra['local endpoints'] = agent.calculator.localEndpointIds().length;
        // With node --expose-gc: what the synced agent holds (this process holds little else).
        const gc = (globalThis as { gc?: () => void }).gc;
        if (gc !== undefined) {
          gc();
          extra['heap used with the agent in sync MiB'] = process.memoryUsage().heapUsed / 2 ** 20;
        }
        const target = `${cluster.target.namespace}/${cluster.target.name}`;
        const client = `${cluster.client.namespace}/${cluster.client.name}`;
        const touches = (id: string) => (e: ResourceEvent, c: CalcChanges) =>
          e.type === 'upsert' && c.endpoints.has(id);
        for (let i = 0; i < o.edits; i++) {
          const isOn = i % 2 === 0;
          const e = await timeWrite(observed, touches(target), () => api.setEditOpen(isOn));
          edits.total.push(e.totalMs);
          edits.calc.push(e.calcMs);
          const j = await timeWrite(observed, touches(client), () => api.setJoined(isOn));
          joins.total.push(j.totalMs);
          joins.calc.push(j.calcMs);
        }
        if (o.edits % 2 === 1) {
          await api.setEditOpen(false);
          await api.setJoined(false);
        }
      }
      await agent.close();
    }
  } finally {
    restore();
  }
  extra['load average (1 min) at the end'] = loadavg()[0];
  return {
    rows: [
      summary('start → in sync (lists + calculation)', starts),
      summary('  CPU time of this process meanwhile', startCpu),
      summary('  of which in the calculation', startCalc),
      summary('then every local endpoint’s view (the dataplane’s input)', views),
      summary('policy edit: API write → calculation done', edits.total),
      summary('  of which in the calculation', edits.calc),
      summary('remote pod joins: API write → calculation done', joins.total),
      summary('  of which in the calculation', joins.calc),
    ],
    extra,
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      pods: { type: 'string', default: String(ISSUE_11_SCALE.pods) },
      'local-pods': { type: 'string', default: String(ISSUE_11_SCALE.localPods) },
      policies: { type: 'string', default: String(ISSUE_11_SCALE.policies) },
      runs: { type: 'string', default: '5' },
      edits: { type: 'string', default: '30' },
      kubeconfig: { type: 'string' },
      serve: { type: 'string' },
    },
  });
  const o: SyncScaleOptions = {
    pods: Number(values.pods),
    localPods: Number(values['local-pods']),
    policies: Number(values.policies),
    runs: Number(values.runs),
    edits: Number(values.edits),
  };
  const cluster = dataplaneCluster(o);
  if (values.kubeconfig !== undefined) {
    const kc = new KubeConfig();
    kc.loadFromFile(values.kubeconfig);
    console.log(JSON.stringify(await measureSyncScale(kc, cluster, benchEdits(kc, cluster), o)));
    return;
  }
  const api = await startBenchApi(cluster);
  console.error(`filled in ${(api.fillMs / 1000).toFixed(1)} s`);
  try {
    if (values.serve !== undefined) {
      writeFileSync(values.serve, api.kc.exportConfig());
      console.error(`serving; kubeconfig in ${values.serve}; SIGINT ends it`);
      await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
      return;
    }
    console.log(JSON.stringify(await measureSyncScale(api.kc, cluster, api, o)));
  } finally {
    await api.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await main();
  process.exit(0);
}
