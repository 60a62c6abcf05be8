// Locates kube-apiserver and etcd through scripts/envtest-assets.sh, the same script CI runs, so
// tests and CI agree on the binaries. `build: false` only reports what is already there.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from '../repo-root.js';

export const ASSETS_SCRIPT = join(REPO_ROOT, 'scripts', 'envtest-assets.sh');

export const HOW_TO_GET_ASSETS =
  'run scripts/envtest-assets.sh (builds kube-apiserver with Go and installs Debian etcd-server), ' +
  'or set KUBEBUILDER_ASSETS to a directory holding kube-apiserver and etcd';

export type AssetsResult =
  | { readonly kind: 'found'; readonly dir: string }
  | { readonly kind: 'missing'; readonly reason: string }
  | { readonly kind: 'failed'; readonly reason: string };

/** Exit code of the script in --no-build mode when the binaries are simply not there yet. */
const EXIT_MISSING = 3;

export function findAssets(options: { readonly build: boolean }): Promise<AssetsResult> {
  const args = [ASSETS_SCRIPT, ...(options.build ? [] : ['--no-build'])];
  return new Promise((resolve) => {
    const child = execFile('bash', args, { maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const reason = stderr.trim().split('\n').slice(-5).join('\n');
      if (err) {
        const missing = !options.build && child.exitCode === EXIT_MISSING;
        resolve({ kind: missing ? 'missing' : 'failed', reason: reason || err.message });
        return;
      }
      const dir = stdout.trim().split('\n').pop() ?? '';
      resolve(
        dir ? { kind: 'found', dir } : { kind: 'failed', reason: 'the assets script printed no directory' },
      );
    });
    // A long first build reports progress as it goes.
    if (options.build) child.stderr?.on('data', (chunk: Buffer) => process.stderr.write(chunk));
  });
}

export function assetPaths(dir: string): { readonly apiServer: string; readonly etcd: string } {
  return { apiServer: join(dir, 'kube-apiserver'), etcd: join(dir, 'etcd') };
}
