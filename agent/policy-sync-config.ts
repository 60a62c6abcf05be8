// The policy-sync agent's settings from the environment (Calico's names where Calico has one) and
// FelixConfiguration. Pure: values in, settings or a reason out.
import { layerField, type FelixConfigLayer, type FelixConfigSource } from '../calico/felix-configuration.js';
import type { SocketLayout } from './pod-sockets.js';

export type DatastoreSettings =
  { readonly type: 'kubernetes' } | { readonly type: 'file'; readonly paths: readonly string[] };

export interface PolicySyncSettings {
  readonly datastore: DatastoreSettings;
  /** '' disables the PolicySync API, as in Felix. */
  readonly policySyncPathPrefix: string;
  readonly socketLayout: SocketLayout;
  /** Where the prefix came from, for the start-up log line. */
  readonly prefixSource: 'env' | FelixConfigSource | 'unset';
}

export type SettingsResult =
  { readonly ok: true; readonly value: PolicySyncSettings } | { readonly ok: false; readonly error: string };

export interface SettingsInput {
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The FelixConfigurations that apply to this node, highest first (selectFelixConfigurations). */
  readonly felixLayers?: readonly FelixConfigLayer[];
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
 * separated by ':'); FELIX_POLICYSYNCPATHPREFIX overrides the FelixConfigurations, taken in
 * Felix's order (node.<name>, then the one selecting this node, then `default`);
 * ALP_POLICY_SYNC_LAYOUT=csi (default) or driverless.
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
  const layer = (input.felixLayers ?? []).find(
    (l) => typeof layerField(l, 'policySyncPathPrefix') === 'string',
  );
  const [prefix, prefixSource] =
    fromEnv !== undefined
      ? [fromEnv, 'env' as const]
      : layer !== undefined
        ? [layerField(layer, 'policySyncPathPrefix') as string, layer.source]
        : ['', 'unset' as const];
  if (prefix !== '' && !prefix.startsWith('/'))
    return { ok: false, error: `policySyncPathPrefix must be an absolute path, not "${prefix}"` };
  return { ok: true, value: { datastore, policySyncPathPrefix: prefix, socketLayout: layout, prefixSource } };
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v === '' ? undefined : v;
}
