// The policy-sync agent's settings from the environment (Calico's names where Calico has one) and
// FelixConfiguration. Pure: values in, settings or a reason out.
import type { SocketLayout } from './pod-sockets.js';

export type DatastoreSettings =
  { readonly type: 'kubernetes' } | { readonly type: 'file'; readonly paths: readonly string[] };

export interface PolicySyncSettings {
  readonly datastore: DatastoreSettings;
  /** '' disables the PolicySync API, as in Felix. */
  readonly policySyncPathPrefix: string;
  readonly socketLayout: SocketLayout;
  /** Where the prefix came from, for the start-up log line. */
  readonly prefixSource: 'env' | 'node' | 'default' | 'unset';
}

export type SettingsResult =
  { readonly ok: true; readonly value: PolicySyncSettings } | { readonly ok: false; readonly error: string };

export interface SettingsInput {
  readonly env: Readonly<Record<string, string | undefined>>;
  /** `.spec` of FelixConfiguration `node.<nodename>`, or null. */
  readonly nodeFelixSpec?: unknown;
  /** `.spec` of FelixConfiguration `default`, or null. */
  readonly defaultFelixSpec?: unknown;
}

/** Environment variables the agent reads. */
export const ENV = {
  datastoreType: 'DATASTORE_TYPE',
  datastorePath: 'ALP_DATASTORE_PATH',
  policySyncPathPrefix: 'FELIX_POLICYSYNCPATHPREFIX',
  socketLayout: 'ALP_POLICY_SYNC_LAYOUT',
} as const;

/**
 * DATASTORE_TYPE=kubernetes (default) or file (with ALP_DATASTORE_PATH: files or directories,
 * separated by ':'); FELIX_POLICYSYNCPATHPREFIX overrides FelixConfiguration node.<name>, which
 * overrides `default` (Felix's precedence); ALP_POLICY_SYNC_LAYOUT=csi (default) or driverless.
 */
export function policySyncSettings(input: SettingsInput): SettingsResult {
  const env = input.env;
  const type = nonEmpty(env[ENV.datastoreType]) ?? 'kubernetes';
  let datastore: DatastoreSettings;
  if (type === 'kubernetes') datastore = { type };
  else if (type === 'file') {
    const paths = (env[ENV.datastorePath] ?? '').split(':').filter((p) => p !== '');
    if (paths.length === 0)
      return {
        ok: false,
        error: `${ENV.datastoreType}=file needs ${ENV.datastorePath} (files or directories, ':'-separated)`,
      };
    datastore = { type, paths };
  } else {
    return { ok: false, error: `${ENV.datastoreType} must be kubernetes or file, not "${type}"` };
  }
  const layout = nonEmpty(env[ENV.socketLayout]) ?? 'csi';
  if (layout !== 'csi' && layout !== 'driverless')
    return { ok: false, error: `${ENV.socketLayout} must be csi or driverless, not "${layout}"` };

  const fromEnv = nonEmpty(env[ENV.policySyncPathPrefix]);
  const fromNode = specPrefix(input.nodeFelixSpec);
  const fromDefault = specPrefix(input.defaultFelixSpec);
  const [prefix, prefixSource] =
    fromEnv !== undefined
      ? [fromEnv, 'env' as const]
      : fromNode !== undefined
        ? [fromNode, 'node' as const]
        : fromDefault !== undefined
          ? [fromDefault, 'default' as const]
          : ['', 'unset' as const];
  if (prefix !== '' && !prefix.startsWith('/'))
    return { ok: false, error: `policySyncPathPrefix must be an absolute path, not "${prefix}"` };
  return { ok: true, value: { datastore, policySyncPathPrefix: prefix, socketLayout: layout, prefixSource } };
}

function specPrefix(spec: unknown): string | undefined {
  if (typeof spec !== 'object' || spec === null) return undefined;
  const v = (spec as Record<string, unknown>)['policySyncPathPrefix'];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v === '' ? undefined : v;
}
