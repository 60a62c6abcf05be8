// `npm run envtest -- --kubeconfig <path>`: runs the test control plane (etcd, kube-apiserver,
// Calico's CRDs) in the foreground for people, writes a kubeconfig for it, and stops cleanly on
// Ctrl-C or SIGTERM. Builds the binaries first if needed (scripts/envtest-assets.sh).
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { parse } from 'yaml';
import { CONTEXT_NAME } from './kubeconfig.js';
import { startEnvtest, type Envtest } from './envtest.js';
import { REPO_ROOT } from '../repo-root.js';

const DEFAULT_KUBECONFIG = join(REPO_ROOT, '.cache', 'envtest', 'kubeconfig');

const USAGE = `usage: npm run envtest -- [--kubeconfig PATH] [--no-crds]

Starts etcd and kube-apiserver on 127.0.0.1 with Calico's CRDs (deploy/crds/) installed, writes
a kubeconfig for an admin user to PATH (default .cache/envtest/kubeconfig in the repository),
and runs until Ctrl-C or SIGTERM.`;

/** Only overwrite a kubeconfig this tool wrote, never someone's real one. */
function isOurs(path: string): boolean {
  try {
    const doc: unknown = parse(readFileSync(path, 'utf8'));
    return (
      typeof doc === 'object' &&
      doc !== null &&
      (doc as Record<string, unknown>)['current-context'] === CONTEXT_NAME
    );
  } catch {
    return false;
  }
}

async function main(): Promise<number> {
  let values: { kubeconfig?: string; 'no-crds'?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({
      options: {
        kubeconfig: { type: 'string' },
        'no-crds': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    console.error(`${err instanceof Error ? err.message : String(err)}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const kubeconfigPath = values.kubeconfig === undefined ? DEFAULT_KUBECONFIG : resolve(values.kubeconfig);
  if (existsSync(kubeconfigPath) && !isOurs(kubeconfigPath)) {
    console.error(
      `${kubeconfigPath} exists and was not written by envtest; choose another --kubeconfig path.`,
    );
    return 2;
  }

  let env: Envtest;
  try {
    await mkdir(dirname(kubeconfigPath), { recursive: true });
    env = await startEnvtest({ kubeconfigPath, installCrds: !values['no-crds'] });
  } catch (err) {
    console.error(`envtest: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }

  console.log(
    [
      `envtest: kube-apiserver ready at ${env.server} in ${(env.startMs / 1000).toFixed(1)} s`,
      `  data and logs: ${env.runDir} (removed on exit)`,
      `  kubeconfig:    ${kubeconfigPath}`,
      '',
      'Use it with kubectl (or any client):',
      `  export KUBECONFIG=${kubeconfigPath}`,
      '  kubectl get namespaces',
      '  kubectl get crds',
      '',
      'No kubelet or controllers run: create Nodes yourself and set Pod status through the status subresource.',
      'Press Ctrl-C to stop.',
    ].join('\n'),
  );

  const signal = await new Promise<NodeJS.Signals>((done) => {
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
  });
  console.log(`\nenvtest: ${signal}, stopping`);
  await env.stop();
  await rm(kubeconfigPath, { force: true });
  console.log('envtest: stopped');
  return 0;
}

process.exitCode = await main();
