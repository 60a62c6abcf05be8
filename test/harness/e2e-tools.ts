// Locates the Go programs of the examples/istio checks and end-to-end test (istioctl, Istio's
// sample servers, go-httpbin, envoy-lite) through scripts/e2e-tools.sh, the script CI runs to
// build them, and gates suites on them: run when built, fail in CI, skip loudly elsewhere.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { describeWhen } from './prerequisite-gate.js';
import { REPO_ROOT } from './repo-root.js';

export const E2E_TOOLS_SCRIPT = join(REPO_ROOT, 'scripts', 'e2e-tools.sh');
export const HOW_TO_GET_E2E_TOOLS =
  'run scripts/e2e-tools.sh (builds istioctl and the other test programs with Go; ~10 minutes the first time)';

export interface E2eTools {
  readonly dir: string;
  readonly istioctl: string;
  readonly extauthz: string;
  readonly goHttpbin: string;
  readonly tcpEcho: string;
  readonly istioCrds: string;
  readonly envoyLite: string;
}

export type E2eToolsResult =
  | { readonly kind: 'found'; readonly tools: E2eTools }
  | { readonly kind: 'missing'; readonly reason: string };

export function toolsIn(dir: string): E2eTools {
  return {
    dir,
    istioctl: join(dir, 'istioctl'),
    extauthz: join(dir, 'extauthz'),
    goHttpbin: join(dir, 'go-httpbin'),
    tcpEcho: join(dir, 'tcp-echo'),
    istioCrds: join(dir, 'istio-crds'),
    envoyLite: join(dir, 'envoy-lite'),
  };
}

/** What is already built (never builds: CI builds them before the tests). */
export function findE2eTools(): Promise<E2eToolsResult> {
  return new Promise((resolve) => {
    execFile('bash', [E2E_TOOLS_SCRIPT, '--no-build'], (err, stdout, stderr) => {
      const dir = stdout.trim().split('\n').pop() ?? '';
      if (err || dir === '') resolve({ kind: 'missing', reason: stderr.trim() || String(err) });
      else resolve({ kind: 'found', tools: toolsIn(dir) });
    });
  });
}

/**
 * `describe` for suites that need the e2e tools; `tools` is resolved before any test runs
 * (top-level await in the test file), so the gate decides synchronously.
 */
export function describeWithE2eTools(
  name: string,
  found: E2eToolsResult,
  fn: (tools: E2eTools) => void,
): void {
  describeWhen(
    name,
    {
      what: 'istioctl and the other e2e tools',
      missing: found.kind === 'found' ? null : found.reason,
      hint: HOW_TO_GET_E2E_TOOLS,
    },
    () => fn(found.kind === 'found' ? found.tools : toolsIn('/nonexistent')),
  );
}
