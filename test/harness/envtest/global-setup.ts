// Vitest global set-up for the integration project: starts one etcd + kube-apiserver (with
// Calico's CRDs) per test run and provides its kubeconfig to tests through inject('apiServer');
// see api-server-gate.ts for how suites use it. In CI (CI=true) a missing binary, failed build or
// failed start fails the run; elsewhere missing binaries only make those suites skip, loudly.
// A run whose test files never ask for the server (e.g. `vitest run test/sidecar`) does not
// start one.
import { readFile } from 'node:fs/promises';
import type { TestProject } from 'vitest/node';
import type { ApiServerStatus } from './api-server-gate.js';
import { findAssets, HOW_TO_GET_ASSETS } from './assets.js';
import { startEnvtest } from './envtest.js';

function banner(lines: readonly string[]): void {
  const rule = '='.repeat(100);
  console.warn([rule, ...lines, rule].join('\n'));
}

/** What a test file must mention (itself, not only through a helper) to get the server started. */
const GATE_CALLS = /\b(describeWithApiServer|requireApiServer|apiServerStatus)\b/;

async function runNeedsApiServer(project: TestProject): Promise<boolean> {
  // The CLI's file filters are not public API; without them every test file of the project counts,
  // which only means starting the server more often than needed.
  const filters = (project.vitest as unknown as { filenamePattern?: string[] }).filenamePattern;
  const { testFiles } = await project.globTestFiles(filters);
  for (const file of testFiles) {
    if (GATE_CALLS.test(await readFile(file, 'utf8'))) return true;
  }
  return false;
}

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const inCi = process.env.CI === 'true';
  const provide = (status: ApiServerStatus) => project.provide('apiServer', status);
  if (!(await runNeedsApiServer(project))) {
    provide({
      kind: 'unavailable',
      reason: 'not started: no test file in this run uses the API server gate',
    });
    return undefined;
  }

  // Outside CI, never start a long build behind the developer's back: use what is there.
  const assets = await findAssets({ build: inCi });
  if (assets.kind !== 'found') {
    const reason = `kube-apiserver/etcd not available: ${assets.reason}`;
    if (inCi) throw new Error(`${reason}\n(CI=true: tests that need the API server cannot be skipped)`);
    banner([
      'envtest: NO KUBE-APISERVER, so tests that need one are SKIPPED.',
      reason,
      `To run them: ${HOW_TO_GET_ASSETS}.`,
    ]);
    provide({ kind: assets.kind === 'missing' ? 'unavailable' : 'failed', reason });
    return undefined;
  }

  try {
    const env = await startEnvtest({ assetsDir: assets.dir });
    console.log(
      `envtest: kube-apiserver ${env.server} ready in ${env.startMs} ms (kubeconfig ${env.kubeconfigPath})`,
    );
    provide({ kind: 'ready', kubeconfigPath: env.kubeconfigPath, server: env.server, assetsDir: assets.dir });
    return () => env.stop();
  } catch (err) {
    const reason = `envtest did not start: ${err instanceof Error ? err.message : String(err)}`;
    if (inCi) throw new Error(reason, { cause: err });
    banner(['envtest: the API server FAILED TO START; tests that need it will fail.', reason]);
    provide({ kind: 'failed', reason });
    return undefined;
  }
}
