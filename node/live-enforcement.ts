// Enforcement settings applied while alp-node runs (FelixConfiguration edits, Felix's precedence,
// FELIX_* overrides still winning). One change at a time, always towards the latest settings:
// - off → on: a new controller programs the table (one transaction, as at start-up);
// - on → off: the table is removed;
// - on, other settings (interfacePrefix, defaultEndpointToHostAction, the refresh interval):
//   a handover, as at a restart: the running controller stops and leaves its rules in force, and
//   a new one with the new settings replaces them in one transaction, so no selected pod is ever
//   without rules.
// Settings that cannot be enforced are refused before anything is touched (the last good ones
// stay); a step that fails (nft refusing a transaction) is retried with back-off, the rules last
// programmed staying in force meanwhile.
import type { Registry } from 'prom-client';
import type { PolicyCalculator } from '../agent/calc/calculator.js';
import type { CalcChanges } from '../agent/calc/calculator.js';
import { backoffDelayMs } from '../daemon/backoff.js';
import type { Logger } from '../daemon/log.js';
import type { WireguardFirewall } from '../dataplane/core/index.js';
import { enforcementChange, type EnforcementSettings } from './enforcement-config.js';
import { nftUnavailableReason } from '../dataplane/shell/nft-channel.js';
import {
  createNodeEnforcement,
  removeLeftoverTable,
  settingsProblem,
  type NodeEnforcement,
} from './enforcement.js';

const RETRY = { initialMs: 500, maxMs: 30_000, factor: 2, jitter: 0.3 };

export interface LiveEnforcementOptions {
  readonly log: Logger;
  readonly registry: Registry;
  /** The calculation to enforce, in sync; asked for only when enforcement is (or turns) on. */
  readonly calculator: () => Promise<PolicyCalculator>;
  /** WireGuard's firewall pieces at construction (see setWireguard). */
  readonly wireguard: WireguardFirewall | null;
  /**
   * Settles once setWireguard has been given WireGuard's pieces at start; until then enforcement
   * programs nothing, so that its first transaction never goes without them. A rejection fails
   * the start. Default: known at construction.
   */
  readonly wireguardKnown?: Promise<void>;
  /** Removes our table when enforcement is off (default removeLeftoverTable). */
  readonly removeTable?: (log: Logger) => Promise<void>;
}

export class LiveEnforcement {
  private applied: EnforcementSettings | null = null;
  private desired: EnforcementSettings | null = null;
  private current: NodeEnforcement | null = null;
  private wireguard: WireguardFirewall | null;
  private running: Promise<void> | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private failures = 0;
  private isClosed = false;
  /** The start in progress, for close() to wait for (never rejects). */
  private starting: Promise<void> = Promise.resolve();
  private markClosed!: () => void;
  /** Settles on close(): ends a start still waiting for the calculation or WireGuard. */
  private readonly closed = new Promise<void>((resolve) => (this.markClosed = resolve));

  constructor(private readonly opts: LiveEnforcementOptions) {
    this.wireguard = opts.wireguard;
  }

  /**
   * Applies the start-up settings: programs the table when on, removes a leftover one when
   * explicitly off. Throws when enforcement cannot start (start-up then fails, as before).
   */
  start(settings: EnforcementSettings): Promise<void> {
    const starting = this.applyAtStart(settings);
    this.starting = starting.catch(() => undefined);
    return starting;
  }

  private async applyAtStart(settings: EnforcementSettings): Promise<void> {
    const problem = settings.enabled ? settingsProblem(settings) : null;
    if (problem !== null) throw new Error(`cannot enforce policy: ${problem}`);
    this.desired = settings;
    if (settings.enabled) await this.enable(settings);
    else if (settings.isExplicit) await this.removeTable();
    this.applied = settings;
  }

  /** The settings in force (null before start). */
  get settings(): EnforcementSettings | null {
    return this.applied;
  }

  /** New settings; applied after any step in progress. Refused (logged) when they cannot be enforced. */
  update(settings: EnforcementSettings): void {
    if (this.isClosed || this.applied === null) return;
    const problem = settings.enabled ? settingsProblem(settings) : null;
    if (problem !== null) {
      this.opts.log.error(
        { problem },
        'enforcement settings refused; keeping the last good ones (fix the FelixConfiguration)',
      );
      return;
    }
    this.desired = settings;
    this.kick();
  }

  onChanges(changes: CalcChanges): void {
    this.current?.onChanges(changes);
  }

  setWireguard(fw: WireguardFirewall | null): void {
    this.wireguard = fw;
    this.current?.setWireguard(fw);
  }

  /** Resolves when no step is in progress (a retry may still be due). */
  async settled(): Promise<void> {
    while (this.running !== null) await this.running;
  }

  /** Stops (a start still under way first ends); the rules in force stay (as at any alp-node stop). */
  async close(): Promise<void> {
    this.isClosed = true;
    this.markClosed();
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    await this.starting;
    await this.settled();
    const current = this.current;
    this.current = null;
    await current?.close();
  }

  private kick(): void {
    if (this.running !== null || this.retryTimer !== null) return;
    this.running = this.run().finally(() => (this.running = null));
  }

  private async run(): Promise<void> {
    while (
      !this.isClosed &&
      this.desired !== null &&
      this.applied !== null &&
      this.desired !== this.applied
    ) {
      const next = this.desired;
      const change = enforcementChange(this.applied, next);
      try {
        switch (change.kind) {
          case 'none':
            break;
          case 'enable':
            this.opts.log.info({ because: next.enabledBecause }, 'L3/L4 enforcement switched on');
            await this.enable(next);
            break;
          case 'disable':
            this.opts.log.info({ because: next.enabledBecause }, 'L3/L4 enforcement switched off');
            await this.disable();
            break;
          case 'reconfigure':
            this.opts.log.info(
              {
                changed: change.fields,
                interfacePrefix: next.interfacePrefix,
                defaultEndpointToHostAction: next.defaultEndpointToHostAction,
                refreshIntervalMs: next.refreshIntervalMs,
              },
              'enforcement settings changed; handing over to a controller with the new ones',
            );
            await this.handOver(next);
            break;
          default: {
            const never: never = change;
            throw new Error(`unhandled change ${String(never)}`);
          }
        }
      } catch (err) {
        if (this.isClosed) return;
        const delay = backoffDelayMs(this.failures++, RETRY, Math.random);
        this.opts.log.error(
          { change: change.kind, err: err instanceof Error ? err.message : String(err), retryInMs: delay },
          'could not apply the new enforcement settings; the rules in force stay, retrying',
        );
        this.retryTimer = setTimeout(() => {
          this.retryTimer = null;
          this.kick();
        }, delay);
        this.retryTimer.unref();
        return;
      }
      this.failures = 0;
      this.applied = next;
    }
  }

  private async enable(settings: EnforcementSettings): Promise<void> {
    // The calculation and WireGuard's start run side by side; the first transaction needs both.
    // nft's check needs neither, so it runs meanwhile (and forks while the heap is still small).
    const nftAvailability = nftUnavailableReason();
    const ready = Promise.all([this.opts.calculator(), this.opts.wireguardKnown]);
    ready.catch(() => undefined); // not awaited when close() comes first
    const outcome = await Promise.race([ready, this.closed.then(() => null)]);
    if (outcome === null || this.isClosed) return;
    const [calculator] = outcome;
    const enforcement = createNodeEnforcement({
      settings,
      calculator,
      log: this.opts.log,
      registry: this.opts.registry,
      wireguard: this.wireguard,
      nftAvailability,
    });
    this.current = enforcement;
    try {
      await enforcement.start();
    } catch (err) {
      this.current = null;
      // Nothing was programmed by it; leave what is in force and free its metrics.
      await enforcement.close().catch(() => undefined);
      throw err;
    }
  }

  private async disable(): Promise<void> {
    const current = this.current;
    this.current = null;
    if (current !== null) await current.disable();
    else await this.removeTable();
  }

  private async handOver(settings: EnforcementSettings): Promise<void> {
    const old = this.current;
    this.current = null;
    // Stops programming and leaves its rules in force; the new controller's first transaction
    // replaces them whole, and it reads the calculation afresh, so no change is lost meanwhile.
    await old?.close();
    await this.enable(settings);
  }

  private async removeTable(): Promise<void> {
    await (this.opts.removeTable ?? removeLeftoverTable)(this.opts.log);
  }
}
