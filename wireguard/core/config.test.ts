import { describe, expect, it } from 'vitest';
import type { FelixConfigLayer } from '../../calico/felix-configuration.js';
import { computeWireguardConfig, DEFAULT_CONFIG, familyConfig, type ConfigInputs } from './config.js';
import { parseGoDurationMs } from './go-duration.js';

const none: ConfigInputs = { layers: [], env: {} };
const def = (spec: Record<string, unknown>): FelixConfigLayer => ({
  source: 'default',
  name: 'default',
  spec,
});
const sel = (spec: Record<string, unknown>): FelixConfigLayer => ({ source: 'selector', name: 'gpu', spec });
const node = (spec: Record<string, unknown>): FelixConfigLayer => ({ source: 'node', name: 'node.n1', spec });

describe('computeWireguardConfig', () => {
  it('has Calico’s defaults when nothing is configured (spec §1.1)', () => {
    const { config, problems } = computeWireguardConfig(none, null);
    expect(problems).toEqual([]);
    expect(config).toEqual({
      enabledV4: false,
      enabledV6: false,
      listenPortV4: 51820,
      listenPortV6: 51821,
      interfaceNameV4: 'wireguard.cali',
      interfaceNameV6: 'wg-v6.cali',
      mtuV4: 0,
      mtuV6: 0,
      routingRulePriority: 99,
      hostEncryptionEnabled: false,
      persistentKeepaliveSeconds: 0,
      threadingEnabled: false,
      metricsEnabled: true,
      ipv6Support: true,
      routeRefreshIntervalMs: 90_000,
      routeTableIndex: 1,
      firewallMark: 0x200000,
      deviceRouteProtocol: 3,
      mtuIfacePattern: DEFAULT_CONFIG.mtuIfacePattern,
      routeSyncDisabled: false,
    });
  });

  const precedence: { rule: string; inputs: ConfigInputs; want: number }[] = [
    {
      rule: 'default applies',
      inputs: { ...none, layers: [def({ wireguardListeningPort: 5000 })] },
      want: 5000,
    },
    {
      rule: 'node.<name> overrides default',
      inputs: {
        ...none,
        layers: [node({ wireguardListeningPort: 6000 }), def({ wireguardListeningPort: 5000 })],
      },
      want: 6000,
    },
    {
      rule: 'the selected FelixConfiguration overrides default',
      inputs: {
        ...none,
        layers: [sel({ wireguardListeningPort: 5500 }), def({ wireguardListeningPort: 5000 })],
      },
      want: 5500,
    },
    {
      rule: 'node.<name> overrides the selected FelixConfiguration',
      inputs: {
        ...none,
        layers: [node({ wireguardListeningPort: 6000 }), sel({ wireguardListeningPort: 5500 })],
      },
      want: 6000,
    },
    {
      rule: 'fields fall through one by one: a node resource without the field leaves it to the selected one',
      inputs: {
        ...none,
        layers: [
          node({ wireguardEnabled: true }),
          sel({ wireguardListeningPort: 5500 }),
          def({ wireguardListeningPort: 5000 }),
        ],
      },
      want: 5500,
    },
    {
      rule: 'a field set to null counts as unset',
      inputs: {
        ...none,
        layers: [sel({ wireguardListeningPort: null }), def({ wireguardListeningPort: 5000 })],
      },
      want: 5000,
    },
    {
      rule: 'the environment overrides every resource, names matched case-insensitively',
      inputs: {
        layers: [
          node({ wireguardListeningPort: 6000 }),
          sel({ wireguardListeningPort: 5500 }),
          def({ wireguardListeningPort: 5000 }),
        ],
        env: { felix_wireguardlisteningport: '7000' },
      },
      want: 7000,
    },
    {
      rule: 'an empty variable counts as unset',
      inputs: { ...none, env: { FELIX_WIREGUARDLISTENINGPORT: '' } },
      want: 51820,
    },
  ];
  for (const c of precedence) {
    it(`precedence: ${c.rule}`, () =>
      expect(computeWireguardConfig(c.inputs, null).config.listenPortV4).toBe(c.want));
  }

  const values: {
    rule: string;
    spec: Record<string, unknown>;
    field: keyof typeof DEFAULT_CONFIG;
    want: unknown;
  }[] = [
    {
      rule: 'booleans accept Felix’s words',
      spec: { wireguardEnabled: 'yes' },
      field: 'enabledV4',
      want: true,
    },
    { rule: 'ints accept hex like Felix', spec: { wireguardMTU: '0x578' }, field: 'mtuV4', want: 1400 },
    {
      rule: 'keepalive is a Go duration in the CRD',
      spec: { wireguardKeepAlive: '1m30s' },
      field: 'persistentKeepaliveSeconds',
      want: 90,
    },
    {
      rule: 'keepalive truncates to whole seconds',
      spec: { wireguardKeepAlive: '2500ms' },
      field: 'persistentKeepaliveSeconds',
      want: 2,
    },
    {
      rule: 'route refresh takes a duration',
      spec: { routeRefreshInterval: '10s' },
      field: 'routeRefreshIntervalMs',
      want: 10_000,
    },
    {
      rule: 'the table is the first index of routeTableRanges',
      spec: { routeTableRanges: [{ min: 10, max: 20 }] },
      field: 'routeTableIndex',
      want: 10,
    },
    {
      rule: 'the deprecated routeTableRange still works',
      spec: { routeTableRange: { min: 7, max: 9 } },
      field: 'routeTableIndex',
      want: 7,
    },
    {
      rule: 'reserved tables 253-255 are skipped',
      spec: { routeTableRanges: [{ min: 253, max: 260 }] },
      field: 'routeTableIndex',
      want: 256,
    },
    {
      rule: 'routeSyncDisabled is a boolean',
      spec: { routeSyncDisabled: true },
      field: 'routeSyncDisabled',
      want: true,
    },
    {
      rule: 'the mark is the 6th bit of iptablesMarkMask',
      spec: { iptablesMarkMask: 0xff },
      field: 'firewallMark',
      want: 0x20,
    },
  ];
  for (const c of values) {
    it(c.rule, () => {
      const r = computeWireguardConfig({ ...none, layers: [def(c.spec)] }, null);
      expect(r.problems).toEqual([]);
      expect(r.config[c.field]).toEqual(c.want);
    });
  }

  it('reads env values in Felix’s form: seconds as numbers, ranges as text', () => {
    const { config, problems } = computeWireguardConfig(
      { ...none, env: { FELIX_WIREGUARDPERSISTENTKEEPALIVE: '25', FELIX_ROUTETABLERANGES: '5-9,20-30' } },
      null,
    );
    expect(problems).toEqual([]);
    expect(config.persistentKeepaliveSeconds).toBe(25);
    expect(config.routeTableIndex).toBe(5);
  });

  const invalid: { rule: string; spec: Record<string, unknown> }[] = [
    { rule: 'port 0 is rejected (API validation >0)', spec: { wireguardListeningPort: 0 } },
    { rule: 'port 65536 is rejected', spec: { wireguardListeningPort: 65536 } },
    { rule: 'rule priority 32766 is rejected (<32766)', spec: { wireguardRoutingRulePriority: 32766 } },
    {
      rule: 'an interface name over 15 characters is rejected',
      spec: { wireguardInterfaceName: 'a-very-long-name-x' },
    },
    { rule: 'an interface name with a slash is rejected', spec: { wireguardInterfaceName: 'wg/0' } },
    { rule: 'a v4 MTU below 68 is rejected', spec: { wireguardMTU: 50 } },
    { rule: 'a v6 MTU below 1280 is rejected', spec: { wireguardMTUV6: 1000 } },
    { rule: 'a non-boolean enable flag is rejected', spec: { wireguardEnabled: 'maybe' } },
    { rule: 'a keepalive that is not a duration is rejected', spec: { wireguardKeepAlive: 'soon' } },
    { rule: 'a mark mask with fewer than 6 bits is rejected', spec: { iptablesMarkMask: 0x1f } },
    { rule: 'an invalid regular expression is rejected', spec: { mtuIfacePattern: '(' } },
  ];
  for (const c of invalid) {
    it(`${c.rule}; the built-in default is used at start`, () => {
      const r = computeWireguardConfig({ ...none, layers: [def(c.spec)] }, null);
      expect(r.problems).toHaveLength(1);
      expect(r.problems[0]?.source).toBe('default');
      expect(r.config).toEqual(DEFAULT_CONFIG);
    });
  }

  it('keeps the last good value when a valid value turns invalid', () => {
    const first = computeWireguardConfig(
      { ...none, layers: [node({ wireguardListeningPort: 6000 })] },
      null,
    ).config;
    const r = computeWireguardConfig(
      {
        ...none,
        layers: [node({ wireguardListeningPort: 'abc' }), def({ wireguardListeningPort: 5000 })],
      },
      first,
    );
    expect(r.config.listenPortV4).toBe(6000);
    expect(r.problems).toEqual([
      {
        field: 'wireguardListeningPort',
        source: 'node',
        resource: 'node.n1',
        value: 'abc',
        reason: 'not an integer',
      },
    ]);
  });

  it('falls through to lower sources when there is no previous config', () => {
    const r = computeWireguardConfig(
      {
        ...none,
        layers: [node({ wireguardListeningPort: 'abc' }), def({ wireguardListeningPort: 5000 })],
      },
      null,
    );
    expect(r.config.listenPortV4).toBe(5000);
  });

  it('v6 is enabled only with ipv6Support', () => {
    const on = computeWireguardConfig({ ...none, layers: [def({ wireguardEnabledV6: true })] }, null).config;
    expect(familyConfig(on, 6).enabled).toBe(true);
    const off = computeWireguardConfig(
      { ...none, layers: [def({ wireguardEnabledV6: true, ipv6Support: false })] },
      null,
    );
    expect(familyConfig(off.config, 6).enabled).toBe(false);
    expect(familyConfig(off.config, 6)).toMatchObject({
      family: 6,
      interfaceName: 'wg-v6.cali',
      listenPort: 51821,
    });
  });
});

describe('parseGoDurationMs', () => {
  const cases: [string, number | null][] = [
    ['90s', 90_000],
    ['1h2m3s', 3_723_000],
    ['1.5s', 1500],
    ['250ms', 250],
    ['0', 0],
    ['-2s', -2000],
    ['10', null],
    ['', null],
    ['s', null],
    ['1d', null],
  ];
  for (const [text, want] of cases) {
    it(`parses ${JSON.stringify(text)} as Go does`, () => expect(parseGoDurationMs(text)).toBe(want));
  }
});
