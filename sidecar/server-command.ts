// `dikastes server`: the ext_authz + Healthz gRPC server fed by a PolicySync client, the optional
// /terminate and metrics endpoints, and graceful shutdown on SIGTERM, SIGINT or /terminate.
import { createLogger } from '../daemon/log.js';
import { startMetricsServer, type MetricsServer } from '../daemon/metrics-server.js';
import type { ServerCommand } from './cli.js';
import { createCheckHandler } from './ext-authz-service.js';
import { startSidecarServer } from './grpc-server.js';
import { createHealthzHandlers } from './healthz.js';
import { createSidecarMetrics } from './metrics.js';
import { PolicySyncClient } from './policy-sync-client.js';
import { startTerminateServer, terminateConfigFromEnv, type TerminateServer } from './terminate.js';

/** How long in-flight Checks may take to finish at shutdown before their calls are cut. */
const SHUTDOWN_GRACE_MS = 10_000;

export async function runServer(cmd: ServerCommand): Promise<number> {
  const log = createLogger({ name: 'dikastes', level: cmd.logLevel, format: cmd.logFormat });
  const terminate = terminateConfigFromEnv(process.env);
  if (!terminate.ok) {
    log.fatal({ error: terminate.error }, 'invalid terminate endpoint configuration');
    return 1;
  }
  // Signals are caught before the socket exists, so a SIGTERM during start-up still shuts down cleanly.
  let stopRequested: (why: string) => void = () => undefined;
  const stopped = new Promise<string>((resolve) => (stopRequested = resolve));
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      log.info({ signal }, 'got signal');
      stopRequested(signal);
    });
  }
  const metrics = createSidecarMetrics(() => policySync.liveStore?.stats() ?? null);
  const policySync = new PolicySyncClient({
    dial: cmd.dial,
    maxMessageBytes: cmd.maxMessageBytes,
    log: log.child({ component: 'policy-sync' }),
    onInSyncChange: (v) => metrics.inSync.set(v ? 1 : 0),
    onReconnect: () => metrics.reconnects.inc(),
    onRejected: (n) => metrics.rejectedUpdates.inc(n),
  });
  const server = await startSidecarServer({
    socketPath: cmd.listen,
    tcpAddress: cmd.listenTcp,
    check: createCheckHandler({
      store: () => policySync.liveStore,
      denyDetails: cmd.denyDetails,
      log: log.child({ component: 'ext-authz' }),
      metrics,
    }),
    healthz: createHealthzHandlers(() => policySync.isReady),
  });
  log.info({ listen: cmd.listen, tcpPort: server.tcpPort, dial: cmd.dial }, 'dikastes serving');
  policySync.start();

  let metricsServer: MetricsServer | null = null;
  if (cmd.metricsAddr !== null) {
    metricsServer = await startMetricsServer(cmd.metricsAddr, metrics.registry);
    log.info({ port: metricsServer.port }, 'serving metrics');
  }

  let terminateServer: TerminateServer | null = null;
  if (terminate.bind !== null) {
    terminateServer = await startTerminateServer(terminate.bind, () => {
      log.info('received HTTP termination request');
      stopRequested('terminate');
    });
    log.info({ address: terminateServer.address, port: terminateServer.port }, 'serving /terminate');
  }

  const why = await stopped;
  await server.stop(SHUTDOWN_GRACE_MS);
  await terminateServer?.close();
  await metricsServer?.close();
  await policySync.close();
  log.info({ why }, 'dikastes stopped');
  return 0;
}
