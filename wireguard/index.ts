// The WireGuard mesh manager's public API: start it for one node, close it on shutdown.
import type { KubeConfig } from '@kubernetes/client-node';
import type { Registry } from 'prom-client';
import type { FelixConfigLayer } from '../calico/felix-configuration.js';
import type { Logger } from '../daemon/log.js';
import { computeWireguardConfig, isWireguardOn } from './core/config.js';
import { WireguardController } from './shell/controller.js';
import { Dataplane, type DeviceMode } from './shell/dataplane.js';
import { KeyRotator } from './shell/key-rotation.js';
import { loadOrCreateKeyPairs, type KeyLoad } from './shell/key-store.js';
import { LinkWatcher } from './shell/link-watcher.js';
import { WireguardMetrics } from './shell/metrics.js';
import { createRunner } from './shell/runner.js';

import type { WireguardFirewallFacts } from './core/firewall-facts.js';

export type { DeviceMode } from './shell/dataplane.js';
export type { WireguardFamilyFacts, WireguardFirewallFacts } from './core/firewall-facts.js';

export interface WireguardOptions {
  readonly nodeName: string;
  readonly kubeConfig: KubeConfig;
  /** Holds the private keys (0600 files); keep it across restarts and reboots. */
  readonly stateDir: string;
  /** Control-socket directory for `wg` and wireguard-go; default /var/run/wireguard. */
  readonly wgSocketDir?: string;
  readonly log: Logger;
  readonly registry: Registry;
  /** Default `auto`: the kernel device when available, else wireguard-go. */
  readonly deviceMode?: DeviceMode;
  /** FELIX_* overrides; default process.env. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Rotate the keys this often (0 or absent: only on demand); see shell/key-rotation.ts. */
  readonly keyRotationIntervalMs?: number;
  /**
   * Settles when the rest of the node has started; with WireGuard off for both families, the
   * tidying up (device checks, watches) waits for it rather than compete with that start.
   */
  readonly startedElsewhere?: Promise<unknown>;
}

/** Asks alp-node to rotate its WireGuard keys now. */
export const KEY_ROTATION_SIGNAL = 'SIGUSR2';

export interface WireguardHandle {
  /** Stops watching and reconciling. Kernel devices stay (with their key) for the next start;
   *  a wireguard-go device stops with its process. Published annotations stay. */
  close(): Promise<void>;
  /** Resolves when no reconcile or annotation update is in progress (tests, benchmarks). */
  idle(): Promise<void>;
  /** What a node firewall needs to know about WireGuard now (no families while it is off). */
  firewallFacts(): WireguardFirewallFacts;
  /**
   * Resolves once firewallFacts() says what the first reconcile of each family on at start
   * found (at once when WireGuard starts off; also when stopped): a firewall's first rules wait
   * for it. Until then firewallFacts() has no families.
   */
  firewallFactsKnown(): Promise<void>;
  /** Calls `listener` on every change of firewallFacts(); returns the unsubscribe function. */
  onFirewallFacts(listener: (facts: WireguardFirewallFacts) => void): () => void;
}

/**
 * Whether WireGuard is on for either family with these FelixConfigurations (those that apply to
 * the node) and FELIX_* variables, as startWireguard's own start reads them.
 */
export function isWireguardOnBy(
  layers: readonly FelixConfigLayer[],
  env: Readonly<Record<string, string | undefined>> = process.env,
): boolean {
  return isWireguardOn(computeWireguardConfig({ layers, env }, null).config);
}

/**
 * Loads (or creates) the keys, removes stale device state and published keys (the bootstrap, spec
 * §2.6), then watches Nodes, IPAMBlocks and FelixConfigurations and keeps the device, routes,
 * rule and our Node's annotations in line. Resolves once started; the first
 * full resync runs as soon as the Nodes have been listed. Throws only for bad start-up
 * configuration (an unusable state directory).
 */
export async function startWireguard(opts: WireguardOptions): Promise<WireguardHandle> {
  const log = opts.log.child({ component: 'wireguard' });
  const [v4, v6] = (await loadOrCreateKeyPairs(opts.stateDir, [4, 6])) as [KeyLoad, KeyLoad];
  for (const [family, load] of [
    ['v4', v4],
    ['v6', v6],
  ] as const) {
    if (load.kind === 'created' && load.replaced)
      log.warn({ family, path: load.path, reason: load.replaced }, 'replaced unusable key file');
    if (load.kind === 'loaded' && load.finishedRotation === true)
      log.warn({ family, path: load.path }, 'finished a key rotation that was interrupted');
    log.info(
      { family, path: load.path, publicKey: load.keyPair.publicKey, created: load.kind === 'created' },
      'WireGuard key ready',
    );
  }
  const runner = createRunner({
    log,
    secretDir: opts.stateDir,
    ...(opts.wgSocketDir === undefined ? {} : { wgSocketDir: opts.wgSocketDir }),
  });
  let controller: WireguardController | null = null;
  let rotator: KeyRotator | null = null;
  const dataplane = new Dataplane(runner, log, opts.deviceMode ?? 'auto', (iface) =>
    controller?.onDeviceDied(iface),
  );
  const metrics = new WireguardMetrics(
    opts.registry,
    () => controller?.devices() ?? Promise.resolve([]),
    () => controller?.isMetricsEnabled() ?? false,
  );
  const ctl = new WireguardController({
    nodeName: opts.nodeName,
    kubeConfig: opts.kubeConfig,
    keys: { 4: v4.keyPair, 6: v6.keyPair },
    dataplane,
    metrics,
    env: opts.env ?? process.env,
    log,
    registry: opts.registry,
    onOwnNode: (node) => rotator?.onOwnAnnotations(node.metadata?.annotations ?? {}),
    ...(opts.startedElsewhere === undefined ? {} : { startedElsewhere: opts.startedElsewhere }),
  });
  controller = ctl;
  const keyRotator = new KeyRotator({
    stateDir: opts.stateDir,
    intervalMs: opts.keyRotationIntervalMs ?? 0,
    target: ctl,
    log: log.child({ task: 'key-rotation' }),
  });
  rotator = keyRotator;
  const onRotationSignal = (): void => keyRotator.request('signal');
  process.on(KEY_ROTATION_SIGNAL, onRotationSignal);
  await keyRotator.start();
  const watcher = new LinkWatcher(runner, log, (e) => ctl.onLinkEvent(e));
  watcher.start();
  const started = ctl
    .start()
    .catch((err: unknown) => log.error({ err: String(err) }, 'wireguard controller failed to start'));
  return {
    async close() {
      process.off(KEY_ROTATION_SIGNAL, onRotationSignal);
      keyRotator.close();
      watcher.close();
      await ctl.close();
      await started;
      await dataplane.close();
      log.info('wireguard stopped');
    },
    idle: () => ctl.idle(),
    firewallFacts: () => ctl.firewallFacts(),
    firewallFactsKnown: () => ctl.firewallFactsKnown(),
    onFirewallFacts: (listener) => ctl.onFirewallFacts(listener),
  };
}
