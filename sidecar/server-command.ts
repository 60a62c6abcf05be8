// `dikastes server`: the ext_authz + Healthz gRPC server fed by a PolicySync client, the optional
// /terminate and metrics endpoints, and graceful shutdown on a stop request (SIGTERM, SIGINT, from
// main) or /terminate. Start-up is all or nothing: if any part cannot start, what had started is
// closed again, the socket file removed, and the command fails (spec dikastes.md §1.5 makes each
// of these failures fatal too).
import { setFlagsFromString } from 'node:v8';
import { Components, StartupError, StopRequested } from '../daemon/components.js';
import { parseHostPort, type HostPort } from '../daemon/host-port.js';
import { createLogger, type Logger } from '../daemon/log.js';
import { startMetricsServer } from '../daemon/metrics-server.js';
import type { ServerCommand } from './cli.js';
import { createCheckHandler } from './ext-authz-service.js';
import { startSidecarServer } from './grpc-server.js';
import { createHealthzHandlers } from './healthz.js';
import { createSidecarMetrics } from './metrics.js';
import { PolicySyncClient } from './policy-sync-client.js';
import { startTerminateServer, terminateConfigFromEnv } from './terminate.js';

let heapGrowthTightened = false;

/**
 * From the first InSync on, old space may grow only 50 % (or V8's minimum step) past what the
 * last full GC kept, instead of up to 4× on a machine with GBs of memory. Under sustained load
 * the peak RSS was dead old space (60-99 MiB committed, ~24-32 MiB live) and ~100 MiB of malloc'd
 * memory that only full GCs gave back: most likely Node's HTTP/2 read buffers (64 KiB each, one
 * per socket read, handed to JS as ArrayBuffers that keep them until collected). 20 % kept the
 * peak 5 MiB lower but cost CPU per Check at 64 in flight. Not before the first InSync: the
 * apply grows the heap in small steps, and a full GC at each cost ~15 % more snapshot CPU. V8
 * reads the flag whenever it sets the next GC's limit (BENCHMARKS.md, sidecar).
 */
function tightenHeapGrowth(): void {
  if (heapGrowthTightened) return;
  heapGrowthTightened = true;
  setFlagsFromString('--heap-growing-percent=50');
}

/** How long in-flight Checks may take to finish at shutdown before their calls are cut. */
const SHUTDOWN_GRACE_MS = 10_000;

function untilAborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}

/** A flag value the command line already checked. */
function checkedHostPort(text: string): HostPort {
  const addr = parseHostPort(text);
  if (addr === null) throw new Error(`unchecked listen address "${text}"`);
  return addr;
}

async function closeAll(components: Components, log: Logger): Promise<boolean> {
  const failures = await components.closeAll();
  for (const { step, error } of failures) log.error({ step, err: error }, 'could not close cleanly');
  return failures.length === 0;
}

/** Runs until `stopRequest` aborts (its reason is logged) or /terminate; resolves with the exit code. */
export async function runServer(cmd: ServerCommand, stopRequest: AbortSignal): Promise<number> {
  const log = createLogger({ name: 'dikastes', level: cmd.logLevel, format: cmd.logFormat });
  const terminate = terminateConfigFromEnv(process.env);
  if (!terminate.ok) {
    log.fatal({ error: terminate.error }, 'invalid terminate endpoint configuration');
    return 1;
  }
  const terminateRequest = new AbortController();
  const stop = AbortSignal.any([stopRequest, terminateRequest.signal]);
  stopRequest.addEventListener('abort', () => log.info({ signal: stopRequest.reason }, 'got signal'), {
    once: true,
  });

  const metrics = createSidecarMetrics(() => policySync.liveStore?.stats() ?? null);
  const policySync = new PolicySyncClient({
    dial: cmd.dial,
    maxMessageBytes: cmd.maxMessageBytes,
    log: log.child({ component: 'policy-sync' }),
    onInSyncChange: (v) => {
      metrics.inSync.set(v ? 1 : 0);
      if (v) tightenHeapGrowth();
    },
    onReconnect: () => metrics.reconnects.inc(),
    onRejected: (n) => metrics.rejectedUpdates.inc(n),
  });
  const components = new Components(stop);
  try {
    const server = await components.start(`--listen ${cmd.listen}`, async () => {
      const started = await startSidecarServer({
        socketPath: cmd.listen,
        check: createCheckHandler({
          store: () => policySync.liveStore,
          denyDetails: cmd.denyDetails,
          log: log.child({ component: 'ext-authz' }),
          metrics,
        }),
        healthz: createHealthzHandlers(() => policySync.isReady),
        onInternalError: (err) => log.error({ err }, 'internal error serving a connection; closed it'),
      });
      return { ...started, close: () => started.stop(SHUTDOWN_GRACE_MS) };
    });
    let tcpPort: number | null = null;
    if (cmd.listenTcp !== null) {
      const addr = checkedHostPort(cmd.listenTcp);
      tcpPort = await components.run(`--listen-tcp ${cmd.listenTcp}`, () => server.listenTcp(addr));
    }
    log.info({ listen: cmd.listen, tcpPort, dial: cmd.dial }, 'dikastes serving');

    if (cmd.metricsAddr !== null) {
      const addr = cmd.metricsAddr;
      const metricsServer = await components.start(`--metrics-addr ${addr}`, () =>
        startMetricsServer(addr, metrics.registry),
      );
      log.info({ port: metricsServer.port }, 'serving metrics');
    }

    if (terminate.bind !== null) {
      const bind = terminate.bind;
      const terminateServer = await components.start(
        `/terminate endpoint on ${bind.address} port ${bind.port} (DIKASTES_HTTP_BIND_ADDR, DIKASTES_HTTP_BIND_PORT)`,
        () =>
          startTerminateServer(bind, () => {
            log.info('received HTTP termination request');
            terminateRequest.abort('terminate');
          }),
      );
      log.info({ address: terminateServer.address, port: terminateServer.port }, 'serving /terminate');
    }

    await components.start(`PolicySync client for ${cmd.dial}`, async () => {
      policySync.start();
      return policySync;
    });
  } catch (err) {
    const isStopRequest = err instanceof StopRequested;
    if (err instanceof StartupError) log.fatal({ step: err.step }, `dikastes cannot start: ${err.message}`);
    else if (!isStopRequest) log.fatal({ err }, 'dikastes cannot start');
    const closedCleanly = await closeAll(components, log);
    if (!isStopRequest) return 1;
    log.info({ why: err.why }, 'dikastes stopped during start-up');
    return closedCleanly ? 0 : 1;
  }

  await untilAborted(stop);
  const closedCleanly = await closeAll(components, log);
  log.info({ why: String(stop.reason) }, 'dikastes stopped');
  return closedCleanly ? 0 : 1;
}
