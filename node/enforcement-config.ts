// alp-node's L3/L4 enforcement settings, in Felix's terms: FelixConfiguration fields (node over
// selector-scoped over `default`), each overridden by its FELIX_* environment variable, as Felix
// reads them. Pure: values in, settings or a reason out.
//
// - nftablesMode (FELIX_NFTABLESMODE): Enabled / Auto → enforce, Disabled → do not, and remove
//   our table. (In Felix, Disabled falls back to iptables; alp-node has no iptables dataplane.)
//   Unset: on with the Kubernetes datastore (as Felix always enforces), off with the file
//   datastore, which needs no root and no cluster.
// - interfacePrefix (FELIX_INTERFACEPREFIX): workload interface prefix, default `cali`. Felix
//   takes a comma-separated list; alp-node uses the first and says so.
// - defaultEndpointToHostAction (FELIX_DEFAULTENDPOINTTOHOSTACTION): Drop (default), Accept or
//   Return, any case.
// - nftablesRefreshInterval (FELIX_NFTABLESREFRESHINTERVAL, seconds; the FelixConfiguration field
//   is a duration such as 90s): how often our table is checked against what we programmed and
//   repaired; 0 turns the check off. Felix's field for its nftables mode (default 180 s); where it
//   is unset everywhere, iptablesRefreshInterval (FELIX_IPTABLESREFRESHINTERVAL), which a
//   configuration written for Felix's iptables mode has. alp-node checks every 60 s by default,
//   since a check is a single `nft -j list table`.
import { layerField, type FelixConfigLayer } from '../calico/felix-configuration.js';
import { parseGoDurationMs } from '../wireguard/core/go-duration.js';

export const DEFAULT_REFRESH_INTERVAL_MS = 60_000;

export type EndpointToHostAction = 'Drop' | 'Accept' | 'Return';

export interface EnforcementSettings {
  readonly enabled: boolean;
  /** nftablesMode was set (not a default): when it says Disabled, our table is removed. */
  readonly isExplicit: boolean;
  /** Why it is on or off, for the start-up log. */
  readonly enabledBecause: string;
  readonly interfacePrefix: string;
  readonly defaultEndpointToHostAction: EndpointToHostAction;
  /** How often the table is checked and repaired; 0: never. */
  readonly refreshIntervalMs: number;
  /** Things worth a warning (e.g. extra interface prefixes ignored). */
  readonly warnings: readonly string[];
}

export type EnforcementSettingsResult =
  | { readonly ok: true; readonly value: EnforcementSettings }
  | {
      readonly ok: false;
      readonly error: string;
      /** The FelixConfiguration that gave the refused value; absent when the environment did. */
      readonly resource?: string;
    };

export const ENFORCEMENT_ENV = {
  nftablesMode: 'FELIX_NFTABLESMODE',
  interfacePrefix: 'FELIX_INTERFACEPREFIX',
  defaultEndpointToHostAction: 'FELIX_DEFAULTENDPOINTTOHOSTACTION',
  refreshInterval: 'FELIX_NFTABLESREFRESHINTERVAL',
  /** Read when no nftablesRefreshInterval is set anywhere. */
  iptablesRefreshInterval: 'FELIX_IPTABLESREFRESHINTERVAL',
} as const;

/**
 * True when the environment alone settles enforcement (FELIX_NFTABLESMODE Disabled, or every
 * field given), so no FelixConfiguration needs to be read for it.
 */
export function enforcementSettledByEnv(env: Readonly<Record<string, string | undefined>>): boolean {
  const has = (name: string): boolean => (env[name] ?? '') !== '';
  if (!has(ENFORCEMENT_ENV.nftablesMode)) return false;
  if (String(env[ENFORCEMENT_ENV.nftablesMode]).toLowerCase() === 'disabled') return true;
  // FELIX_IPTABLESREFRESHINTERVAL does not settle the interval: a FelixConfiguration's
  // nftablesRefreshInterval would still take precedence over it.
  return (
    has(ENFORCEMENT_ENV.interfacePrefix) &&
    has(ENFORCEMENT_ENV.defaultEndpointToHostAction) &&
    has(ENFORCEMENT_ENV.refreshInterval)
  );
}

/** The value of `field`: its environment variable, else the first layer that sets it. */
function lookup(
  env: Readonly<Record<string, string | undefined>>,
  envName: string,
  layers: readonly FelixConfigLayer[],
  field: string,
): { value: unknown; from: string; resource?: string } | null {
  const fromEnv = env[envName];
  if (fromEnv !== undefined && fromEnv !== '') return { value: fromEnv, from: envName };
  for (const l of layers) {
    const v = layerField(l, field);
    if (v !== undefined) return { value: v, from: `FelixConfiguration ${l.name}`, resource: l.name };
  }
  return null;
}

/** A refusal naming where the value came from. */
function refused(field: { readonly resource?: string }, error: string): EnforcementSettingsResult {
  return field.resource === undefined ? { ok: false, error } : { ok: false, error, resource: field.resource };
}

export function enforcementSettings(input: {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly felixLayers: readonly FelixConfigLayer[];
  readonly datastoreType: 'kubernetes' | 'file';
}): EnforcementSettingsResult {
  const { env, felixLayers: layers } = input;
  const warnings: string[] = [];

  const mode = lookup(env, ENFORCEMENT_ENV.nftablesMode, layers, 'nftablesMode');
  let enabled: boolean;
  let enabledBecause: string;
  if (mode === null) {
    enabled = input.datastoreType === 'kubernetes';
    enabledBecause = enabled
      ? 'nftablesMode unset: on with the Kubernetes datastore'
      : 'nftablesMode unset: off with the file datastore';
  } else {
    const text = String(mode.value).toLowerCase();
    if (text !== 'enabled' && text !== 'disabled' && text !== 'auto')
      return refused(
        mode,
        `nftablesMode (${mode.from}) must be Enabled, Disabled or Auto, not "${String(mode.value)}"`,
      );
    enabled = text !== 'disabled';
    enabledBecause = `nftablesMode ${String(mode.value)} (${mode.from})`;
  }

  const prefixField = lookup(env, ENFORCEMENT_ENV.interfacePrefix, layers, 'interfacePrefix');
  let interfacePrefix = 'cali';
  if (prefixField !== null) {
    const prefixes = String(prefixField.value)
      .split(',')
      .map((p) => p.trim())
      .filter((p) => p !== '');
    const first = prefixes[0];
    if (first === undefined || !/^[A-Za-z0-9_.-]{1,14}$/.test(first))
      return refused(
        prefixField,
        `interfacePrefix (${prefixField.from}) must be an interface name prefix, not "${String(prefixField.value)}"`,
      );
    interfacePrefix = first;
    if (prefixes.length > 1)
      warnings.push(
        `interfacePrefix lists several prefixes; only "${first}" is enforced (${prefixField.from})`,
      );
  }

  const actionField = lookup(
    env,
    ENFORCEMENT_ENV.defaultEndpointToHostAction,
    layers,
    'defaultEndpointToHostAction',
  );
  let defaultEndpointToHostAction: EndpointToHostAction = 'Drop';
  if (actionField !== null) {
    const text = String(actionField.value).toLowerCase();
    const found = (['Drop', 'Accept', 'Return'] as const).find((a) => a.toLowerCase() === text);
    if (found === undefined)
      return refused(
        actionField,
        `defaultEndpointToHostAction (${actionField.from}) must be Drop, Accept or Return, not "${String(actionField.value)}"`,
      );
    defaultEndpointToHostAction = found;
  }
  let refreshIntervalMs = DEFAULT_REFRESH_INTERVAL_MS;
  const nftablesField = lookup(env, ENFORCEMENT_ENV.refreshInterval, layers, 'nftablesRefreshInterval');
  const refreshName = nftablesField !== null ? 'nftablesRefreshInterval' : 'iptablesRefreshInterval';
  const refreshField =
    nftablesField ?? lookup(env, ENFORCEMENT_ENV.iptablesRefreshInterval, layers, 'iptablesRefreshInterval');
  if (refreshField !== null) {
    const text = String(refreshField.value).trim();
    // The environment speaks seconds (as Felix's), the resource a duration; accept both anywhere.
    const ms = /^\d+(\.\d+)?$/.test(text) ? Number(text) * 1000 : parseGoDurationMs(text);
    if (ms === null || !Number.isFinite(ms) || ms < 0)
      return refused(
        refreshField,
        `${refreshName} (${refreshField.from}) must be seconds or a duration such as 90s, not "${text}"`,
      );
    refreshIntervalMs = ms;
  }
  return {
    ok: true,
    value: {
      refreshIntervalMs,
      enabled,
      isExplicit: mode !== null,
      enabledBecause,
      interfacePrefix,
      defaultEndpointToHostAction,
      warnings,
    },
  };
}

/** What applying `next` over the settings in force (`applied`) takes. */
export type EnforcementChange =
  | { readonly kind: 'none' }
  | { readonly kind: 'enable' }
  | { readonly kind: 'disable' }
  /** Still on, with other settings: a new ruleset replaces the old one in one transaction. */
  | { readonly kind: 'reconfigure'; readonly fields: readonly string[] };

const LIVE_FIELDS = ['interfacePrefix', 'defaultEndpointToHostAction', 'refreshIntervalMs'] as const;

export function enforcementChange(
  applied: EnforcementSettings,
  next: EnforcementSettings,
): EnforcementChange {
  if (!applied.enabled) return next.enabled ? { kind: 'enable' } : { kind: 'none' };
  if (!next.enabled) return { kind: 'disable' };
  const fields = LIVE_FIELDS.filter((f) => applied[f] !== next[f]);
  return fields.length === 0 ? { kind: 'none' } : { kind: 'reconfigure', fields };
}
