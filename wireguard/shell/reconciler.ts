// Drives one IP family: compute (peer table, desired device) → plan → apply. A full resync reads
// the host back and plans against what is really there (at start, periodically, after any error,
// on config changes and when the device disappears or goes down); otherwise a change is planned
// against what we applied last, so a single added node costs one small `wg` and `ip` call.
// One run at a time; updates arriving meanwhile coalesce into the next run.
import type { IpFamily } from '../../calico/ip.js';
import { backoffDelayMs } from '../../daemon/backoff.js';
import type { Logger } from '../../daemon/log.js';
import { bootstrapDecision, type BootstrapDecision } from '../core/bootstrap.js';
import { familyConfig, type FamilyConfig, type WireguardConfig } from '../core/config.js';
import type { Dataplane } from './dataplane.js';
import {
  assumeApplied,
  desiredDevice,
  deviceMtu,
  deviceSettings,
  type DesiredState,
  type ObservedDevice,
} from '../core/device-state.js';
import type { KeyPair } from '../core/keys.js';
import type { IpamBlockInfo, NodeInfo } from '../core/node-info.js';
import { computePeerTable, PeerTableCache } from '../core/peer-table.js';
import type { FamilyStatus } from '../core/annotations.js';
import type { PeerConflict, SelfAddress } from '../core/peer-table-types.js';
import { patchDevice } from '../core/device-delta.js';
import { familyFactsOf, type WireguardFamilyFacts } from '../core/firewall-facts.js';
import { planDevice, type Step } from '../core/plan.js';

export interface ReconcileInputs {
  readonly config: WireguardConfig;
  readonly nodes: readonly NodeInfo[];
  readonly blocks: readonly IpamBlockInfo[];
}

/** What the controller publishes on our Node after a successful apply. */
export interface ReconcileObserver {
  onApplied(status: FamilyStatus, kind: 'full' | 'delta', durationMs: number, steps: readonly Step[]): void;
  onError(family: IpFamily, err: unknown): void;
}

const RETRY = { initialMs: 1_000, maxMs: 30_000, factor: 2, jitter: 0.2 };

export class FamilyReconciler {
  private inputs: ReconcileInputs | null = null;
  private running: Promise<void> | null = null;
  private isDirty = false;
  private needsFull = true;
  private lastDesired: DesiredState | null = null;
  /** The firewall facts of the device being programmed (set before programming it, so it shows the intent even when programming fails). */
  private firewall: WireguardFamilyFacts | null = null;
  /** The enabled device we last programmed, to clean up after a rename or table change. */
  private lastTarget: { iface: string; table: number } | null = null;
  private lastFamily: string | null = null;
  /** The automatic MTU found at the last full resync. */
  private autoMtu: number | null = null;
  private lastConflicts = '';
  private failures = 0;
  private retryTimer: NodeJS.Timeout | null = null;
  private refreshTimer: NodeJS.Timeout | null = null;
  private refreshMs = 0;
  private closed = false;
  private readonly peerTableCache = new PeerTableCache();

  constructor(
    readonly family: IpFamily,
    private readonly selfName: string,
    private keyPair: KeyPair,
    private readonly dataplane: Dataplane,
    private readonly log: Logger,
    private readonly observer: ReconcileObserver,
  ) {}

  /** Records new inputs and schedules a run. */
  update(inputs: ReconcileInputs): void {
    const fam =
      JSON.stringify(familyConfig(inputs.config, this.family)) + JSON.stringify(globalPart(inputs.config));
    if (this.lastFamily !== null && fam !== this.lastFamily) this.needsFull = true;
    this.lastFamily = fam;
    this.inputs = inputs;
    this.armRefresh(inputs.config.routeRefreshIntervalMs);
    this.kick();
  }

  /**
   * Start-up bootstrap (spec §2.6), before the first update: removes a device left in a state
   * peers cannot talk to, and says whether our published key must go too.
   */
  async bootstrap(config: WireguardConfig, publishedKey: string | null): Promise<BootstrapDecision> {
    const fam = familyConfig(config, this.family);
    const table = config.routeTableIndex;
    const observed = await this.dataplane.observe(this.family, fam.interfaceName, table);
    const decision = bootstrapDecision({
      enabled: fam.enabled,
      ourPublicKey: this.keyPair.publicKey,
      publishedKey,
      device: observed.link === null ? null : { publicKey: observed.wireguard?.publicKey ?? null },
    });
    if (decision.removeDevice) {
      const teardown = { family: this.family, iface: fam.interfaceName, table, routeSync: routeSync(config) };
      const plan = planDevice({ kind: 'disabled', teardown }, observed);
      await this.dataplane.execute(plan.steps, this.keyPair.privateKey);
    }
    return decision;
  }

  /**
   * Key rotation: the next run gives the device this key and starts handshakes with every peer
   * (plan.ts); the status it reports carries the new public key.
   */
  replaceKeyPair(keyPair: KeyPair): void {
    this.keyPair = keyPair;
    this.kick();
  }

  /** Plans the next run against the host as it really is. */
  requestResync(reason: string): void {
    this.log.debug({ reason }, 'full resync requested');
    this.needsFull = true;
    this.kick();
  }

  /** The interface this family manages now (for link events and metrics). */
  currentInterface(): string | null {
    return this.inputs === null ? null : familyConfig(this.inputs.config, this.family).interfaceName;
  }

  /** Firewall facts of the last device computed; null while disabled or not computed yet. */
  firewallFacts(): WireguardFamilyFacts | null {
    return this.firewall;
  }

  isEnabled(): boolean {
    return this.inputs !== null && familyConfig(this.inputs.config, this.family).enabled;
  }

  /** Resolves when no run is in progress or pending (for tests and benchmarks). */
  async idle(): Promise<void> {
    while (this.running !== null) await this.running;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.refreshTimer) clearInterval(this.refreshTimer);
    await this.idle();
  }

  private kick(): void {
    this.isDirty = true;
    if (this.running !== null || this.closed || this.inputs === null) return;
    this.running = this.loop().finally(() => {
      this.running = null;
    });
  }

  private async loop(): Promise<void> {
    while (this.isDirty && !this.closed && this.inputs !== null) {
      this.isDirty = false;
      const inputs = this.inputs;
      const kind = this.needsFull ? 'full' : 'delta';
      // A resync requested while this run is under way sets the flag again for the next run.
      this.needsFull = false;
      const started = performance.now();
      try {
        const { status, steps } = await this.reconcile(inputs, kind === 'full');
        this.failures = 0;
        this.observer.onApplied(status, kind, performance.now() - started, steps);
      } catch (err) {
        this.needsFull = true;
        this.observer.onError(this.family, err);
        this.scheduleRetry();
        return;
      }
    }
  }

  private async reconcile(
    inputs: ReconcileInputs,
    full: boolean,
  ): Promise<{ status: FamilyStatus; steps: Step[] }> {
    const fam = familyConfig(inputs.config, this.family);
    const table = inputs.config.routeTableIndex;
    if (
      this.lastTarget !== null &&
      (this.lastTarget.iface !== fam.interfaceName || this.lastTarget.table !== table)
    ) {
      // Unlike Felix (spec §9.11), a renamed device or moved table leaves nothing behind.
      const old = this.lastTarget;
      const observed = await this.dataplane.observe(this.family, old.iface, old.table);
      const plan = planDevice(
        { kind: 'disabled', teardown: { family: this.family, ...old, routeSync: routeSync(inputs.config) } },
        observed,
      );
      await this.dataplane.execute(plan.steps, this.keyPair.privateKey);
      this.lastTarget = null;
      full = true;
    }
    let observed: ObservedDevice | null = null;
    if (full) {
      const [obs, links] = await Promise.all([
        this.dataplane.observe(this.family, fam.interfaceName, table),
        fam.enabled && fam.mtu === 0 ? this.dataplane.listLinks() : Promise.resolve([]),
      ]);
      observed = obs;
      if (fam.enabled) {
        this.autoMtu = deviceMtu(fam, links, inputs.config.mtuIfacePattern, fam.interfaceName);
      }
    }
    const { desired, peers, selfAddress, steps } = this.computeDesired(inputs, fam, full);
    this.firewall = familyFactsOf(desired);
    if (steps !== null) {
      await this.dataplane.execute(steps, this.keyPair.privateKey);
      this.lastDesired = desired;
      return {
        status: { family: this.family, enabled: true, publicKey: this.keyPair.publicKey, selfAddress, peers },
        steps: [...steps],
      };
    }
    const against =
      observed ??
      assumeApplied(
        this.lastDesired ?? {
          kind: 'disabled',
          teardown: {
            family: this.family,
            iface: fam.interfaceName,
            table,
            routeSync: routeSync(inputs.config),
          },
        },
        this.linkKind(fam.interfaceName),
      );
    const plan = planDevice(desired, against);
    if (plan.blocked !== null) throw new Error(plan.blocked);
    await this.dataplane.execute(plan.steps, this.keyPair.privateKey);
    this.lastDesired = desired;
    this.lastTarget = fam.enabled ? { iface: fam.interfaceName, table } : null;
    return {
      status: {
        family: this.family,
        enabled: fam.enabled,
        publicKey: this.keyPair.publicKey,
        selfAddress,
        peers,
      },
      steps: [...plan.steps],
    };
  }

  /**
   * The desired state, and on a delta run where only peers and routes moved, the steps that get
   * there (patched from the table change instead of planned by comparing everything).
   */
  private computeDesired(
    inputs: ReconcileInputs,
    fam: FamilyConfig,
    full: boolean,
  ): {
    desired: DesiredState;
    peers: number;
    selfAddress: SelfAddress | null;
    steps: readonly Step[] | null;
  } {
    const table = inputs.config.routeTableIndex;
    if (!fam.enabled) {
      return {
        desired: {
          kind: 'disabled',
          teardown: {
            family: this.family,
            iface: fam.interfaceName,
            table,
            routeSync: routeSync(inputs.config),
          },
        },
        peers: 0,
        selfAddress: null,
        steps: null,
      };
    }
    const peerTable = computePeerTable(
      {
        family: this.family,
        selfName: this.selfName,
        selfPublicKey: this.keyPair.publicKey,
        nodes: inputs.nodes,
        blocks: inputs.blocks,
        listenPort: fam.listenPort,
        persistentKeepaliveSeconds: inputs.config.persistentKeepaliveSeconds,
        hostEncryptionEnabled: inputs.config.hostEncryptionEnabled,
      },
      this.peerTableCache,
    );
    this.reportConflicts(peerTable.conflicts);
    const mtu =
      fam.mtu !== 0
        ? fam.mtu
        : (this.autoMtu ?? deviceMtu(fam, [], inputs.config.mtuIfacePattern, fam.interfaceName));
    const summary = { peers: peerTable.peers.length, selfAddress: peerTable.selfAddress };
    const change = this.peerTableCache.lastChange;
    const last = this.lastDesired;
    if (!full && change !== null && last?.kind === 'enabled') {
      const settings = deviceSettings(inputs.config, fam, peerTable.selfAddress, this.keyPair.publicKey, mtu);
      // The patch takes over the last desired device's maps: forget it first, so a failure
      // half-way can never be planned against.
      this.lastDesired = null;
      const delta = patchDevice(last.device, settings, change);
      if (delta !== null)
        return { desired: { kind: 'enabled', device: delta.desired }, ...summary, steps: delta.steps };
      this.lastDesired = last;
    }
    return {
      desired: {
        kind: 'enabled',
        device: desiredDevice(inputs.config, fam, peerTable, this.keyPair.publicKey, mtu),
      },
      ...summary,
      steps: null,
    };
  }

  private linkKind(iface: string): string {
    return this.dataplane.implementation(iface) === 'kernel' ? 'wireguard' : 'tun';
  }

  /** Logs conflicts when they change; nodes without a key are normal while WireGuard rolls out. */
  private reportConflicts(conflicts: readonly PeerConflict[]): void {
    const serious = conflicts.filter((c) => c.kind !== 'missing-key');
    const text = JSON.stringify(serious);
    if (text === this.lastConflicts) return;
    this.lastConflicts = text;
    if (serious.length > 0)
      this.log.warn(
        { conflicts: serious.slice(0, 50), count: serious.length },
        'nodes excluded from the mesh',
      );
    else this.log.info('no peer conflicts');
  }

  private scheduleRetry(): void {
    if (this.closed || this.retryTimer !== null) return;
    const delay = backoffDelayMs(this.failures++, RETRY, Math.random);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.kick();
    }, delay);
  }

  private armRefresh(ms: number): void {
    if (ms === this.refreshMs) return;
    this.refreshMs = ms;
    if (this.refreshTimer) clearInterval(this.refreshTimer);
    this.refreshTimer = ms > 0 ? setInterval(() => this.requestResync('periodic'), ms) : null;
    this.refreshTimer?.unref();
  }
}

/** The config fields shared by both families whose change warrants a full resync. */
function globalPart(c: WireguardConfig): unknown[] {
  return [
    c.routingRulePriority,
    c.routeTableIndex,
    c.firewallMark,
    c.deviceRouteProtocol,
    c.mtuIfacePattern,
    c.threadingEnabled,
    c.routeSyncDisabled,
  ];
}

function routeSync(c: WireguardConfig): boolean {
  return !c.routeSyncDisabled;
}
