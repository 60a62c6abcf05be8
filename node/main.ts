// Entry point of `alp-node`: parses the command line, starts the node's components, and stops
// them on SIGTERM/SIGINT. The only place that exits: 2 for usage errors, 1 for fatal ones.
import { KubeConfig } from '@kubernetes/client-node';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { createLogger, type Logger } from '../daemon/log.js';
import { startMetricsServer } from '../daemon/metrics-server.js';
import { startWireguard } from '../wireguard/index.js';
import { parseAlpNodeArgs, type AlpNodeOptions } from './cli.js';
import { openDatastore, readFelixConfigurationSpecs } from '../agent/datastore/open-datastore.js';
import { runExplainCommand } from '../agent/explain-command.js';
import { startPolicySyncAgent } from '../agent/policy-sync-agent.js';
import { policySyncSettings, type PolicySyncSettings } from '../agent/policy-sync-config.js';

/** Anything main starts: it must stop cleanly when asked. */
interface Component {
  readonly name: string;
  close(): Promise<void>;
}

const SHUTDOWN_TIMEOUT_MS = 15_000;

function loadKubeConfig(opts: AlpNodeOptions): KubeConfig {
  const kc = new KubeConfig();
  if (opts.kubeconfig !== null) kc.loadFromFile(opts.kubeconfig);
  else if (process.env.KUBECONFIG) kc.loadFromDefault();
  else if (process.env.KUBERNETES_SERVICE_HOST) kc.loadFromCluster();
  else throw new Error('no kubeconfig: pass --kubeconfig, set KUBECONFIG, or run in a pod');
  return kc;
}

/** PolicySync settings: environment over FelixConfiguration node.<name> over default. */
async function readPolicySyncSettings(
  opts: AlpNodeOptions,
  kubeConfig: KubeConfig | null,
): Promise<PolicySyncSettings | string> {
  const fileOnly = policySyncSettings({ env: process.env });
  if (!fileOnly.ok) return fileOnly.error;
  if (fileOnly.value.datastore.type === 'file' || kubeConfig === null) return fileOnly.value;
  const specs = await readFelixConfigurationSpecs(kubeConfig, opts.nodeName);
  const full = policySyncSettings({
    env: process.env,
    nodeFelixSpec: specs.nodeSpec,
    defaultFelixSpec: specs.defaultSpec,
  });
  return full.ok ? full.value : full.error;
}

async function startComponents(
  opts: AlpNodeOptions,
  log: Logger,
  kubeConfig: KubeConfig | null,
  registry: Registry,
): Promise<Component[]> {
  const components: Component[] = [];
  if (kubeConfig === null) {
    log.warn('no Kubernetes API configured: the WireGuard mesh manager is off (file datastore only)');
  } else {
    components.push({
      name: 'wireguard',
      ...(await startWireguard({
        nodeName: opts.nodeName,
        kubeConfig,
        stateDir: opts.stateDir,
        ...(opts.wgSocketDir === null ? {} : { wgSocketDir: opts.wgSocketDir }),
        deviceMode: opts.wireguardDevice,
        keyRotationIntervalMs: opts.wireguardKeyRotationIntervalMs,
        log: log.child({ component: 'wireguard' }),
        registry,
      })),
    });
  }
  const settings = await readPolicySyncSettings(opts, kubeConfig);
  if (typeof settings === 'string') throw new Error(settings);
  if (settings.policySyncPathPrefix === '') {
    log.info('policySyncPathPrefix is empty: the PolicySync API is off, as in Felix');
  } else {
    const agentLog = log.child({ component: 'policy-sync' });
    const agent = await startPolicySyncAgent({
      nodeName: opts.nodeName,
      datastore: openDatastore(settings.datastore, {
        ...(kubeConfig === null ? {} : { kubeConfig }),
        log: agentLog,
        nodeName: opts.nodeName,
      }),
      log: agentLog,
      registry,
      policySyncPathPrefix: settings.policySyncPathPrefix,
      socketLayout: settings.socketLayout,
    });
    log.info(
      { prefix: settings.policySyncPathPrefix, from: settings.prefixSource, layout: settings.socketLayout },
      'serving PolicySync',
    );
    components.push({ name: 'policy-sync', close: () => agent.close() });
  }
  if (opts.metricsAddr !== null) {
    const server = await startMetricsServer(opts.metricsAddr, registry);
    log.info({ addr: opts.metricsAddr, port: server.port }, 'serving metrics');
    components.push({ name: 'metrics', close: () => server.close() });
  }
  return components;
}

function untilSignal(log: Logger): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (signal: NodeJS.Signals): void => {
      log.info({ signal }, 'shutting down');
      resolve(signal);
    };
    process.once('SIGTERM', on);
    process.once('SIGINT', on);
  });
}

async function main(argv: readonly string[]): Promise<number> {
  if (argv[0] === 'explain') {
    return runExplainCommand(argv.slice(1), process.env, {
      stdout: (t) => process.stdout.write(t),
      stderr: (t) => process.stderr.write(t),
    });
  }
  const parsed = parseAlpNodeArgs(argv, process.env);
  switch (parsed.kind) {
    case 'help':
      process.stdout.write(parsed.text);
      return 0;
    case 'usage-error':
      process.stderr.write(`Error: ${parsed.error}\nRun 'alp-node --help' for usage.\n`);
      return 2;
    case 'run':
      break;
    default: {
      const never: never = parsed;
      throw new Error(`unhandled result ${String(never)}`);
    }
  }
  const opts = parsed.options;
  const log = createLogger({ name: 'alp-node', level: opts.logLevel, format: opts.logFormat });
  const stopped = untilSignal(log);
  let kubeConfig: KubeConfig | null;
  try {
    kubeConfig = loadKubeConfig(opts);
  } catch (err) {
    // The file datastore needs no cluster; everything else does.
    if (process.env.DATASTORE_TYPE !== 'file') {
      log.fatal({ err: err instanceof Error ? err.message : String(err) }, 'cannot load a kubeconfig');
      return 1;
    }
    kubeConfig = null;
  }
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  let components: Component[];
  try {
    components = await startComponents(opts, log, kubeConfig, registry);
  } catch (err) {
    log.fatal({ err: err instanceof Error ? err.message : String(err) }, 'start-up failed');
    return 1;
  }
  log.info({ node: opts.nodeName, components: components.map((c) => c.name) }, 'alp-node started');
  await stopped;
  const timer = setTimeout(() => {
    log.error('shutdown timed out');
    process.exit(1);
  }, SHUTDOWN_TIMEOUT_MS);
  for (const c of [...components].reverse()) {
    await c
      .close()
      .catch((err: unknown) => log.error({ component: c.name, err: String(err) }, 'error while stopping'));
  }
  clearTimeout(timer);
  log.info('stopped');
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    // Watches and HTTP keep-alive sockets may linger after close; the work is done, so leave.
    process.exit(code);
  },
  (err: unknown) => {
    process.stderr.write(`Error: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
