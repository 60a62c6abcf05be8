import { describe, expect, it } from 'vitest';
import type { FelixConfigLayer } from '../calico/felix-configuration.js';
import {
  enforcementChange,
  enforcementSettings,
  enforcementSettledByEnv,
  type EnforcementSettings,
} from './enforcement-config.js';

const layer = (name: string, spec: Record<string, unknown>): FelixConfigLayer => ({
  source: name === 'default' ? 'default' : 'node',
  name,
  spec,
});

describe('enforcementSettings', () => {
  it.each([
    {
      why: 'on by default with the Kubernetes datastore',
      env: {},
      layers: [],
      ds: 'kubernetes' as const,
      enabled: true,
    },
    {
      why: 'off by default with the file datastore',
      env: {},
      layers: [],
      ds: 'file' as const,
      enabled: false,
    },
    {
      why: 'nftablesMode Disabled in FelixConfiguration turns it off',
      env: {},
      layers: [layer('default', { nftablesMode: 'Disabled' })],
      ds: 'kubernetes' as const,
      enabled: false,
    },
    {
      why: 'the environment wins over FelixConfiguration',
      env: { FELIX_NFTABLESMODE: 'Enabled' },
      layers: [layer('default', { nftablesMode: 'Disabled' })],
      ds: 'kubernetes' as const,
      enabled: true,
    },
    {
      why: 'the file datastore can be told to enforce',
      env: { FELIX_NFTABLESMODE: 'auto' },
      layers: [],
      ds: 'file' as const,
      enabled: true,
    },
    {
      why: 'the node resource wins over default',
      env: {},
      layers: [layer('node.n1', { nftablesMode: 'Enabled' }), layer('default', { nftablesMode: 'Disabled' })],
      ds: 'kubernetes' as const,
      enabled: true,
    },
  ])('$why', ({ env, layers, ds, enabled }) => {
    const r = enforcementSettings({ env, felixLayers: layers, datastoreType: ds });
    expect(r.ok && r.value.enabled).toBe(enabled);
  });

  it('reads interfacePrefix and defaultEndpointToHostAction in Felix style', () => {
    const r = enforcementSettings({
      env: { FELIX_DEFAULTENDPOINTTOHOSTACTION: 'ACCEPT' },
      felixLayers: [layer('default', { interfacePrefix: 'veth,tap', defaultEndpointToHostAction: 'Return' })],
      datastoreType: 'kubernetes',
    });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.interfacePrefix).toBe('veth');
    expect(r.value.defaultEndpointToHostAction).toBe('Accept');
    expect(r.value.warnings.join()).toMatch(/only "veth"/);
  });

  it.each([
    [{}, [], 60_000],
    [{ FELIX_IPTABLESREFRESHINTERVAL: '1.5' }, [], 1_500],
    [{}, [layer('default', { iptablesRefreshInterval: '2m' })], 120_000],
    [{ FELIX_IPTABLESREFRESHINTERVAL: '0' }, [], 0],
    [{ FELIX_NFTABLESREFRESHINTERVAL: '7' }, [], 7_000],
    [{}, [layer('default', { nftablesRefreshInterval: '3m' })], 180_000],
    // Felix's nftables field wins over the iptables one, wherever either is set.
    [{ FELIX_IPTABLESREFRESHINTERVAL: '1' }, [layer('default', { nftablesRefreshInterval: '4s' })], 4_000],
    [
      {},
      [
        layer('node.n1', { iptablesRefreshInterval: '1s' }),
        layer('default', { nftablesRefreshInterval: '5s' }),
      ],
      5_000,
    ],
  ])('reads the refresh interval from %j %j', (env, layers, ms) => {
    const r = enforcementSettings({ env, felixLayers: layers, datastoreType: 'kubernetes' });
    expect(r.ok && r.value.refreshIntervalMs).toBe(ms);
  });

  it('defaults to cali and Drop, as Felix does', () => {
    const r = enforcementSettings({ env: {}, felixLayers: [], datastoreType: 'kubernetes' });
    expect(r.ok && [r.value.interfacePrefix, r.value.defaultEndpointToHostAction]).toEqual(['cali', 'Drop']);
  });

  it.each([
    [{ FELIX_NFTABLESMODE: 'sometimes' }, /nftablesMode .* must be Enabled, Disabled or Auto/],
    [{ FELIX_DEFAULTENDPOINTTOHOSTACTION: 'Allow' }, /must be Drop, Accept or Return/],
    [{ FELIX_INTERFACEPREFIX: 'a b' }, /interface name prefix/],
  ])('refuses %j', (env, error) => {
    const r = enforcementSettings({ env, felixLayers: [], datastoreType: 'kubernetes' });
    expect(r.ok ? '' : r.error).toMatch(error);
  });

  it.each([
    [{}, false],
    [{ FELIX_NFTABLESMODE: 'Disabled' }, true],
    [{ FELIX_NFTABLESMODE: 'Enabled' }, false],
    [
      {
        FELIX_NFTABLESMODE: 'Enabled',
        FELIX_INTERFACEPREFIX: 'cali',
        FELIX_DEFAULTENDPOINTTOHOSTACTION: 'Drop',
        FELIX_IPTABLESREFRESHINTERVAL: '60',
      },
      false, // a FelixConfiguration's nftablesRefreshInterval would win over it
    ],
    [
      {
        FELIX_NFTABLESMODE: 'Enabled',
        FELIX_INTERFACEPREFIX: 'cali',
        FELIX_DEFAULTENDPOINTTOHOSTACTION: 'Drop',
        FELIX_NFTABLESREFRESHINTERVAL: '60',
      },
      true,
    ],
    [
      { FELIX_NFTABLESMODE: 'Enabled', FELIX_INTERFACEPREFIX: 'cali', FELIX_NFTABLESREFRESHINTERVAL: '60' },
      false,
    ],
  ])('the environment %j settles it alone: %s', (env, settled) => {
    expect(enforcementSettledByEnv(env)).toBe(settled);
  });
});

/** The settings from these FelixConfiguration layers (and environment), which must be valid. */
const settingsOf = (
  layers: readonly FelixConfigLayer[],
  env: Record<string, string> = {},
): EnforcementSettings => {
  const r = enforcementSettings({ env, felixLayers: layers, datastoreType: 'kubernetes' });
  if (!r.ok) throw new Error(r.error);
  return r.value;
};

describe('a FelixConfiguration change applied live', () => {
  const base = [layer('default', { nftablesMode: 'Enabled' })];
  it.each<{
    why: string;
    before: FelixConfigLayer[];
    after: FelixConfigLayer[];
    env: Record<string, string>;
    change: unknown;
  }>([
    {
      why: 'nothing enforcement reads changed',
      before: base,
      after: [layer('default', { nftablesMode: 'Enabled', wireguardEnabled: true })],
      env: {},
      change: { kind: 'none' },
    },
    {
      why: 'Enabled → Disabled removes the table',
      before: base,
      after: [layer('default', { nftablesMode: 'Disabled' })],
      env: {},
      change: { kind: 'disable' },
    },
    {
      why: 'Disabled → Enabled programs it',
      before: [layer('default', { nftablesMode: 'Disabled' })],
      after: base,
      env: {},
      change: { kind: 'enable' },
    },
    {
      why: 'Disabled → unset is on (the Kubernetes datastore default)',
      before: [layer('default', { nftablesMode: 'Disabled' })],
      after: [],
      env: {},
      change: { kind: 'enable' },
    },
    {
      why: 'staying off with other values is nothing',
      before: [layer('default', { nftablesMode: 'Disabled' })],
      after: [layer('default', { nftablesMode: 'Disabled', interfacePrefix: 'tap' })],
      env: {},
      change: { kind: 'none' },
    },
    {
      why: 'a new interfacePrefix re-renders',
      before: base,
      after: [layer('default', { nftablesMode: 'Enabled', interfacePrefix: 'tap' })],
      env: {},
      change: { kind: 'reconfigure', fields: ['interfacePrefix'] },
    },
    {
      why: 'defaultEndpointToHostAction and the refresh interval together',
      before: base,
      after: [
        layer('default', {
          nftablesMode: 'Enabled',
          defaultEndpointToHostAction: 'Accept',
          iptablesRefreshInterval: '5s',
        }),
      ],
      env: {},
      change: { kind: 'reconfigure', fields: ['defaultEndpointToHostAction', 'refreshIntervalMs'] },
    },
    {
      why: 'node.<name> set over default (Felix precedence)',
      before: base,
      after: [
        layer('node.n1', { defaultEndpointToHostAction: 'Return' }),
        layer('default', { nftablesMode: 'Enabled', defaultEndpointToHostAction: 'Accept' }),
      ],
      env: {},
      change: { kind: 'reconfigure', fields: ['defaultEndpointToHostAction'] },
    },
    {
      why: 'a field FELIX_* overrides does not change',
      before: base,
      after: [layer('default', { nftablesMode: 'Disabled', interfacePrefix: 'tap' })],
      env: { FELIX_NFTABLESMODE: 'Enabled', FELIX_INTERFACEPREFIX: 'cali' },
      change: { kind: 'none' },
    },
  ])('$why', ({ before, after, env, change }) => {
    expect(enforcementChange(settingsOf(before, env), settingsOf(after, env))).toEqual(change);
  });

  it('an invalid value is refused, so the last good settings stay', () => {
    const r = enforcementSettings({
      env: {},
      felixLayers: [layer('default', { defaultEndpointToHostAction: 'Allow' })],
      datastoreType: 'kubernetes',
    });
    expect(r.ok ? '' : r.error).toMatch(/defaultEndpointToHostAction \(FelixConfiguration default\) must be/);
    // The resource to put the Event on.
    expect(r.ok ? null : r.resource).toBe('default');
  });

  it('a value refused from the environment names no resource', () => {
    const r = enforcementSettings({
      env: { FELIX_IPTABLESREFRESHINTERVAL: 'soon' },
      felixLayers: [layer('node.n1', { iptablesRefreshInterval: '5s' })],
      datastoreType: 'kubernetes',
    });
    expect(r.ok ? 'ok' : [r.error, r.resource]).toEqual([
      'iptablesRefreshInterval (FELIX_IPTABLESREFRESHINTERVAL) must be seconds or a duration such as 90s, not "soon"',
      undefined,
    ]);
  });
});
