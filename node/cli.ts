// Command line of `alp-node`. Pure: argv and environment in, options or a usage error out; only
// main.ts prints and exits.
import { parseArgs } from 'node:util';
import { LOG_LEVELS, type LogFormat, type LogLevel } from '../daemon/log.js';
import { HOST_PORT_FORMS, parseHostPort } from '../daemon/host-port.js';
import { parseGoDurationMs } from '../wireguard/core/go-duration.js';

export const DEFAULT_STATE_DIR = '/var/lib/alp-node';

export type WireguardDeviceMode = 'auto' | 'kernel' | 'userspace';

export interface AlpNodeOptions {
  readonly nodeName: string;
  /** Explicit kubeconfig file; null means KUBECONFIG (if set) or in-cluster. */
  readonly kubeconfig: string | null;
  readonly stateDir: string;
  readonly wgSocketDir: string | null;
  readonly wireguardDevice: WireguardDeviceMode;
  /** 0: rotate the WireGuard keys only on demand. */
  readonly wireguardKeyRotationIntervalMs: number;
  /** Strict mode (not in Calico): with enforcement, drop pod traffic to peers' CIDRs not via the tunnel. */
  readonly wireguardStrict: boolean;
  readonly metricsAddr: string | null;
  readonly logLevel: LogLevel;
  readonly logFormat: LogFormat;
}

export type CliResult =
  | { readonly kind: 'run'; readonly options: AlpNodeOptions }
  | { readonly kind: 'help'; readonly text: string }
  | { readonly kind: 'version' }
  | { readonly kind: 'usage-error'; readonly error: string };

export const USAGE = `Usage: alp-node [flags]
       alp-node explain --help

The alp-mesh node agent. Runs the WireGuard mesh manager, switched on and off by the
FelixConfiguration fields wireguardEnabled / wireguardEnabledV6 (or FELIX_* variables), the
PolicySync server that feeds each local pod's dikastes sidecar, switched on by FelixConfiguration
policySyncPathPrefix (or FELIX_POLICYSYNCPATHPREFIX), and L3/L4 policy enforcement in the kernel
(nftables table inet alp-mesh), on by default with the Kubernetes datastore and switched off by
FelixConfiguration nftablesMode: Disabled (or FELIX_NFTABLESMODE).

Flags:
      --node-name <name>         this node's Kubernetes Node name (default: $NODENAME)
      --kubeconfig <path>        kubeconfig file (default: $KUBECONFIG, else in-cluster config)
      --state-dir <dir>          where private keys are kept (default ${DEFAULT_STATE_DIR})
      --wg-socket-dir <dir>      control-socket directory for wg and wireguard-go
                                 (default /var/run/wireguard)
      --wireguard-device <mode>  auto|kernel|userspace (default auto: kernel WireGuard,
                                 else the wireguard-go fallback)
      --wireguard-key-rotation-interval <duration>
                                 rotate the WireGuard keys this often, e.g. 24h (Go duration,
                                 at least 1s; default 0: only on demand). Also on SIGUSR2, or
                                 when our Node gets the annotation alp-mesh.io/wireguard-rotate-key
      --wireguard-strict         with enforcement on, drop forwarded pod traffic to a keyed peer's
                                 pod CIDRs that would leave by any interface but the WireGuard
                                 device (no plaintext while a device is down; not in Calico)
      --metrics-addr <host:port> serve Prometheus metrics on http://<host:port>/metrics (off by default)
      --log-level <level>        ${LOG_LEVELS.join('|')} (default info)
      --log-format <format>      json|text (default json)
  -h, --help                     show this help
      --version                  print the version and exit

Environment:
  NODENAME                       this node's name (when --node-name is not given)
  DATASTORE_TYPE                 kubernetes (default) or file
  ALP_DATASTORE_PATH             file datastore: YAML/JSON files or directories, ':'-separated
  FELIX_POLICYSYNCPATHPREFIX     PolicySync socket directory (overrides FelixConfiguration; empty: off)
  ALP_POLICY_SYNC_LAYOUT         csi (Calico's CSI driver layout, default) or driverless
  ALP_WIREGUARD_KEY_ROTATION_INTERVAL  as --wireguard-key-rotation-interval (the flag wins)
  ALP_WIREGUARD_STRICT           true: as --wireguard-strict (false or unset: off)
  FELIX_NFTABLESMODE             Enabled|Auto (enforce) or Disabled (remove our table); default:
                                 on with the Kubernetes datastore, off with the file datastore
  FELIX_INTERFACEPREFIX          workload interface prefix (default cali)
  FELIX_DEFAULTENDPOINTTOHOSTACTION  Drop (default), Accept or Return: pod → node traffic
  FELIX_WIREGUARDENABLED, …      FelixConfiguration overrides in Calico's style
`;

const OPTIONS = {
  'node-name': { type: 'string' },
  kubeconfig: { type: 'string' },
  'state-dir': { type: 'string' },
  'wg-socket-dir': { type: 'string' },
  'wireguard-device': { type: 'string' },
  'wireguard-key-rotation-interval': { type: 'string' },
  'wireguard-strict': { type: 'boolean' },
  'metrics-addr': { type: 'string' },
  'log-level': { type: 'string' },
  'log-format': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
} as const;

export function parseAlpNodeArgs(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): CliResult {
  let values;
  try {
    ({ values } = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: false, strict: true }));
  } catch (err) {
    return { kind: 'usage-error', error: err instanceof Error ? err.message : String(err) };
  }
  if (values.help === true) return { kind: 'help', text: USAGE };
  if (values.version === true) return { kind: 'version' };
  const nodeName = values['node-name'] ?? nonEmpty(env.NODENAME);
  if (nodeName === undefined || nodeName === '')
    return { kind: 'usage-error', error: 'no node name: pass --node-name or set NODENAME' };
  const logLevel = values['log-level'] ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    return { kind: 'usage-error', error: `invalid --log-level "${logLevel}" (${LOG_LEVELS.join(', ')})` };
  }
  const logFormat = values['log-format'] ?? 'json';
  if (logFormat !== 'json' && logFormat !== 'text')
    return { kind: 'usage-error', error: `invalid --log-format "${logFormat}" (json or text)` };
  const device = values['wireguard-device'] ?? 'auto';
  if (device !== 'auto' && device !== 'kernel' && device !== 'userspace') {
    return {
      kind: 'usage-error',
      error: `invalid --wireguard-device "${device}" (auto, kernel or userspace)`,
    };
  }
  const rotationText =
    values['wireguard-key-rotation-interval'] ?? nonEmpty(env.ALP_WIREGUARD_KEY_ROTATION_INTERVAL) ?? '0';
  const rotationMs = parseGoDurationMs(rotationText);
  if (rotationMs === null || rotationMs < 0 || (rotationMs > 0 && rotationMs < 1000)) {
    return {
      kind: 'usage-error',
      error: `invalid WireGuard key rotation interval "${rotationText}" (a duration such as 24h, at least 1s, or 0 for off)`,
    };
  }
  const strictEnv = nonEmpty(env.ALP_WIREGUARD_STRICT);
  if (strictEnv !== undefined && strictEnv !== 'true' && strictEnv !== 'false') {
    return { kind: 'usage-error', error: `invalid ALP_WIREGUARD_STRICT "${strictEnv}" (true or false)` };
  }
  const wireguardStrict = values['wireguard-strict'] === true || strictEnv === 'true';
  for (const flag of ['state-dir', 'wg-socket-dir', 'kubeconfig', 'metrics-addr'] as const) {
    if (values[flag] === '') return { kind: 'usage-error', error: `--${flag} must not be empty` };
  }
  // Checked now, as dikastes does, so a typo is a usage error rather than a half-started node.
  const metricsAddr = values['metrics-addr'];
  if (metricsAddr !== undefined && parseHostPort(metricsAddr) === null) {
    return {
      kind: 'usage-error',
      error: `invalid --metrics-addr "${metricsAddr}" (want ${HOST_PORT_FORMS})`,
    };
  }
  return {
    kind: 'run',
    options: {
      nodeName,
      kubeconfig: values.kubeconfig ?? null,
      stateDir: values['state-dir'] ?? DEFAULT_STATE_DIR,
      wgSocketDir: values['wg-socket-dir'] ?? null,
      wireguardDevice: device,
      wireguardKeyRotationIntervalMs: rotationMs,
      wireguardStrict,
      metricsAddr: values['metrics-addr'] ?? null,
      logLevel: logLevel as LogLevel,
      logFormat,
    },
  };
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === '' ? undefined : v;
}
