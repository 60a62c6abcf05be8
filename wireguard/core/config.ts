// FelixConfiguration layers plus FELIX_* environment variables → one validated WireguardConfig
// (spec §1.1, §1.3). Pure: the caller passes the layers (from selectFelixConfigurations), the
// environment and the previous config; invalid values are returned as problems, never thrown.
//
// Precedence, highest first, field by field: environment > `node.<nodename>` > the
// FelixConfiguration whose nodeSelector selects this node > `default` > built-in default.
// Unlike Felix, which restarts on any WireGuard change and falls back to the next lower source on
// a bad value, we apply changes live, so a bad value keeps the field's last good value (the
// previous config's) and only falls through to lower sources when there is no previous config.
import {
  layerField,
  type FelixConfigLayer,
  type FelixConfigSource,
} from '../../calico/felix-configuration.js';
import type { IpFamily } from '../../calico/ip.js';
import {
  boolField,
  ifaceField,
  intField,
  mtuField,
  parseDurationMs,
  parseInteger,
  parseRouteTableIndex,
  reject,
  type FieldSpec,
} from './config-values.js';

export interface WireguardConfig {
  readonly enabledV4: boolean;
  readonly enabledV6: boolean;
  readonly listenPortV4: number;
  readonly listenPortV6: number;
  readonly interfaceNameV4: string;
  readonly interfaceNameV6: string;
  /** 0 = auto: smallest underlay MTU − 60 (v4) / − 80 (v6), spec §4.3. */
  readonly mtuV4: number;
  readonly mtuV6: number;
  readonly routingRulePriority: number;
  readonly hostEncryptionEnabled: boolean;
  readonly persistentKeepaliveSeconds: number;
  readonly threadingEnabled: boolean;
  readonly metricsEnabled: boolean;
  readonly ipv6Support: boolean;
  /** Period of the full resync; 0 disables it. */
  readonly routeRefreshIntervalMs: number;
  /** Routing table of both families (Felix uses the v4 index for both, spec §9.1). */
  readonly routeTableIndex: number;
  /** The mark bit WireGuard's own packets carry; derived from iptablesMarkMask like Felix. */
  readonly firewallMark: number;
  readonly deviceRouteProtocol: number;
  readonly mtuIfacePattern: string;
  /** Leave routing table T alone: no routes added or removed; device, peers and rule as usual. */
  readonly routeSyncDisabled: boolean;
}

export interface FamilyConfig {
  readonly family: IpFamily;
  readonly enabled: boolean;
  readonly interfaceName: string;
  readonly listenPort: number;
  readonly mtu: number;
}

export type ConfigSource = 'env' | FelixConfigSource;

export interface ConfigProblem {
  readonly field: string;
  readonly source: ConfigSource;
  /** The FelixConfiguration holding the value; absent for the environment. */
  readonly resource?: string;
  readonly value: string;
  readonly reason: string;
}

export interface ConfigInputs {
  /** The FelixConfigurations that apply to this node, highest precedence first. */
  readonly layers: readonly FelixConfigLayer[];
  readonly env: Readonly<Record<string, string | undefined>>;
}

export interface ConfigResult {
  readonly config: WireguardConfig;
  readonly problems: readonly ConfigProblem[];
}

export const DEFAULT_MTU_IFACE_PATTERN = '^((en|wl|ww|sl|ib)[Pcopsvx].*|(eth|wlan|wwan).*)';

const FIELDS: { readonly [K in keyof WireguardConfig]: FieldSpec<WireguardConfig[K]> } = {
  enabledV4: boolField(['wireguardEnabled'], ['WireguardEnabled'], false),
  enabledV6: boolField(['wireguardEnabledV6'], ['WireguardEnabledV6'], false),
  listenPortV4: intField(['wireguardListeningPort'], ['WireguardListeningPort'], 51820, 1, 65535),
  listenPortV6: intField(['wireguardListeningPortV6'], ['WireguardListeningPortV6'], 51821, 1, 65535),
  interfaceNameV4: ifaceField(['wireguardInterfaceName'], ['WireguardInterfaceName'], 'wireguard.cali'),
  interfaceNameV6: ifaceField(['wireguardInterfaceNameV6'], ['WireguardInterfaceNameV6'], 'wg-v6.cali'),
  mtuV4: mtuField(['wireguardMTU'], ['WireguardMTU'], 68),
  mtuV6: mtuField(['wireguardMTUV6'], ['WireguardMTUV6'], 1280),
  routingRulePriority: intField(
    ['wireguardRoutingRulePriority'],
    ['WireguardRoutingRulePriority'],
    99,
    1,
    32765,
  ),
  hostEncryptionEnabled: boolField(
    ['wireguardHostEncryptionEnabled'],
    ['WireguardHostEncryptionEnabled'],
    false,
  ),
  persistentKeepaliveSeconds: {
    yaml: ['wireguardKeepAlive'],
    env: ['WireguardPersistentKeepAlive'],
    defaultValue: 0,
    parse: (raw) => {
      const ms = parseDurationMs(raw);
      if (ms === null) return reject('not a duration (e.g. 25s) or a number of seconds');
      const seconds = Math.floor(ms / 1000);
      if (seconds < 0 || seconds > 65535) return reject('must be between 0 and 65535 seconds');
      return { ok: true, value: seconds };
    },
  },
  threadingEnabled: boolField(['wireguardThreadingEnabled'], ['WireguardThreadingEnabled'], false),
  metricsEnabled: boolField(
    ['prometheusWireGuardMetricsEnabled'],
    ['PrometheusWireGuardMetricsEnabled'],
    true,
  ),
  ipv6Support: boolField(['ipv6Support'], ['Ipv6Support'], true),
  routeRefreshIntervalMs: {
    yaml: ['routeRefreshInterval'],
    env: ['RouteRefreshInterval'],
    defaultValue: 90_000,
    parse: (raw) => {
      const ms = parseDurationMs(raw);
      if (ms === null || ms < 0) return reject('not a non-negative duration');
      return { ok: true, value: Math.round(ms) };
    },
  },
  routeTableIndex: {
    yaml: ['routeTableRanges', 'routeTableRange'],
    env: ['RouteTableRanges', 'RouteTableRange'],
    defaultValue: 1,
    parse: parseRouteTableIndex,
  },
  firewallMark: {
    yaml: ['iptablesMarkMask'],
    env: ['IptablesMarkMask'],
    defaultValue: 0x200000,
    parse: (raw) => {
      const mask = parseInteger(raw);
      if (mask === null || mask <= 0 || mask > 0xffffffff) return reject('not a 32-bit mark mask');
      // Felix allocates accept, pass, drop, scratch0 and scratch1 first; WireGuard gets the 6th bit.
      let seen = 0;
      for (let bit = 0; bit < 32; bit++) {
        const value = 2 ** bit;
        if (Math.floor(mask / value) % 2 === 1 && ++seen === 6) return { ok: true, value };
      }
      return reject('mask has fewer than 6 bits; no bit left for WireGuard');
    },
  },
  deviceRouteProtocol: intField(['deviceRouteProtocol'], ['DeviceRouteProtocol'], 3, 0, 255),
  routeSyncDisabled: boolField(['routeSyncDisabled'], ['RouteSyncDisabled'], false),
  mtuIfacePattern: {
    yaml: ['mtuIfacePattern'],
    env: ['MTUIfacePattern'],
    defaultValue: DEFAULT_MTU_IFACE_PATTERN,
    parse: (raw) => {
      if (typeof raw !== 'string') return reject('not a string');
      try {
        new RegExp(raw);
        return { ok: true, value: raw };
      } catch {
        return reject('not a valid regular expression');
      }
    },
  },
};

export const DEFAULT_CONFIG: WireguardConfig = Object.fromEntries(
  Object.entries(FIELDS).map(([k, f]) => [k, (f as FieldSpec<unknown>).defaultValue]),
) as unknown as WireguardConfig;

export function computeWireguardConfig(inputs: ConfigInputs, previous: WireguardConfig | null): ConfigResult {
  const env = upperCaseEnv(inputs.env);
  const layers: readonly {
    source: ConfigSource;
    resource?: string;
    lookup: (f: FieldSpec<unknown>) => unknown;
  }[] = [
    { source: 'env', lookup: (f) => firstDefined(f.env.map((n) => env.get(`FELIX_${n.toUpperCase()}`))) },
    ...inputs.layers.map((layer) => ({
      source: layer.source,
      resource: layer.name,
      lookup: (f: FieldSpec<unknown>) => firstDefined(f.yaml.map((n) => layerField(layer, n))),
    })),
  ];
  const problems: ConfigProblem[] = [];
  const out: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(FIELDS) as [keyof WireguardConfig, FieldSpec<unknown>][]) {
    let value: unknown = undefined;
    for (const layer of layers) {
      const raw = layer.lookup(spec);
      if (raw === undefined) continue;
      const parsed = spec.parse(raw);
      if (parsed.ok) {
        value = parsed.value;
        break;
      }
      problems.push({
        field: spec.yaml[0] as string,
        source: layer.source,
        ...(layer.resource === undefined ? {} : { resource: layer.resource }),
        value: show(raw),
        reason: parsed.reason,
      });
      if (previous !== null) {
        value = previous[key];
        break;
      }
    }
    out[key] = value === undefined ? spec.defaultValue : value;
  }
  return { config: out as unknown as WireguardConfig, problems };
}

export function familyConfig(config: WireguardConfig, family: IpFamily): FamilyConfig {
  return family === 4
    ? {
        family,
        enabled: config.enabledV4,
        interfaceName: config.interfaceNameV4,
        listenPort: config.listenPortV4,
        mtu: config.mtuV4,
      }
    : {
        family,
        enabled: config.enabledV6 && config.ipv6Support,
        interfaceName: config.interfaceNameV6,
        listenPort: config.listenPortV6,
        mtu: config.mtuV6,
      };
}

/** Whether either family runs WireGuard under `config`. */
export function isWireguardOn(config: WireguardConfig): boolean {
  return familyConfig(config, 4).enabled || familyConfig(config, 6).enabled;
}

function upperCaseEnv(env: Readonly<Record<string, string | undefined>>): Map<string, string> {
  const out = new Map<string, string>();
  for (const [k, v] of Object.entries(env)) if (v !== undefined && v !== '') out.set(k.toUpperCase(), v);
  return out;
}

function firstDefined(values: readonly unknown[]): unknown {
  return values.find((v) => v !== undefined);
}

function show(raw: unknown): string {
  const text = typeof raw === 'string' ? raw : JSON.stringify(raw);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
