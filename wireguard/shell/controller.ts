// Wires the mesh together: informer events → plain node/block/config facts → one reconciler per
// IP family → our Node's annotations. Also turns device trouble (a link deleted or downed behind
// our back, a wireguard-go child that died, a watch that recovered) into full resyncs.
import { CoreV1Api, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import type { Registry } from 'prom-client';
import {
  felixConfigurationFromObject,
  selectFelixConfigurations,
  type FelixConfigSelection,
  type FelixConfigurationResource,
} from '../../calico/felix-configuration.js';
import type { IpFamily } from '../../calico/ip.js';
import { labelsFromObject, type Labels } from '../../calico/labels.js';
import { describeApiError, makeApiClient } from '../../kube/api-client.js';
import type { ReflectorTuning } from '../../kube/reflector.js';
import type { Logger } from '../../daemon/log.js';
import { annotationChanges } from '../core/annotations.js';
import {
  computeWireguardConfig,
  familyConfig,
  isWireguardOn,
  type ConfigProblem,
  type WireguardConfig,
} from '../core/config.js';
import type { Dataplane } from './dataplane.js';
import { ResourceInformers, type InformerEvent } from './informers.js';
import type { LinkEvent } from '../core/ip-monitor.js';
import type { KeyPair } from '../core/keys.js';
import type { DeviceSnapshot, WireguardMetrics } from './metrics.js';
import {
  ANNOTATION_PUBLIC_KEY_V4,
  ANNOTATION_PUBLIC_KEY_V6,
  ipamBlockFromObject,
  nodeInfoFromObject,
  type IpamBlockInfo,
  type NodeInfo,
} from '../core/node-info.js';
import { NodePublisher } from './node-publisher.js';
import type { FamilyStatus } from '../core/annotations.js';
import { FamilyReconciler } from './reconciler.js';
import {
  firewallFactsOf,
  NO_WIREGUARD_FACTS,
  sameFirewallFacts,
  type WireguardFirewallFacts,
} from '../core/firewall-facts.js';
import { readStartState } from './start-state.js';
import type { Step } from '../core/plan.js';

export interface ControllerOptions {
  readonly nodeName: string;
  readonly kubeConfig: KubeConfig;
  readonly keys: Readonly<Record<IpFamily, KeyPair>>;
  readonly dataplane: Dataplane;
  readonly metrics: WireguardMetrics;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly log: Logger;
  /** For the watches' own metrics. */
  readonly registry: Registry;
  readonly watchTuning?: Partial<ReflectorTuning>;
  /** Every event for our own Node (key rotation reads its request annotation there). */
  readonly onOwnNode?: (node: KubernetesObject) => void;
  /**
   * Settles when the rest of the node has started. While it has not, and WireGuard is off for
   * both families, the device checks and the watches wait for it: they only tidy up, and their
   * `ip` processes and API lists would compete with the node's own start for CPU.
   */
  readonly startedElsewhere?: Promise<unknown>;
}

/** Whether a family's key can be rotated now. */
export type RotationReadiness = 'ready' | 'disabled' | 'not-ready';

const LINK_EVENT_DEBOUNCE_MS = 100;

export class WireguardController {
  private readonly nodes = new Map<string, NodeInfo>();
  private readonly blocks = new Map<string, IpamBlockInfo>();
  private readonly reconcilers: readonly FamilyReconciler[];
  private readonly statuses = new Map<IpFamily, FamilyStatus>();
  /** A rotation's new public key, published before the device takes it (key-rotation.ts). */
  private readonly pendingKeys = new Map<IpFamily, string>();
  private readonly informers: ResourceInformers;
  private readonly publisher: NodePublisher;
  private config: WireguardConfig | null = null;
  /** The last config computed, so an invalid new value keeps the last good one. */
  private previousConfig: WireguardConfig | null = null;
  private lastConfigReport = '';
  /** Our Node's labels, which pick the selector-scoped FelixConfiguration; null without our Node. */
  private ownLabels: Labels | null = null;
  private isSynced = false;
  private isScheduled = false;
  private isClosed = false;
  private readonly linkTimers = new Map<IpFamily, NodeJS.Timeout>();
  private firewall: WireguardFirewallFacts = NO_WIREGUARD_FACTS;
  private readonly firewallListeners = new Set<(facts: WireguardFirewallFacts) => void>();
  /** Ends the publisher's requests in flight on close(), rather than waiting out their deadline. */
  private readonly closing = new AbortController();
  /** Families on at the initial sync whose first reconcile has not ended yet; null before it. */
  private firstRunsPending: Set<IpFamily> | null = null;
  private markFactsKnown!: () => void;
  private readonly factsKnown = new Promise<void>((resolve) => (this.markFactsKnown = resolve));

  constructor(private readonly opts: ControllerOptions) {
    const { log } = opts;
    this.reconcilers = ([4, 6] as const).map(
      (family) =>
        new FamilyReconciler(
          family,
          opts.nodeName,
          opts.keys[family],
          opts.dataplane,
          log.child({ family: `v${family}` }),
          {
            onApplied: (status, kind, ms, steps) => this.onApplied(status, kind, ms, steps),
            onError: (family, err) => {
              opts.metrics.failed(family);
              this.updateFirewall();
              this.onFirstRunEnded(family);
              log.error(
                { family: `v${family}`, err: err instanceof Error ? err.message : String(err) },
                'reconcile failed; will resync',
              );
            },
          },
        ),
    );
    this.informers = new ResourceInformers(
      opts.kubeConfig,
      log,
      opts.registry,
      (e) => this.onInformerEvent(e),
      (resource) => {
        log.info({ resource }, 'watch recovered; full resync');
        for (const r of this.reconcilers) r.requestResync(`${resource} watch recovered`);
      },
      opts.watchTuning,
    );
    this.publisher = new NodePublisher(
      makeApiClient(opts.kubeConfig, CoreV1Api, { signal: this.closing.signal }),
      opts.nodeName,
      log,
    );
  }

  /** Bootstraps, then starts watching; the first (full) reconcile runs once Nodes have been listed. */
  async start(): Promise<void> {
    try {
      await this.bootstrap();
      if (this.isClosed) return;
      try {
        await this.informers.start();
      } catch (err) {
        if (this.isClosed) return; // stopped before the first list: nothing to do
        throw err;
      }
    } catch (err) {
      // No facts will come: a firewall waiting for them goes on without.
      this.markFactsKnown();
      throw err;
    }
    if (this.isClosed) return;
    this.isSynced = true;
    this.opts.log.info({ nodes: this.nodes.size, blocks: this.blocks.size }, 'initial sync done');
    this.recompute();
    this.firstRunsPending = new Set(this.reconcilers.filter((r) => r.isEnabled()).map((r) => r.family));
    if (this.firstRunsPending.size === 0) this.markFactsKnown();
  }

  /**
   * Resolves once firewallFacts() holds what the first reconcile of each family on at the initial
   * sync computed (whether its device was then programmed or failed); at once when the start finds
   * WireGuard off for both families; and when the controller stops or fails to start. A firewall
   * waits for it before its first rules, so that they never go without WireGuard's pieces.
   */
  firewallFactsKnown(): Promise<void> {
    return this.factsKnown;
  }

  /**
   * Felix's start-up bootstrap (spec §2.6), before any watch: with the configuration and our Node
   * read directly, each family removes a device, and we remove a published key, that peers would
   * route into while this node cannot answer. Best effort: if the API server cannot be read, the
   * first reconcile repairs the same state a little later.
   */
  private async bootstrap(): Promise<void> {
    const { log } = this.opts;
    const state = await readStartState(
      this.opts.kubeConfig,
      this.opts.nodeName,
      log,
      () => this.isClosed,
      this.closing.signal,
    );
    if (state === null) return;
    const { selection, node } = state;
    const config = computeWireguardConfig({ layers: selection.layers, env: this.opts.env }, null).config;
    // Off at start: no facts to wait for (a change of mind later arrives as any change does).
    if (!isWireguardOn(config)) this.markFactsKnown();
    if (!config.enabledV4 && !config.enabledV6 && this.opts.startedElsewhere !== undefined) {
      await this.untilClosedOr(this.opts.startedElsewhere);
      if (this.isClosed) return;
    }
    const annotations = node?.metadata?.annotations ?? {};
    const keep = new Map<string, string | null>();
    for (const r of this.reconcilers) {
      const name = r.family === 4 ? ANNOTATION_PUBLIC_KEY_V4 : ANNOTATION_PUBLIC_KEY_V6;
      const published = annotations[name] ?? null;
      try {
        const decision = await r.bootstrap(config, published === '' ? null : published);
        if (decision.reason === null) continue;
        log.info({ family: `v${r.family}`, ...decision }, 'bootstrap: removing stale WireGuard state');
        // Removed unless it is (by then) our own key; a disabled family publishes none at all.
        if (decision.clearPublishedKey)
          keep.set(name, familyConfig(config, r.family).enabled ? this.opts.keys[r.family].publicKey : null);
      } catch (err) {
        log.warn(
          { family: `v${r.family}`, err: describeApiError(err) },
          'bootstrap: could not check the device',
        );
      }
    }
    if (keep.size === 0 || this.isClosed) return;
    try {
      const removed = await this.publisher.removeUnlessHolding(keep);
      if (removed.length > 0) log.info({ annotations: removed }, 'bootstrap: removed stale published keys');
    } catch (err) {
      log.warn({ err: describeApiError(err) }, 'bootstrap: could not remove stale published keys');
    }
  }

  /** Resolves when `p` settles or this controller is closed, whichever comes first. */
  private untilClosedOr(p: Promise<unknown>): Promise<void> {
    const settled = p.then(
      () => undefined,
      () => undefined,
    );
    if (this.closing.signal.aborted) return Promise.resolve();
    return Promise.race([
      settled,
      new Promise<void>((resolve) =>
        this.closing.signal.addEventListener('abort', () => resolve(), { once: true }),
      ),
    ]);
  }

  /** The devices the metrics report: enabled families' devices as `wg` sees them. */
  async devices(): Promise<DeviceSnapshot[]> {
    const out: DeviceSnapshot[] = [];
    for (const r of this.reconcilers) {
      const iface = r.currentInterface();
      if (!r.isEnabled() || iface === null) continue;
      const dump = await this.opts.dataplane.readDump(iface);
      if (dump !== null) out.push({ iface, dump });
    }
    return out;
  }

  /** What a node firewall needs (device, port, peer CIDRs, host-encryption mark), as last computed. */
  firewallFacts(): WireguardFirewallFacts {
    return this.firewall;
  }

  /** Calls `listener` whenever firewallFacts() changes; returns the unsubscribe function. */
  onFirewallFacts(listener: (facts: WireguardFirewallFacts) => void): () => void {
    this.firewallListeners.add(listener);
    return () => this.firewallListeners.delete(listener);
  }

  isMetricsEnabled(): boolean {
    return this.config?.metricsEnabled ?? true;
  }

  /** A link event from `ip monitor`: our device gone or down means resync now. */
  onLinkEvent(event: LinkEvent): void {
    for (const r of this.reconcilers) {
      if (!r.isEnabled() || r.currentInterface() !== event.iface || (!event.isDeleted && event.isUp))
        continue;
      if (this.linkTimers.has(r.family)) continue;
      this.linkTimers.set(
        r.family,
        setTimeout(() => {
          this.linkTimers.delete(r.family);
          r.requestResync(event.isDeleted ? 'device deleted' : 'device down');
        }, LINK_EVENT_DEBOUNCE_MS),
      );
    }
  }

  rotationReadiness(family: IpFamily): RotationReadiness {
    const r = this.reconcilerFor(family);
    if (this.isSynced && !r.isEnabled()) return 'disabled';
    return this.statuses.get(family)?.enabled === true ? 'ready' : 'not-ready';
  }

  /**
   * Key rotation, first half: our Node carries `publicKey` for the family while the device
   * keeps its key. Resolves once the API server has it; rejects after `timeoutMs`, and the
   * device's key is then published again.
   */
  async publishNextKey(family: IpFamily, publicKey: string, timeoutMs: number): Promise<void> {
    this.pendingKeys.set(family, publicKey);
    try {
      await this.publisher.publishAndConfirm(
        this.publishedStatuses(),
        (written) => written.some((s) => s.family === family && s.publicKey === publicKey),
        timeoutMs,
      );
    } catch (err) {
      this.pendingKeys.delete(family);
      this.maybePublish();
      throw err;
    }
  }

  /**
   * Key rotation, second half: the device takes the key published by publishNextKey and starts
   * handshakes with every peer. Resolves when the reconcile has run (it retries on failure).
   */
  async switchKey(family: IpFamily, keyPair: KeyPair): Promise<void> {
    const reconciler = this.reconcilerFor(family);
    reconciler.replaceKeyPair(keyPair);
    await reconciler.idle();
  }

  /** Removes a key rotation request from our Node if it still has `value`. */
  removeOwnAnnotationIfUnchanged(name: string, value: string): Promise<boolean> {
    return this.publisher.removeAnnotationIfUnchanged(name, value);
  }

  /** Our wireguard-go child died: its device is gone. */
  onDeviceDied(iface: string): void {
    for (const r of this.reconcilers)
      if (r.currentInterface() === iface) r.requestResync('wireguard-go exited');
  }

  /** Resolves when no reconcile or publication is running (tests and benchmarks). */
  async idle(): Promise<void> {
    await Promise.all(this.reconcilers.map((r) => r.idle()));
    await this.publisher.idle();
  }

  async close(): Promise<void> {
    this.isClosed = true;
    this.markFactsKnown();
    for (const t of this.linkTimers.values()) clearTimeout(t);
    this.closing.abort();
    await this.informers.close();
    await Promise.all(this.reconcilers.map((r) => r.close()));
    await this.publisher.close();
  }

  private onInformerEvent(e: InformerEvent): void {
    const name = e.object.metadata?.name ?? '';
    switch (e.resource) {
      case 'nodes': {
        const info = e.type === 'upsert' ? nodeInfoFromObject(e.object) : null;
        if (info === null) this.nodes.delete(name);
        else this.nodes.set(name, info);
        if (name === this.opts.nodeName) {
          this.onOwnLabels(e.type === 'upsert' ? labelsFromObject(e.object.metadata?.labels) : null);
          this.maybePublish();
          if (e.type === 'upsert') this.opts.onOwnNode?.(e.object);
        }
        break;
      }
      case 'ipamblocks': {
        const block = e.type === 'upsert' ? ipamBlockFromObject(e.object) : null;
        if (block === null) this.blocks.delete(name);
        else this.blocks.set(name, block);
        break;
      }
      case 'felixconfigurations':
        // Any resource may select us through its nodeSelector, so every change is a candidate.
        this.config = null;
        break;
      default: {
        const never: never = e.resource;
        throw new Error(`unknown resource ${String(never)}`);
      }
    }
    this.schedule();
  }

  /** Coalesces a burst of events (e.g. the initial list) into one recompute. */
  private schedule(): void {
    if (!this.isSynced || this.isScheduled) return;
    this.isScheduled = true;
    setImmediate(() => {
      this.isScheduled = false;
      this.recompute();
    });
  }

  private recompute(): void {
    const config = this.currentConfig();
    const inputs = { config, nodes: [...this.nodes.values()], blocks: [...this.blocks.values()] };
    for (const r of this.reconcilers) r.update(inputs);
  }

  /** A label change can move us into or out of a selector-scoped FelixConfiguration. */
  private onOwnLabels(labels: Labels | null): void {
    if (sameLabels(labels, this.ownLabels)) return;
    this.ownLabels = labels;
    this.config = null;
  }

  private currentConfig(): WireguardConfig {
    if (this.config !== null) return this.config;
    const resources = this.informers
      .list('felixconfigurations')
      .map(felixConfigurationFromObject)
      .filter((r): r is FelixConfigurationResource => r !== null);
    const selection = selectFelixConfigurations(resources, this.opts.nodeName, this.ownLabels);
    const result = computeWireguardConfig(
      { layers: selection.layers, env: this.opts.env },
      this.previousConfig,
    );
    this.reportProblems(selection, result.problems);
    this.config = result.config;
    this.previousConfig = result.config;
    return result.config;
  }

  private reportProblems(selection: FelixConfigSelection, problems: readonly ConfigProblem[]): void {
    const applied = selection.layers.map((l) => `${l.source}:${l.name}`);
    const text = JSON.stringify([applied, selection.problems, problems]);
    if (text === this.lastConfigReport) return;
    this.lastConfigReport = text;
    this.opts.log.info({ felixConfigurations: applied }, 'FelixConfigurations that apply to this node');
    for (const p of selection.problems)
      this.opts.log.warn(p, 'selector-scoped FelixConfiguration not applied');
    for (const p of problems)
      this.opts.log.warn(p, 'invalid WireGuard setting ignored; keeping the last good value');
  }

  private onApplied(
    status: FamilyStatus,
    kind: 'full' | 'delta',
    durationMs: number,
    steps: readonly Step[],
  ): void {
    const family = `v${status.family}`;
    this.opts.metrics.reconciled(status.family, kind, durationMs, status.peers);
    const previous = this.statuses.get(status.family);
    this.statuses.set(status.family, status);
    this.updateFirewall();
    this.onFirstRunEnded(status.family);
    // A rotation is over once the device carries the key published ahead of it.
    if (!status.enabled || this.pendingKeys.get(status.family) === status.publicKey)
      this.pendingKeys.delete(status.family);
    if (steps.length > 0 || previous?.enabled !== status.enabled) {
      this.opts.log.info(
        {
          family,
          kind,
          enabled: status.enabled,
          peers: status.peers,
          steps: summarize(steps),
          ms: Math.round(durationMs),
        },
        'dataplane reconciled',
      );
    }
    this.maybePublish();
  }

  /** What our Node should say: the device's state, with a rotation's new key already in it. */
  private publishedStatuses(): FamilyStatus[] {
    return [...this.statuses.values()].map((s) => {
      const pending = this.pendingKeys.get(s.family);
      return pending === undefined || !s.enabled ? s : { ...s, publicKey: pending };
    });
  }

  private updateFirewall(): void {
    const next = firewallFactsOf(
      this.config ?? this.previousConfig,
      this.reconcilers.map((r) => r.firewallFacts()),
    );
    if (sameFirewallFacts(next, this.firewall)) return;
    this.firewall = next;
    for (const listener of this.firewallListeners) {
      try {
        listener(next);
      } catch (err) {
        this.opts.log.error({ err: String(err) }, 'WireGuard firewall listener failed');
      }
    }
  }

  private onFirstRunEnded(family: IpFamily): void {
    if (this.firstRunsPending === null || !this.firstRunsPending.delete(family)) return;
    if (this.firstRunsPending.size === 0) this.markFactsKnown();
  }

  private reconcilerFor(family: IpFamily): FamilyReconciler {
    return this.reconcilers.find((r) => r.family === family) as FamilyReconciler;
  }

  private maybePublish(): void {
    const statuses = this.publishedStatuses();
    if (statuses.length === 0) return;
    const own = this.informers.get('nodes', this.opts.nodeName) as KubernetesObject | undefined;
    if (own !== undefined && annotationChanges(own.metadata?.annotations ?? {}, statuses) === null) return;
    this.publisher.publish(statuses);
  }
}

function sameLabels(a: Labels | null, b: Labels | null): boolean {
  if (a === null || b === null) return a === b;
  if (a.size !== b.size) return false;
  for (const [k, v] of a) if (b.get(k) !== v) return false;
  return true;
}

function summarize(steps: readonly Step[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const s of steps) counts[s.op] = (counts[s.op] ?? 0) + 1;
  return counts;
}
