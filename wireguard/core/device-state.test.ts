import { describe, expect, it } from 'vitest';
import { computeWireguardConfig, DEFAULT_MTU_IFACE_PATTERN, familyConfig } from './config.js';
import { desiredDevice, deviceMtu } from './device-state.js';
import { computePeerTable } from './peer-table.js';

const fam4 = {
  family: 4 as const,
  enabled: true,
  interfaceName: 'wireguard.cali',
  listenPort: 51820,
  mtu: 0,
};
const fam6 = { ...fam4, family: 6 as const, interfaceName: 'wg-v6.cali' };
const link = (name: string, mtu: number, isUp = true) => ({ name, mtu, isUp });

describe('deviceMtu (spec §4.3)', () => {
  const cases: {
    rule: string;
    family: typeof fam4 | typeof fam6;
    links: ReturnType<typeof link>[];
    want: number;
  }[] = [
    {
      rule: 'auto v4 is the smallest matching up link minus 60',
      family: fam4,
      links: [link('eth0', 1500), link('eth1', 9000)],
      want: 1440,
    },
    { rule: 'auto v6 subtracts 80', family: fam6, links: [link('eth0', 1500)], want: 1420 },
    {
      rule: 'down links are ignored',
      family: fam4,
      links: [link('eth0', 1400, false), link('ens3', 1500)],
      want: 1440,
    },
    {
      rule: 'links not matching mtuIfacePattern are ignored',
      family: fam4,
      links: [link('cali123', 1000), link('eth0', 1500)],
      want: 1440,
    },
    {
      rule: 'no matching link means a 1460 host MTU (1400 for v4)',
      family: fam4,
      links: [link('lo', 65536)],
      want: 1400,
    },
    {
      rule: 'a configured MTU wins',
      family: { ...fam4, mtu: 1300 },
      links: [link('eth0', 1500)],
      want: 1300,
    },
  ];
  for (const c of cases) {
    it(c.rule, () => {
      expect(deviceMtu(c.family, c.links, DEFAULT_MTU_IFACE_PATTERN, c.family.interfaceName)).toBe(c.want);
    });
  }

  it('never counts our own device, even when its name matches the pattern', () => {
    expect(
      deviceMtu(fam4, [link('eth0', 1500), link('eth-wg', 1000)], DEFAULT_MTU_IFACE_PATTERN, 'eth-wg'),
    ).toBe(1440);
  });
});

describe('desiredDevice', () => {
  it('carries port, mark, table, rule priority and protocol from the config', () => {
    const { config } = computeWireguardConfig(
      {
        layers: [
          {
            source: 'default',
            name: 'default',
            spec: {
              wireguardEnabled: true,
              wireguardRoutingRulePriority: 98,
              routeTableRanges: [{ min: 99, max: 99 }],
            },
          },
        ],
        env: {},
      },
      null,
    );
    const table = computePeerTable({
      family: 4,
      selfName: 'self',
      selfPublicKey: Buffer.alloc(32, 9).toString('base64'),
      nodes: [],
      blocks: [],
      listenPort: 51820,
      persistentKeepaliveSeconds: 0,
      hostEncryptionEnabled: false,
    });
    const d = desiredDevice(config, familyConfig(config, 4), table, 'PUB', 1440);
    expect(d).toMatchObject({
      iface: 'wireguard.cali',
      mtu: 1440,
      listenPort: 51820,
      firewallMark: 0x200000,
      publicKey: 'PUB',
      address: null,
      table: 99,
      routeProtocol: 3,
      rule: { priority: 98, mark: 0x200000, mask: 0x200000, invert: true, table: 99 },
    });
  });
});
