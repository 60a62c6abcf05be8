// alp-node's Felix replacement for application-layer policy: a datastore feeds the calculation,
// and each local pod's sidecar gets its own view over its own PolicySync socket.
import type { Registry } from 'prom-client';
import type { Logger } from '../daemon/log.js';
import type { CalcChanges } from './calc/calculator.js';
import { PolicyCalculator } from './calc/calculator.js';
import type { ResourceEvent } from './calc/cluster-model.js';
import type { Datastore } from './datastore/object-tracker.js';
import { describeRef } from './datastore/parse-object.js';
import { createAgentMetrics } from './metrics.js';
import type { PodIdentity, SocketLayout } from './pod-sockets.js';
import { CredentialsWatcher, isSafeUid, prepareSocketPrefix } from './pod-sockets.js';
import type { PolicySyncServer } from './policy-sync-server.js';

export interface PolicySyncAgentOptions {
  readonly nodeName: string;
  readonly datastore: Datastore;
  readonly log: Logger;
  readonly registry: Registry;
  /** FelixConfiguration policySyncPathPrefix (FELIX_POLICYSYNCPATHPREFIX); '' disables the API. */
  readonly policySyncPathPrefix: string;
  /** Default 'csi' (Calico's CSI driver writes the credentials). */
  readonly socketLayout?: SocketLayout;
  /** How often to look for CSI credential files (Felix: 100 ms). */
  readonly credentialsPollMs?: number;
  /**
   * Called after each event is applied, with what changed (the node's dataplane follows the
   * calculation through this; tests and benchmarks observe the agent with it).
   */
  readonly onApplied?: (event: ResourceEvent, changes: CalcChanges) => void;
  /**
   * Run the calculation even when policySyncPathPrefix is '' (no PolicySync API), because
   * someone else (the node's kernel enforcement) consumes it through onApplied and the calculator.
   */
  readonly calculateWithoutApi?: boolean;
}

export interface PolicySyncAgent {
  readonly calculator: PolicyCalculator;
  readonly server: PolicySyncServer | null;
  close(): Promise<void>;
}

export async function startPolicySyncAgent(opts: PolicySyncAgentOptions): Promise<PolicySyncAgent> {
  const log = opts.log.child({ component: 'policy-sync' });
  const layout = opts.socketLayout ?? 'csi';
  const calc = new PolicyCalculator(opts.nodeName);
  const prefix = opts.policySyncPathPrefix;
  if (prefix === '') {
    // As in Felix: without a prefix there is no PolicySync API, so nothing to compute either,
    // unless the calculation also feeds the kernel.
    log.info('policySyncPathPrefix is empty: the PolicySync API is disabled');
    if (opts.calculateWithoutApi !== true)
      return { calculator: calc, server: null, close: () => Promise.resolve() };
    return startCalculationOnly(opts, calc, log);
  }
  await prepareSocketPrefix(prefix, layout);
  // Loaded only when served: gRPC and the .proto files are a fifth of alp-node's load time, and
  // a node that only enforces in the kernel never needs them.
  const { PolicySyncServer } = await import('./policy-sync-server.js');
  // The stalled-streams gauge reads the server, which needs the metrics: tie the knot late.
  const late: { server?: PolicySyncServer } = {};
  const metrics = createAgentMetrics(opts.registry, {
    stalledStreams: () => late.server?.stalledStreamCount() ?? 0,
  });
  const server = new PolicySyncServer({
    prefix,
    source: calc,
    log,
    metrics,
    ownsMountDirs: layout === 'driverless',
  });
  late.server = server;

  const reconcileDriverless = () => {
    if (layout !== 'driverless') return;
    void server.reconcile(driverlessIdentities(calc, log));
  };

  const apply = (event: ResourceEvent) => {
    const stop = metrics.eventSeconds.startTimer();
    const changes = calc.apply(event);
    stop();
    metrics.events.inc({ type: event.type });
    for (const r of changes.rejected)
      log.warn({ object: r.resource, reason: r.reason }, 'policy cannot be used');
    server.notify(changes);
    if (changes.localSidecarPods) reconcileDriverless();
    opts.onApplied?.(event, changes);
  };

  let credentials: CredentialsWatcher | null = null;
  try {
    if (layout === 'csi') {
      credentials = new CredentialsWatcher({
        prefix,
        log,
        intervalMs: opts.credentialsPollMs,
        onChange: (ids) => void server.reconcile(ids),
      });
      await credentials.start();
    }

    await opts.datastore.start({
      onEvent: apply,
      onRejected: (ref, reason) => {
        metrics.refused.inc({ kind: ref.kind });
        log.warn(
          { object: describeRef(ref), reason },
          'refused invalid resource; its last valid revision stays in force',
        );
      },
      onWarning: (ref, message) =>
        log.warn({ object: describeRef(ref), message }, 'resource accepted with a caveat'),
    });
    if (layout === 'driverless') await server.pruneOrphanDirs();
  } catch (err) {
    // Start-up failed or was cut short by close(): stop what already runs (sockets included).
    credentials?.close();
    await opts.datastore.close();
    await server.close();
    throw err;
  }
  log.info(
    { node: opts.nodeName, prefix, layout, endpoints: calc.localEndpointIds().length },
    'policy sync agent in sync',
  );

  return {
    calculator: calc,
    server,
    async close() {
      credentials?.close();
      await opts.datastore.close();
      await server.close();
    },
  };
}

/** The calculation without a PolicySync server: the datastore feeds it, onApplied reads it. */
async function startCalculationOnly(
  opts: PolicySyncAgentOptions,
  calc: PolicyCalculator,
  log: Logger,
): Promise<PolicySyncAgent> {
  try {
    await opts.datastore.start({
      onEvent: (event) => {
        const changes = calc.apply(event);
        for (const r of changes.rejected)
          log.warn({ object: r.resource, reason: r.reason }, 'policy cannot be used');
        opts.onApplied?.(event, changes);
      },
      onRejected: (ref, reason) =>
        log.warn(
          { object: describeRef(ref), reason },
          'refused invalid resource; its last valid revision stays in force',
        ),
      onWarning: (ref, message) =>
        log.warn({ object: describeRef(ref), message }, 'resource accepted with a caveat'),
    });
  } catch (err) {
    await opts.datastore.close();
    throw err;
  }
  log.info({ node: opts.nodeName, endpoints: calc.localEndpointIds().length }, 'policy calculation in sync');
  return { calculator: calc, server: null, close: () => opts.datastore.close() };
}

/** Driverless mode: every local pod that runs the sidecar gets a socket under its UID. */
function driverlessIdentities(calc: PolicyCalculator, log: Logger): Map<string, PodIdentity> {
  const out = new Map<string, PodIdentity>();
  for (const pod of calc.localSidecarPods()) {
    if (!isSafeUid(pod.uid)) {
      log.warn(
        { pod: `${pod.namespace}/${pod.name}`, uid: pod.uid },
        'pod uid is not usable as a directory name',
      );
      continue;
    }
    out.set(pod.uid, {
      uid: pod.uid,
      namespace: pod.namespace,
      workload: pod.name,
      serviceAccount: pod.serviceAccount,
    });
  }
  return out;
}
