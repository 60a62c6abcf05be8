// `npm run bench:nft-channel -- --scale [--pods 5000 --local-pods 110 --policies 500
// --iterations 30]`: the L3/L4 renderer and nft at issue 11's scale, without an API server or
// daemon. The dataplane benchmark's cluster (cluster.ts) goes through alp-node's own parsing and
// calculation (scale-state.ts); then, in a scratch network namespace through the NftChannel:
//   - the first full transaction: JS (build the program, render the text) and nft (apply it),
//     then the same text replacing the loaded table;
//   - incremental transactions against the loaded table: a policy edit (bench-edit's port), a
//     remote pod joining a set that bench-egress references (bench-joiner, whose set goes from
//     empty to one member and back), and a remote pod moving between apps (set elements only),
//     each timed as JS (state, program, diff text) and nft (the channel's answer);
//   - after each kind, the live table's shape against the state last applied (what the periodic
//     tamper check compares), how long that listing takes, and the JS of the comparison.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { silentLogger } from '../../../daemon/log.js';
import { programOf, renderChanges, renderFull, type DataplaneState } from '../../../dataplane/core/index.js';
import { NftChannel } from '../../../dataplane/shell/nft-channel.js';
import { readLiveTable, renderedShape, shapeDifference } from '../../../dataplane/shell/table-shape.js';
import { createNamespace, deleteNamespace } from '../../harness/netns.js';
import { cpuSeconds, percentile, report, type BenchRow } from '../bench-report.js';
import { ScaleCluster } from './scale-state.js';

const TABLE = 'alp-mesh';

function ms(since: number): number {
  return performance.now() - since;
}

/** CPU time of this process's exited, waited-for children (cutime + cstime), in ms. */
function childrenCpuMs(): number {
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[13]) + Number(fields[14])) * 10; // clock ticks at 100 Hz
}

/** This process's CPU time (user + system) since `since`, in ms. */
function cpuMs(since: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(since);
  return (d.user + d.system) / 1000;
}

function summary(what: string, part: string, times: number[], extra: BenchRow = {}): BenchRow {
  const sorted = [...times].sort((a, b) => a - b);
  return {
    transaction: what,
    part,
    n: sorted.length,
    'p50 ms': percentile(sorted, 50),
    'p99 ms': percentile(sorted, 99),
    'max ms': sorted[sorted.length - 1] ?? NaN,
    ...extra,
  };
}

export async function scaleBench(argv: readonly string[]): Promise<void> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      scale: { type: 'boolean', default: true },
      pods: { type: 'string', default: '5000' },
      'local-pods': { type: 'string', default: '110' },
      policies: { type: 'string', default: '500' },
      iterations: { type: 'string', default: '30' },
      name: { type: 'string', default: 'dataplane-nft-scale' },
    },
  });
  const o = {
    pods: Number(values.pods),
    localPods: Number(values['local-pods']),
    policies: Number(values.policies),
  };
  const iterations = Number(values.iterations);
  const rows: BenchRow[] = [];
  const extra: Record<string, unknown> = { ...o, iterations };

  let t = performance.now();
  const cluster = new ScaleCluster(o);
  extra['calculation (not the renderer) ms'] = ms(t);
  const initial = cluster.state();

  t = performance.now();
  let cpu = process.cpuUsage();
  const program = programOf(initial);
  const buildMs = ms(t);
  const buildCpu = cpuMs(cpu);
  t = performance.now();
  cpu = process.cpuUsage();
  const fullText = renderFull(initial);
  const renderMs = ms(t);
  const renderCpu = cpuMs(cpu);
  let rules = 0;
  for (const c of program.chains.values()) rules += c.rules.length;
  let elements = 0;
  for (const s of program.sets.values()) elements += s.elements.length;
  const shape = {
    endpoints: initial.endpoints.size,
    chains: program.chains.size,
    rules,
    sets: program.sets.size,
    'interval sets': [...program.sets.values()].filter((s) => s.interval).length,
    'set elements': elements,
    'full text KiB': Math.round(fullText.length / 1024),
  };
  Object.assign(extra, shape);

  const ns = await createNamespace('nftscale');
  const channel = new NftChannel({ log: silentLogger(), nftCommand: ['ip', 'netns', 'exec', ns, 'nft'] });
  const live = async (): Promise<{ json: string; ms: number }> => {
    const start = performance.now();
    const json = await channel.read(['-j', 'list', 'table', 'inet', TABLE]);
    return { json, ms: ms(start) };
  };
  const checks: number[] = [];
  const compares: number[] = [];
  const mismatches: string[] = [];
  const check = async (state: DataplaneState, after: string): Promise<void> => {
    const { json, ms: listMs } = await live();
    checks.push(listMs);
    // What the daemon's check does with the listing, all of it on the event loop.
    const start = performance.now();
    const table = readLiveTable(json);
    const difference = shapeDifference(renderedShape(renderFull(state), TABLE), table?.shape ?? null);
    compares.push(ms(start));
    if (difference !== null) mismatches.push(`after ${after}: ${difference}`);
  };
  try {
    t = performance.now();
    let children = childrenCpuMs();
    await channel.apply(fullText);
    const firstNft = ms(t);
    const firstNftCpu = childrenCpuMs() - children;
    const cpuCol = (v: number): BenchRow => ({ 'CPU ms (mean)': v });
    rows.push(summary('first full (empty namespace)', 'JS: build program', [buildMs], cpuCol(buildCpu)));
    rows.push(summary('first full (empty namespace)', 'JS: render text', [renderMs], cpuCol(renderCpu)));
    rows.push(summary('first full (empty namespace)', 'nft: apply', [firstNft], cpuCol(firstNftCpu)));
    rows.push(summary('first full (empty namespace)', 'total', [buildMs + renderMs + firstNft]));
    const replaces: number[] = [];
    children = childrenCpuMs();
    for (let i = 0; i < 3; i++) {
      t = performance.now();
      await channel.apply(fullText);
      replaces.push(ms(t));
    }
    const replaceCpu = (childrenCpuMs() - children) / 3;
    rows.push(summary('full replace of the loaded table', 'nft: apply', replaces, cpuCol(replaceCpu)));
    await check(initial, 'the full transactions');

    let applied = initial;
    const kinds: [string, (i: number) => void][] = [
      ['policy edit (one policy chain)', (i) => cluster.setEditOpen(i % 2 === 0)],
      ['remote pod joins an empty set (+ chain)', (i) => cluster.setJoined(i % 2 === 0)],
      ['remote pod moves between sets (elements)', (i) => cluster.moveRemotePod(7, i % 2 === 0)],
    ];
    for (const [what, change] of kinds) {
      const js: number[] = [];
      const nft: number[] = [];
      const bytes: number[] = [];
      let jsCpu = 0;
      // The nft -i child's CPU time over the loop (clock ticks: only the mean is meaningful).
      await channel.apply(`add table inet ${TABLE}\n`); // starts the child if none runs
      const pid = channel.childPid;
      const nftCpuBefore = pid === undefined ? NaN : cpuSeconds(pid);
      for (let i = 0; i < iterations; i++) {
        change(i);
        t = performance.now();
        cpu = process.cpuUsage();
        const next = cluster.state();
        const text = renderChanges(applied, next);
        js.push(ms(t));
        jsCpu += cpuMs(cpu);
        bytes.push(text.length);
        t = performance.now();
        await channel.apply(text);
        nft.push(ms(t));
        applied = next;
      }
      const b = {
        'text bytes (median)': percentile(
          [...bytes].sort((x, y) => x - y),
          50,
        ),
      };
      const nftCpu = pid === undefined ? NaN : ((cpuSeconds(pid) - nftCpuBefore) * 1000) / iterations;
      rows.push(summary(what, 'JS: state, program, diff', js, { ...b, ...cpuCol(jsCpu / iterations) }));
      rows.push(summary(what, 'nft: apply (nft -i channel)', nft, { ...b, ...cpuCol(nftCpu) }));
      await check(applied, what);
    }
    rows.push(summary('tamper check listing (nft -j list table)', 'nft', checks));
    rows.push(summary('tamper check listing (nft -j list table)', 'JS: read, digest, render', compares));
  } finally {
    await channel.close();
    await deleteNamespace(ns);
  }
  extra['live table matched the applied state'] = mismatches.length === 0 ? 'yes' : mismatches.join(' | ');
  report(values.name, rows, extra);
  if (mismatches.length > 0) process.exitCode = 1;
}
