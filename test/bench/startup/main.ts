// npm run bench:startup [-- --runs 9]
//
// What it models: how soon alp-node is useful after the kubelet starts it. Two measurements per
// launcher, run A B A B … so a drifting machine load hits both alike:
//   - `--version`: process start to exit (module loading dominates);
//   - start: process start to the "alp-node started" log line, against an empty file datastore
//     (no API server, enforcement and WireGuard off), then SIGTERM.
// Launchers: `bin/alp-node` (what ships: the one-file bundle in dist/bundle/) and tsc's module tree
// (dist/node/main.js), the way alp-node ran before it was bundled. Target (issue 11): start ≤ 1 s.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { REPO_ROOT } from '../../harness/process.js';
import { percentile, report, type BenchRow } from '../bench-report.js';

const LAUNCHERS = {
  bundle: join(REPO_ROOT, 'bin', 'alp-node'),
  'module tree': join(REPO_ROOT, 'dist', 'node', 'main.js'),
} as const;
type Launcher = keyof typeof LAUNCHERS;

const TIMEOUT_MS = 60_000;

/** Milliseconds from spawning `script args` to `done(stderr so far)` turning true (or to its exit). */
function timeRun(
  script: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  until?: string,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [script, ...args], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    let at: number | undefined;
    const timer = setTimeout(() => child.kill('SIGKILL'), TIMEOUT_MS);
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (until !== undefined && at === undefined && stderr.includes(until)) {
        at = performance.now() - t0;
        child.kill('SIGTERM');
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (until === undefined && code === 0) resolve(performance.now() - t0);
      else if (until !== undefined && at !== undefined) resolve(at);
      else reject(new Error(`${script} ${args.join(' ')} exited ${code}: ${stderr.slice(-2000)}`));
    });
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { runs: { type: 'string', default: '9' } } });
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs must be a positive integer');
  const work = mkdtempSync(join(tmpdir(), 'alp-bench-startup-'));
  const datastore = join(work, 'datastore');
  mkdirSync(datastore);
  const env = {
    ...process.env,
    DATASTORE_TYPE: 'file',
    ALP_DATASTORE_PATH: datastore,
    FELIX_POLICYSYNCPATHPREFIX: '',
  };
  const samples = new Map<string, number[]>();
  const add = (key: string, ms: number) => samples.set(key, [...(samples.get(key) ?? []), ms]);
  const loadBefore = loadavg()[0]!;
  try {
    for (let i = 0; i <= runs; i++) {
      for (const launcher of Object.keys(LAUNCHERS) as Launcher[]) {
        const script = LAUNCHERS[launcher];
        const version = await timeRun(script, ['--version'], env);
        const state = mkdtempSync(join(work, 'state-'));
        const start = await timeRun(
          script,
          ['--node-name', 'bench-node', '--state-dir', state],
          env,
          'alp-node started',
        );
        rmSync(state, { recursive: true, force: true });
        if (i === 0) continue; // warm-up: page cache
        add(`${launcher}|--version`, version);
        add(`${launcher}|start`, start);
      }
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  const rows: BenchRow[] = [];
  for (const what of ['--version', 'start']) {
    const median = (l: Launcher) =>
      percentile(
        [...samples.get(`${l}|${what}`)!].sort((a, b) => a - b),
        50,
      );
    for (const l of Object.keys(LAUNCHERS) as Launcher[]) {
      const sorted = [...samples.get(`${l}|${what}`)!].sort((a, b) => a - b);
      rows.push({
        measurement: what,
        launcher: l,
        'min ms': sorted[0]!,
        'median ms': median(l),
        'max ms': sorted.at(-1)!,
        'bundle / module tree': l === 'bundle' ? median('bundle') / median('module tree') : '',
      });
    }
  }
  report('startup', rows, {
    runs,
    'load average (1 min) before': loadBefore,
    'load average after': loadavg()[0]!,
  });
}

await main();
