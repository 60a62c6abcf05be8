import { describe, expect, it } from 'vitest';
import { policySyncSettings } from './policy-sync-config.js';

describe('policySyncSettings', () => {
  it.each([
    [
      'the environment wins over FelixConfiguration',
      { FELIX_POLICYSYNCPATHPREFIX: '/env' },
      { policySyncPathPrefix: '/node' },
      { policySyncPathPrefix: '/def' },
      '/env',
      'env',
    ],
    [
      'node.<name> wins over default',
      {},
      { policySyncPathPrefix: '/node' },
      { policySyncPathPrefix: '/def' },
      '/node',
      'node',
    ],
    [
      'default applies when nothing else sets it',
      {},
      null,
      { policySyncPathPrefix: '/var/run/nodeagent' },
      '/var/run/nodeagent',
      'default',
    ],
    ['unset means disabled, as in Felix', {}, null, null, '', 'unset'],
    [
      'an empty variable counts as unset',
      { FELIX_POLICYSYNCPATHPREFIX: '' },
      null,
      { policySyncPathPrefix: '/def' },
      '/def',
      'default',
    ],
  ])('prefix: %s', (_rule, env, node, def, prefix, source) => {
    const r = policySyncSettings({ env, nodeFelixSpec: node, defaultFelixSpec: def });
    expect(r.ok && [r.value.policySyncPathPrefix, r.value.prefixSource]).toEqual([prefix, source]);
  });

  it('DATASTORE_TYPE=file reads ALP_DATASTORE_PATH', () => {
    const r = policySyncSettings({ env: { DATASTORE_TYPE: 'file', ALP_DATASTORE_PATH: '/a:/b.yaml' } });
    expect(r.ok && r.value.datastore).toEqual({ type: 'file', paths: ['/a', '/b.yaml'] });
  });

  it.each([
    ['an unknown datastore type', { DATASTORE_TYPE: 'etcdv3' }, 'must be kubernetes or file'],
    ['the file datastore without paths', { DATASTORE_TYPE: 'file' }, 'needs ALP_DATASTORE_PATH'],
    ['an unknown socket layout', { ALP_POLICY_SYNC_LAYOUT: 'flexvolume' }, 'csi or driverless'],
    ['a relative prefix', { FELIX_POLICYSYNCPATHPREFIX: 'run/nodeagent' }, 'absolute path'],
  ])('refuses %s', (_rule, env, error) => {
    const r = policySyncSettings({ env });
    expect(r.ok ? '' : r.error).toContain(error);
  });
});
