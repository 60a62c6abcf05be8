// alp-node's L3/L4 enforcement: the agent's calculation (the per-endpoint views that also feed
// PolicySync) becomes the nftables renderer's state; the enforcement controller keeps our table
// equal to it and the workload interfaces keep each pod's route and sysctls. Starts only once
// the calculation is in sync, so the first transaction (which replaces whatever an earlier run
// left) never enforces a partial picture.
import type { Registry } from 'prom-client';
import type { CalcChanges, PolicyCalculator } from '../agent/calc/calculator.js';
import type { EndpointView } from '../agent/calc/endpoint-view.js';
import type { Logger } from '../daemon/log.js';
import {
  DEFAULT_ENFORCEMENT_CONFIG,
  enforcementConfigProblem,
  parseRuleCounters,
  renderChanges,
  renderFull,
  renderProblems,
  renderRemoveTable,
  type DataplaneState,
  type EnforcementConfig,
  type WireguardFirewall,
} from '../dataplane/core/index.js';
import { Enforcement } from '../dataplane/shell/enforcement.js';
import { NftChannel, nftUnavailableReason } from '../dataplane/shell/nft-channel.js';
import { registerRuleMetrics } from '../dataplane/shell/rule-metrics.js';
import { WorkloadInterfaces } from '../dataplane/shell/workload-interfaces.js';
import type { WorkloadEndpointNets } from '../dataplane/shell/workload-plan.js';
import { dataplaneState } from './dataplane-state.js';
import type { EnforcementSettings } from './enforcement-config.js';

export interface NodeEnforcement {
  /** Feed of the agent's changes (its onApplied); safe to call before start(). */
  onChanges(changes: CalcChanges): void;
  /** Programs the table (one transaction replacing any earlier one) and the workload interfaces. */
  start(): Promise<void>;
  /**
   * WireGuard's firewall pieces (its port, host-encryption mark, strict drop), or null for none;
   * rebuilds the table when started. A value the renderer refuses is logged and ignored.
   */
  setWireguard(fw: WireguardFirewall | null): void;
  /** Leaves the rules in force. */
  close(): Promise<void>;
  /** Enforcement switched off: removes our table, then stops. */
  disable(): Promise<void>;
}

export interface NodeEnforcementOptions {
  readonly settings: EnforcementSettings;
  readonly calculator: PolicyCalculator;
  readonly log: Logger;
  readonly registry: Registry;
  /** WireGuard's firewall pieces at start; default none (see setWireguard). */
  readonly wireguard?: WireguardFirewall | null;
  /** Whether nft works here, asked ahead (default: asked by start()). */
  readonly nftAvailability?: Promise<string | null>;
}

function endpointNets(state: DataplaneState): WorkloadEndpointNets[] {
  return [...state.endpoints.values()].map((e) => ({ iface: e.iface, nets: [...e.ipv4Nets, ...e.ipv6Nets] }));
}

function configOf(settings: EnforcementSettings, wireguard: WireguardFirewall | null): EnforcementConfig {
  return {
    ...DEFAULT_ENFORCEMENT_CONFIG,
    interfacePrefix: settings.interfacePrefix,
    defaultEndpointToHostAction: settings.defaultEndpointToHostAction,
    wireguard,
  };
}

/** Why these settings cannot be enforced (WireGuard aside), or null. */
export function settingsProblem(settings: EnforcementSettings): string | null {
  return enforcementConfigProblem(configOf(settings, null));
}

/** WireGuard's pieces of a table, as logged: the secrets-free shape, with the CIDRs counted. */
function wireguardSummary(fw: WireguardFirewall | null): Record<string, unknown> | null {
  return fw === null
    ? null
    : { device: fw.interfaceName, port: fw.listenPort, strict: fw.strict, peerCidrs: fw.peerPodCidrs.length };
}

export function createNodeEnforcement(opts: NodeEnforcementOptions): NodeEnforcement {
  const { log, calculator: calc } = opts;
  let config = configOf(opts.settings, opts.wireguard ?? null);
  const views = new Map<string, EndpointView>();
  for (const id of calc.localEndpointIds()) {
    const v = calc.endpointView(id);
    if (v !== null) views.set(id, v);
  }
  let problems = new Set<string>();
  const build = (): DataplaneState => {
    const state = dataplaneState(views.values(), config);
    const now = new Set(renderProblems(state));
    for (const p of now) if (!problems.has(p)) log.warn({ problem: p }, 'enforcing with a problem');
    problems = now;
    return state;
  };

  // The metrics registered below are this instance's: they go with it, so that enforcement
  // switched off and on again, or handed to a new instance, can register them anew.
  const metricNames = (): string[] => opts.registry.getMetricsAsArray().map((m) => m.name);
  const before = new Set(metricNames());
  const channel = new NftChannel({ log });
  const enforcement = new Enforcement<DataplaneState>({
    channel,
    renderer: { renderFull, renderChanges, renderRemoveTable: () => renderRemoveTable(config.tableName) },
    tableName: config.tableName,
    log,
    registry: opts.registry,
    resyncIntervalMs: opts.settings.refreshIntervalMs,
    ...(opts.nftAvailability === undefined ? {} : { nftAvailability: opts.nftAvailability }),
  });
  registerRuleMetrics(opts.registry, {
    readTable: () => channel.read(['-j', 'list', 'table', 'inet', config.tableName]),
    counters: (json) => {
      const state = enforcement.appliedState;
      return state === null ? [] : parseRuleCounters(json, state);
    },
  });
  const ownMetrics = metricNames().filter((n) => !before.has(n));
  const unregisterMetrics = (): void => {
    for (const n of ownMetrics) opts.registry.removeSingleMetric(n);
  };
  const workloads = new WorkloadInterfaces({ interfacePrefix: config.interfacePrefix, log });
  let isStarted = false;
  let isDirty = false;
  let isScheduled = false;

  // Events arrive one by one; a burst (a relist, a namespace relabel) is folded into one state.
  const rebuild = (): void => {
    isScheduled = false;
    isDirty = false;
    const state = build();
    enforcement.update(state);
    workloads.update(endpointNets(state));
  };
  const schedule = (): void => {
    if (!isStarted || isScheduled) return;
    isScheduled = true;
    setImmediate(rebuild);
  };
  return {
    onChanges(changes) {
      if (changes.endpoints.size === 0) return;
      for (const id of changes.endpoints) {
        const v = calc.endpointView(id);
        if (v === null) views.delete(id);
        else views.set(id, v);
      }
      isDirty = true;
      schedule();
    },
    setWireguard(fw) {
      if (JSON.stringify(fw) === JSON.stringify(config.wireguard)) return;
      const next = { ...config, wireguard: fw };
      const problem = enforcementConfigProblem(next);
      if (problem !== null) {
        log.error({ problem }, 'WireGuard firewall settings refused; keeping the previous ones');
        return;
      }
      config = next;
      log.info({ wireguard: wireguardSummary(fw) }, 'WireGuard firewall changed');
      isDirty = true;
      schedule();
    },
    async start() {
      if (config.wireguard !== null) {
        const problem = enforcementConfigProblem(config);
        if (problem !== null) {
          log.error({ problem }, 'WireGuard firewall settings refused; enforcing without them');
          config = { ...config, wireguard: null };
        }
      }
      const problem = enforcementConfigProblem(config);
      if (problem !== null) throw new Error(`cannot enforce policy: ${problem}`);
      isDirty = false;
      const initial = build();
      await enforcement.start(initial);
      await workloads.start(endpointNets(initial));
      isStarted = true;
      if (isDirty) schedule();
      log.info(
        {
          table: `inet ${config.tableName}`,
          endpoints: initial.endpoints.size,
          policies: initial.policies.size,
          wireguard: wireguardSummary(config.wireguard),
        },
        'enforcing policy with nftables',
      );
    },
    async close() {
      isStarted = false;
      workloads.close();
      try {
        await enforcement.close();
      } finally {
        unregisterMetrics();
      }
    },
    async disable() {
      isStarted = false;
      workloads.close();
      try {
        await enforcement.disable();
      } finally {
        unregisterMetrics();
      }
    },
  };
}

/**
 * Enforcement is off: remove our table if an earlier run left one. Quiet when nftables is not
 * usable here (then there is no table of ours either).
 */
export async function removeLeftoverTable(log: Logger): Promise<void> {
  if ((await nftUnavailableReason()) !== null) return;
  const channel = new NftChannel({ log });
  try {
    const tables = await channel.read(['list', 'tables']);
    if (!tables.split('\n').includes(`table inet ${DEFAULT_ENFORCEMENT_CONFIG.tableName}`)) return;
    await channel.apply(renderRemoveTable(DEFAULT_ENFORCEMENT_CONFIG.tableName));
    log.info(
      { table: `inet ${DEFAULT_ENFORCEMENT_CONFIG.tableName}` },
      'enforcement is off: removed our nftables table',
    );
  } finally {
    await channel.close();
  }
}
