// Decides, per test suite, whether tests that need a kube-apiserver run, skip or fail. The vitest
// global set-up (global-setup.ts) starts one server per run and provides its status here.
// The rule: with a server, run; in CI (CI=true) without one, fail; elsewhere, skip loudly and say
// how to get the binaries.
import { KubeConfig } from '@kubernetes/client-node';
import { inject } from 'vitest';
import { describeWhen } from '../prerequisite-gate.js';
import { HOW_TO_GET_ASSETS } from './assets.js';
import { startEnvtest, type Envtest, type EnvtestOptions } from './envtest.js';

export type ApiServerStatus =
  | {
      readonly kind: 'ready';
      readonly kubeconfigPath: string;
      readonly server: string;
      readonly assetsDir: string;
    }
  /** The binaries are not there (outside CI only; in CI the set-up fails the run instead). */
  | { readonly kind: 'unavailable'; readonly reason: string }
  /** The binaries are there but the server did not start: a real failure. */
  | { readonly kind: 'failed'; readonly reason: string };

declare module 'vitest' {
  export interface ProvidedContext {
    apiServer: ApiServerStatus;
  }
}

/** The run's shared API server, as a test sees it. */
export interface ApiServer {
  readonly kubeconfigPath: string;
  readonly server: string;
  /** A fresh client config for the admin user. */
  kubeConfig(): KubeConfig;
  /**
   * Starts a private etcd + kube-apiserver with the same binaries, for tests that must disturb
   * the server (restartApiServer) without affecting other test files. The caller stops it.
   */
  startOwnEnvtest(options?: Omit<EnvtestOptions, 'assetsDir' | 'build'>): Promise<Envtest>;
}

export function apiServerStatus(): ApiServerStatus {
  // Outside the integration project nothing provides a status.
  const status = inject('apiServer') as ApiServerStatus | undefined;
  return (
    status ?? {
      kind: 'unavailable',
      reason: 'no kube-apiserver was started (run this in the integration project)',
    }
  );
}

function handleFor(status: Extract<ApiServerStatus, { kind: 'ready' }>): ApiServer {
  return {
    kubeconfigPath: status.kubeconfigPath,
    server: status.server,
    kubeConfig() {
      const kc = new KubeConfig();
      kc.loadFromFile(status.kubeconfigPath);
      return kc;
    },
    startOwnEnvtest: (options = {}) =>
      startEnvtest({ ...options, assetsDir: status.assetsDir, build: false }),
  };
}

function unusable(reason: string): ApiServer {
  const fail = (): never => {
    throw new Error(`no kube-apiserver: ${reason}`);
  };
  return { kubeconfigPath: '', server: '', kubeConfig: fail, startOwnEnvtest: fail };
}

/**
 * Returns the shared API server, or throws if there is none. For code already inside a suite
 * declared with describeWithApiServer, or that has its own skip logic.
 */
export function requireApiServer(): ApiServer {
  const status = apiServerStatus();
  if (status.kind !== 'ready') throw new Error(`no kube-apiserver: ${status.reason}`);
  return handleFor(status);
}

/**
 * `describe` for suites that need the API server. The callback receives the server handle; use it
 * inside hooks and tests (when the suite is skipped, the handle throws if used).
 */
export function describeWithApiServer(name: string, fn: (api: ApiServer) => void): void {
  const status = apiServerStatus();
  describeWhen(
    name,
    {
      what: 'a kube-apiserver',
      missing: status.kind === 'ready' ? null : status.reason,
      hint: HOW_TO_GET_ASSETS,
      alwaysFail: status.kind === 'failed',
    },
    () => fn(status.kind === 'ready' ? handleFor(status) : unusable(status.reason)),
  );
}
