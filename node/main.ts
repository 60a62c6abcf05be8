// Entry point of `alp-node`: parses the command line, starts the node's components, and stops
// them on SIGTERM/SIGINT. The only place that exits: 2 for usage errors, 1 for fatal ones
// (including a start-up failure, after stopping whatever had started), 0 after a signal — also
// one that arrives during start-up, which is then cut short.
import { KubeConfig } from '@kubernetes/client-node';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { describeApiError } from '../kube/api-client.js';
import { compactHeap } from '../daemon/compact-heap.js';
import { createLogger, type Logger } from '../daemon/log.js';
import { startMetricsServer } from '../daemon/metrics-server.js';
import { packageVersion } from '../daemon/version.js';
import { isWireguardOnBy, startWireguard, type WireguardHandle } from '../wireguard/index.js';
import { parseAlpNodeArgs, type AlpNodeOptions } from './cli.js';
import { openDatastore } from '../agent/datastore/open-datastore.js';
import { PrefetchedDatastore } from '../agent/datastore/prefetched.js';
import type { Datastore } from '../agent/datastore/object-tracker.js';
import { watchFelixConfigurations } from '../kube/felix-configurations.js';
import { startPolicySyncAgent, type PolicySyncAgent } from '../agent/policy-sync-agent.js';
import { policySyncSettings, type DatastoreSettings } from '../agent/policy-sync-config.js';
import type { FelixConfigLayer } from '../calico/felix-configuration.js';
import { LiveEnforcement } from './live-enforcement.js';
import { warmStartPath } from './code-cache-warmup.js';
import { wireguardFirewall } from './wireguard-firewall.js';
import { enforcementSettings, enforcementSettledByEnv } from './enforcement-config.js';

/** Anything main starts: it must stop cleanly when asked, even while it is still starting. */
interface Component {
  readonly name: string;
  close(): Promise<void>;
}

const SHUTDOWN_TIMEOUT_MS = 15_000;

/** Thrown into start-up when a signal asks us to stop. */
class ShutdownRequested extends Error {}

function loadKubeConfig(opts: AlpNodeOptions): KubeConfig {
  const kc = new KubeConfig();
  if (opts.kubeconfig !== null) kc.loadFromFile(opts.kubeconfig);
  else if (process.env.KUBECONFIG) kc.loadFromDefault();
  else if (process.env.KUBERNETES_SERVICE_HOST) kc.loadFromCluster();
  else throw new Error('no kubeconfig: pass --kubeconfig, set KUBECONFIG, or run in a pod');
  return kc;
}

/** `work`, or a ShutdownRequested rejection as soon as `signal` fires. */
function unlessShutdown<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new ShutdownRequested());
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(new ShutdownRequested());
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}

interface FelixSettingsSource {
  /** The FelixConfigurations that apply to this node at start. */
  readonly layers: readonly FelixConfigLayer[];
  /** False when none were read (file datastore, or the environment gives every setting). */
  readonly isRead: boolean;
  /** Calls `listener` with the latest selection now and on every change; never when nothing is watched. */
  onChange(listener: (layers: readonly FelixConfigLayer[]) => void): void;
  /** A Kubernetes Event on the FelixConfiguration `name` saying why it was refused. */
  reportInvalid(name: string, reason: string): void;
}

/**
 * The FelixConfigurations that apply to this node (Kubernetes datastore only), from one watch
 * that retries with jittered back-off until its first list: the API server may not be up yet.
 */
async function watchFelixLayers(
  opts: AlpNodeOptions,
  kubeConfig: KubeConfig | null,
  log: Logger,
  registry: Registry,
  components: Component[],
  signal: AbortSignal,
): Promise<FelixSettingsSource> {
  const none: FelixSettingsSource = {
    layers: [],
    isRead: false,
    onChange: () => undefined,
    reportInvalid: () => undefined,
  };
  if (process.env.DATASTORE_TYPE === 'file' || kubeConfig === null) return none;
  // The environment wins over FelixConfiguration: when it gives everything, there is nothing to read.
  if ((process.env.FELIX_POLICYSYNCPATHPREFIX ?? '') !== '' && enforcementSettledByEnv(process.env))
    return none;
  const watch = watchFelixConfigurations(kubeConfig, opts.nodeName, {
    log: log.child({ component: 'felix-configuration' }),
    registry,
  });
  components.push({ name: 'felix-configuration', close: () => watch.close() });
  const { selection } = await unlessShutdown(watch.start(), signal);
  for (const p of selection.problems) log.warn(p, 'selector-scoped FelixConfiguration not applied');
  return {
    layers: selection.layers,
    isRead: true,
    onChange(listener) {
      watch.onChange((read) => {
        for (const p of read.selection.problems)
          log.warn(p, 'selector-scoped FelixConfiguration not applied');
        listener(read.selection.layers);
      });
      // A change that came while the rest started had no listener yet: catch up with it now.
      listener(watch.current().selection.layers);
    },
    reportInvalid: (name, reason) => void watch.reportInvalid(name, reason),
  };
}

/** Starts the components in order, adding each to `components` as soon as it has begun starting. */
async function startComponents(
  opts: AlpNodeOptions,
  log: Logger,
  kubeConfig: KubeConfig | null,
  registry: Registry,
  components: Component[],
  signal: AbortSignal,
  started: Promise<void>,
): Promise<void> {
  // The calculation's datastore comes from the environment alone, so its lists (most of the
  // start's time at scale) begin now, beside the reads below that decide whether and how the
  // calculation runs; they wait for those (agent/datastore/prefetched.ts). Stopped at the end of
  // start-up when nothing turned out to need them.
  const agentLog = log.child({ component: 'policy-sync' });
  const openAgentDatastore = (datastore: DatastoreSettings): Datastore =>
    openDatastore(datastore, {
      ...(kubeConfig === null ? {} : { kubeConfig }),
      log: agentLog,
      nodeName: opts.nodeName,
      registry,
    });
  let prefetched: PrefetchedDatastore | null = null;
  const fromEnv = policySyncSettings({ env: process.env });
  if (fromEnv.ok) {
    const early = new PrefetchedDatastore(openAgentDatastore(fromEnv.value.datastore));
    prefetched = early;
    components.push({ name: 'policy-sync-prefetch', close: () => early.close() });
  }
  let startingWireguard: Promise<WireguardHandle> | null = null;
  if (kubeConfig === null) {
    log.warn('no Kubernetes API configured: the WireGuard mesh manager is off (file datastore only)');
  } else {
    const starting = startWireguard({
      nodeName: opts.nodeName,
      kubeConfig,
      stateDir: opts.stateDir,
      ...(opts.wgSocketDir === null ? {} : { wgSocketDir: opts.wgSocketDir }),
      deviceMode: opts.wireguardDevice,
      keyRotationIntervalMs: opts.wireguardKeyRotationIntervalMs,
      startedElsewhere: started,
      log: log.child({ component: 'wireguard' }),
      registry,
    });
    components.push({
      name: 'wireguard',
      close: async () => (await starting.catch(() => null))?.close(),
    });
    starting.catch(() => undefined); // awaited below, after the reads the calculation waits for
    startingWireguard = starting;
  }
  // Only the FelixConfigurations hold up the calculation: WireGuard's start (its key files, its
  // own reads of the API server, 0.75-2.4 s under load) goes on beside it. Enforcement's first
  // transaction waits for whichever of the two ends last when WireGuard is on (below).
  const felix = await watchFelixLayers(opts, kubeConfig, log, registry, components, signal);
  const syncSettings = policySyncSettings({ env: process.env, felixLayers: felix.layers });
  if (!syncSettings.ok) throw new Error(syncSettings.error);
  const settings = syncSettings.value;
  const enforcementLog = log.child({ component: 'enforcement' });
  const enforcementFrom = (felixLayers: readonly FelixConfigLayer[]) =>
    enforcementSettings({ env: process.env, felixLayers, datastoreType: settings.datastore.type });
  const enforcing = enforcementFrom(felix.layers);
  if (!enforcing.ok) throw new Error(enforcing.error);
  for (const w of enforcing.value.warnings) log.warn(w);
  log.info(
    { enabled: enforcing.value.enabled, because: enforcing.value.enabledBecause },
    'L3/L4 enforcement',
  );

  // The calculation runs when PolicySync is served or enforcement is on: from the start, or from
  // when a FelixConfiguration switches enforcement on.
  let agentStart: Promise<PolicySyncAgent> | null = null;
  // WireGuard's firewall pieces follow its manager from the moment it has started; what its
  // first reconcile found is what enforcement's first transaction carries, so that one never
  // goes without WireGuard's accept rules or strict drops. With WireGuard off at start (as the
  // FelixConfigurations just read say) there is nothing to wait for: its start goes on beside.
  const wgFirewallOpts = { strict: opts.wireguardStrict };
  let unfollowWireguard: (() => void) | null = null;
  let isWireguardFirewallClosed = false;
  const followWireguard = async (starting: Promise<WireguardHandle>): Promise<void> => {
    const wg = await starting;
    if (isWireguardFirewallClosed) return;
    const catchUp = (): void => live.setWireguard(wireguardFirewall(wg.firewallFacts(), wgFirewallOpts));
    unfollowWireguard = wg.onFirewallFacts(catchUp);
    await wg.firewallFactsKnown();
    if (!isWireguardFirewallClosed) catchUp();
  };
  const followingWireguard = startingWireguard === null ? null : followWireguard(startingWireguard);
  followingWireguard?.catch(() => undefined); // WireGuard's failed start is reported below
  components.push({
    name: 'wireguard-firewall',
    close: () => {
      isWireguardFirewallClosed = true;
      unfollowWireguard?.();
      return Promise.resolve();
    },
  });
  const isWireguardOnAtStart =
    followingWireguard !== null && (!felix.isRead || isWireguardOnBy(felix.layers));
  const live = new LiveEnforcement({
    log: enforcementLog,
    registry,
    calculator: async () => (await startAgent()).calculator,
    wireguard: null,
    ...(isWireguardOnAtStart ? { wireguardKnown: followingWireguard } : {}),
  });
  const startAgent = (): Promise<PolicySyncAgent> => {
    if (agentStart !== null) return agentStart;
    const datastore = prefetched ?? openAgentDatastore(settings.datastore);
    prefetched = null;
    const starting = startPolicySyncAgent({
      nodeName: opts.nodeName,
      datastore,
      log: agentLog,
      registry,
      policySyncPathPrefix: settings.policySyncPathPrefix,
      socketLayout: settings.socketLayout,
      // Only started without a prefix when enforcement consumes the calculation.
      calculateWithoutApi: true,
      onApplied: (_event, changes) => live.onChanges(changes),
    });
    components.push({
      name: 'policy-sync',
      async close() {
        // Ends a start still waiting for its first list; the agent then cleans up after itself.
        await datastore.close();
        await (await starting.catch(() => null))?.close();
      },
    });
    agentStart = starting;
    // A start that failed is tried afresh when asked again.
    starting.catch(() => {
      if (agentStart === starting) agentStart = null;
    });
    if (settings.policySyncPathPrefix !== '')
      void starting.then(
        () =>
          log.info(
            {
              prefix: settings.policySyncPathPrefix,
              from: settings.prefixSource,
              layout: settings.socketLayout,
            },
            'serving PolicySync',
          ),
        () => undefined,
      );
    return starting;
  };
  if (settings.policySyncPathPrefix === '') {
    log.info('policySyncPathPrefix is empty: the PolicySync API is off, as in Felix');
  } else {
    await unlessShutdown(startAgent(), signal);
  }
  // The calculation is in sync before enforcement starts: its first transaction enforces the
  // whole picture. Listed before the calculation it may start, so that a shutdown stops that
  // first (ending a start that waits for the API server); its own close ends a start that waits.
  components.push({ name: 'enforcement', close: () => live.close() });
  // A WireGuard start that fails (an unusable state directory) fails ours, as soon as it does.
  await unlessShutdown(Promise.all([live.start(enforcing.value), startingWireguard]), signal);
  if (prefetched !== null) {
    // Neither PolicySync nor enforcement wanted the calculation: stop the lists started for it.
    const unused: PrefetchedDatastore = prefetched;
    prefetched = null;
    await unused.close();
  }
  felix.onChange((layers) => {
    const next = enforcementFrom(layers);
    if (!next.ok) {
      enforcementLog.error(
        { problem: next.error },
        'FelixConfiguration refused for enforcement; keeping the last good settings',
      );
      if (next.resource !== undefined) felix.reportInvalid(next.resource, next.error);
      return;
    }
    for (const w of next.value.warnings) enforcementLog.warn(w);
    live.update(next.value);
  });
  if (opts.metricsAddr !== null) {
    const starting = startMetricsServer(opts.metricsAddr, registry);
    components.push({ name: 'metrics', close: async () => (await starting.catch(() => null))?.close() });
    const server = await unlessShutdown(starting, signal);
    log.info({ addr: opts.metricsAddr, port: server.port }, 'serving metrics');
  }
}

/** Stops components in reverse order; false if one failed or they took too long. */
async function stopComponents(components: readonly Component[], log: Logger): Promise<boolean> {
  let isClean = true;
  const stopping = (async () => {
    for (const c of [...components].reverse()) {
      await c.close().catch((err: unknown) => {
        isClean = false;
        log.error(
          { component: c.name, err: err instanceof Error ? err.message : String(err) },
          'error while stopping',
        );
      });
    }
  })();
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), SHUTDOWN_TIMEOUT_MS);
  });
  const outcome = await Promise.race([stopping.then(() => 'done' as const), timedOut]);
  clearTimeout(timer);
  if (outcome === 'timeout') {
    log.error({ timeoutMs: SHUTDOWN_TIMEOUT_MS }, 'shutdown timed out');
    return false;
  }
  return isClean;
}

async function main(argv: readonly string[]): Promise<number> {
  if (argv[0] === 'explain') {
    // Loaded only for this command: it brings gRPC and the .proto files, which the daemon's start
    // never needs unless it serves PolicySync.
    const [{ runExplainCommand }, { explainKernel }] = await Promise.all([
      import('../agent/explain-command.js'),
      import('./explain-kernel.js'),
    ]);
    return runExplainCommand(
      argv.slice(1),
      process.env,
      { stdout: (t) => process.stdout.write(t), stderr: (t) => process.stderr.write(t) },
      [explainKernel],
    );
  }
  const parsed = parseAlpNodeArgs(argv, process.env);
  switch (parsed.kind) {
    case 'help':
      process.stdout.write(parsed.text);
      return 0;
    case 'version':
      // The build's code-cache run (scripts/bundle.mjs) first takes the start's path once, so that
      // the cache bin/alp-node writes next holds that path's compiled functions.
      if (process.env.ALP_NODE_WRITE_CODE_CACHE === '1') warmStartPath();
      process.stdout.write(`alp-node ${packageVersion()}\n`);
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
  // Signals are handled before anything starts, so that shutdown works from any state.
  const shutdown = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => {
    if (shutdown.signal.aborted) {
      log.warn({ signal }, 'second signal: exiting without waiting');
      process.exit(1);
    }
    log.info({ signal }, 'shutting down');
    shutdown.abort();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  // Nothing else may hold the event loop open (every timer of ours is unref'd); this does, until
  // we are told to stop.
  const keepAlive = setInterval(() => undefined, 1 << 30);
  const stopped = new Promise<void>((resolve) => shutdown.signal.addEventListener('abort', () => resolve()));

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
  const components: Component[] = [];
  // Work that only tidies up (WireGuard's checks while it is off) waits for the start to end.
  let markStarted!: () => void;
  const started = new Promise<void>((resolve) => (markStarted = resolve));
  let code = 0;
  try {
    await startComponents(opts, log, kubeConfig, registry, components, shutdown.signal, started).finally(
      markStarted,
    );
    log.info({ node: opts.nodeName, components: components.map((c) => c.name) }, 'alp-node started');
    // The start's garbage (the cluster's lists, the first ruleset's text) goes now, once, rather
    // than staying resident in half-empty heap pages for as long as the node runs.
    const compacted = compactHeap();
    if (compacted !== null) log.debug(compacted, 'heap compacted after start');
    await stopped;
  } catch (err) {
    if (!(err instanceof ShutdownRequested)) {
      log.fatal({ err: describeApiError(err) }, 'start-up failed; stopping what had started');
      code = 1;
    }
  }
  if (!(await stopComponents(components, log))) code = 1;
  clearInterval(keepAlive);
  log.info({ exitCode: code }, 'stopped');
  return code;
}

let isSettled = false;
// The event loop running dry while main still waits means it waits for something that can never
// happen: say so rather than exit 0 in silence.
process.on('beforeExit', () => {
  if (isSettled) return;
  process.stderr.write('Error: alp-node stopped with work unfinished (internal error)\n');
  process.exit(1);
});

main(process.argv.slice(2)).then(
  (code) => {
    isSettled = true;
    // Watches and HTTP keep-alive sockets may linger after close; the work is done, so leave.
    // Any child process still running is killed on the way out (daemon/child-processes.ts).
    process.exit(code);
  },
  (err: unknown) => {
    isSettled = true;
    process.stderr.write(`Error: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
