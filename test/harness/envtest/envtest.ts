// A real Kubernetes control plane for tests and local development: etcd and kube-apiserver on
// 127.0.0.1 with free ports, a temporary run dir, an admin bearer token and a generated
// kubeconfig, plus Calico's CRDs. No kubelet or controller-manager runs, so nothing reconciles:
// tests create Nodes and set Pod status themselves (see test/harness/kube.ts).
import { rmSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { assetPaths, findAssets, HOW_TO_GET_ASSETS } from './assets.js';
import { ADMIN_USER, makeCredentials, type Credentials } from './credentials.js';
import { freePort } from '../free-port.js';
import { installCrds } from './install-crds.js';
import { writeKubeconfig } from './kubeconfig.js';
import { reapLeftovers, recordOwner, RUN_DIR_PREFIX } from './leftovers.js';
import { ServerProcess } from './server-process.js';
import { waitReady } from './wait-ready.js';

export interface EnvtestOptions {
  /** Directory holding kube-apiserver and etcd; default: $KUBEBUILDER_ASSETS, else scripts/envtest-assets.sh. */
  readonly assetsDir?: string;
  /** Let scripts/envtest-assets.sh build or install missing binaries (default true). */
  readonly build?: boolean;
  /** Install deploy/crds/ and wait until Established (default true). */
  readonly installCrds?: boolean;
  /** Where to write the kubeconfig (default: inside the run dir, removed on stop). */
  readonly kubeconfigPath?: string;
  readonly startTimeoutMs?: number;
}

export interface Envtest {
  readonly kubeconfigPath: string;
  /** The API server's https URL. */
  readonly server: string;
  /** Temporary directory with data, credentials and the servers' logs (etcd.log, kube-apiserver.log). */
  readonly runDir: string;
  /** How long start-up took, from finding the binaries to CRDs Established. */
  readonly startMs: number;
  /** A fresh client config for the admin user. */
  kubeConfig(): KubeConfig;
  /** Stops both servers (SIGTERM, then SIGKILL) and removes the run dir. Safe to call twice. */
  stop(): Promise<void>;
  /** Restarts kube-apiserver on the same port over the same etcd, so clients can recover watches. */
  restartApiServer(): Promise<void>;
}

/** The binaries are not available; the reason says why and how to get them. */
export class EnvtestUnavailableError extends Error {
  override readonly name = 'EnvtestUnavailableError';
}

const SERVICE_CIDR = '10.0.0.0/24';
const START_ATTEMPTS = 3;

async function resolveAssetsDir(options: EnvtestOptions): Promise<string> {
  if (options.assetsDir !== undefined) return options.assetsDir;
  const found = await findAssets({ build: options.build ?? true });
  if (found.kind === 'found') return found.dir;
  throw new EnvtestUnavailableError(
    `kube-apiserver/etcd not available: ${found.reason}\nTo get them: ${HOW_TO_GET_ASSETS}`,
  );
}

function etcdArgs(runDir: string, clientPort: number, peerPort: number): string[] {
  const client = `http://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  return [
    '--name=envtest',
    `--data-dir=${join(runDir, 'etcd-data')}`,
    `--listen-client-urls=${client}`,
    `--advertise-client-urls=${client}`,
    `--listen-peer-urls=${peer}`,
    `--initial-advertise-peer-urls=${peer}`,
    `--initial-cluster=envtest=${peer}`,
    '--initial-cluster-state=new',
    '--logger=zap',
    '--log-outputs=stderr',
  ];
}

function apiServerArgs(runDir: string, creds: Credentials, port: number, etcdUrl: string): string[] {
  return [
    '--advertise-address=127.0.0.1',
    '--bind-address=127.0.0.1',
    `--secure-port=${port}`,
    `--etcd-servers=${etcdUrl}`,
    `--cert-dir=${join(runDir, 'apiserver-certs')}`,
    `--tls-cert-file=${creds.servingCertPath}`,
    `--tls-private-key-file=${creds.servingKeyPath}`,
    `--token-auth-file=${creds.tokenFilePath}`,
    '--authorization-mode=RBAC',
    '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
    `--service-account-key-file=${creds.serviceAccountPublicKeyPath}`,
    `--service-account-signing-key-file=${creds.serviceAccountKeyPath}`,
    `--service-cluster-ip-range=${SERVICE_CIDR}`,
    '--allow-privileged=true',
    // No controller-manager creates each namespace's "default" ServiceAccount, so the admission
    // plugin that requires it would reject every Pod (controller-runtime's envtest does the same).
    '--disable-admission-plugins=ServiceAccount',
    // The reconciler would publish 127.0.0.1 as the "kubernetes" Service endpoint, which the API
    // rejects (loopback); nothing here needs that Service.
    '--endpoint-reconciler-type=none',
    '--profiling=false',
  ];
}

/** Starts a server, retrying with fresh ports when it dies early (another process took a port). */
async function startWithRetry(
  start: () => Promise<ServerProcess>,
  ready: (server: ServerProcess) => Promise<void>,
): Promise<ServerProcess> {
  for (let attempt = 1; ; attempt++) {
    const server = await start();
    try {
      await ready(server);
      return server;
    } catch (err) {
      await server.stop(1_000);
      if (attempt >= START_ATTEMPTS || !server.hasExited) throw err;
      await new Promise((resolve) => setTimeout(resolve, 500 * attempt));
    }
  }
}

export async function startEnvtest(options: EnvtestOptions = {}): Promise<Envtest> {
  const startedAt = Date.now();
  const assetsDir = await resolveAssetsDir(options);
  const bins = assetPaths(assetsDir);
  const timeoutMs = options.startTimeoutMs ?? 90_000;

  reapLeftovers();
  const runDir = await mkdtemp(join(tmpdir(), RUN_DIR_PREFIX));
  const removeRunDirOnExit = () => rmSync(runDir, { recursive: true, force: true });
  process.on('exit', removeRunDirOnExit);

  let etcd: ServerProcess | undefined;
  let apiServer: ServerProcess | undefined;
  const record = () =>
    recordOwner(
      runDir,
      [etcd?.pid, apiServer?.pid].filter((p): p is number => p !== undefined),
    );
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await apiServer?.stop();
    await etcd?.stop();
    await rm(runDir, { recursive: true, force: true });
    process.off('exit', removeRunDirOnExit);
  };

  try {
    const creds = await makeCredentials(runDir);
    let etcdUrl = '';
    etcd = await startWithRetry(
      async () => {
        const [clientPort, peerPort] = [await freePort(), await freePort()];
        etcd = ServerProcess.start(
          'etcd',
          bins.etcd,
          etcdArgs(runDir, clientPort, peerPort),
          join(runDir, 'etcd.log'),
        );
        record();
        etcdUrl = `http://127.0.0.1:${clientPort}`;
        return etcd;
      },
      (server) => waitReady(server, { url: `${etcdUrl}/health` }, timeoutMs),
    );
    const ca = await readFile(creds.caCertPath);
    let port = 0;
    const startApiServer = () => {
      const args = apiServerArgs(runDir, creds, port, etcdUrl);
      apiServer = ServerProcess.start(
        'kube-apiserver',
        bins.apiServer,
        args,
        join(runDir, 'kube-apiserver.log'),
      );
      record();
      return apiServer;
    };
    const apiServerReady = (server: ServerProcess) =>
      waitReady(
        server,
        { url: `https://127.0.0.1:${port}/readyz`, ca, bearerToken: creds.adminToken },
        timeoutMs,
      );
    apiServer = await startWithRetry(async () => {
      port = await freePort();
      return startApiServer();
    }, apiServerReady);

    const server = `https://127.0.0.1:${port}`;
    const kubeconfigPath = options.kubeconfigPath ?? join(runDir, 'kubeconfig');
    await writeKubeconfig(kubeconfigPath, {
      server,
      caCertPath: creds.caCertPath,
      token: creds.adminToken,
      user: ADMIN_USER,
    });
    const kubeConfig = () => {
      const kc = new KubeConfig();
      kc.loadFromFile(kubeconfigPath);
      return kc;
    };
    if (options.installCrds ?? true) await installCrds(kubeConfig());

    return {
      kubeconfigPath,
      server,
      runDir,
      startMs: Date.now() - startedAt,
      kubeConfig,
      stop,
      async restartApiServer() {
        await apiServer?.stop();
        // Same port: clients keep their URL. Retry in case the old socket lingers briefly.
        apiServer = await startWithRetry(async () => startApiServer(), apiServerReady);
      },
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
