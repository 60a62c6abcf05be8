import { describe, expect, it } from 'vitest';
import { selectFelixConfigurations } from '../calico/felix-configuration.js';
import { labelsFromObject } from '../calico/labels.js';
import { policySyncSettings } from './policy-sync-config.js';

/** The layers for node n1 (labelled role=gpu) from these specs, chosen as Felix would. */
function layers(node: unknown, selected: unknown, def: unknown) {
  const resources = [
    ...(node === null ? [] : [{ name: 'node.n1', createdMs: 0, spec: node as Record<string, unknown> }]),
    ...(selected === null
      ? []
      : [
          {
            name: 'gpus',
            createdMs: 0,
            spec: { nodeSelector: "role == 'gpu'", ...(selected as Record<string, unknown>) },
          },
        ]),
    ...(def === null ? [] : [{ name: 'default', createdMs: 0, spec: def as Record<string, unknown> }]),
  ];
  return selectFelixConfigurations(resources, 'n1', labelsFromObject({ role: 'gpu' })).layers;
}

describe('policySyncSettings', () => {
  const P = (prefix: string) => ({ policySyncPathPrefix: prefix });
  it.each([
    [
      'the environment wins over FelixConfiguration',
      { FELIX_POLICYSYNCPATHPREFIX: '/env' },
      P('/node'),
      P('/sel'),
      P('/def'),
      '/env',
      'env',
    ],
    [
      'node.<name> wins over the selected one and default',
      {},
      P('/node'),
      P('/sel'),
      P('/def'),
      '/node',
      'node',
    ],
    [
      'the FelixConfiguration selecting this node wins over default',
      {},
      null,
      P('/sel'),
      P('/def'),
      '/sel',
      'selector',
    ],
    [
      'a node.<name> without the field leaves it to the selected one',
      {},
      {},
      P('/sel'),
      P('/def'),
      '/sel',
      'selector',
    ],
    ['an empty value counts as unset, as in Felix', {}, P(''), null, P('/def'), '/def', 'default'],
    [
      'default applies when nothing else sets it',
      {},
      null,
      null,
      P('/var/run/nodeagent'),
      '/var/run/nodeagent',
      'default',
    ],
    ['unset means disabled, as in Felix', {}, null, null, null, '', 'unset'],
    [
      'an empty variable counts as unset',
      { FELIX_POLICYSYNCPATHPREFIX: '' },
      null,
      null,
      P('/def'),
      '/def',
      'default',
    ],
  ])('prefix: %s', (_rule, env, node, selected, def, prefix, source) => {
    const r = policySyncSettings({ env, felixLayers: layers(node, selected, def) });
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
