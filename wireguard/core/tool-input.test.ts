import { describe, expect, it } from 'vitest';
import { routeDeleteLines, routeReplaceLines, ruleLine, wgConfText, wgHandshakeArgvs } from './tool-input.js';

const K1 = Buffer.alloc(32, 1).toString('base64');
const PRIV = Buffer.alloc(32, 7).toString('base64');

describe('wgConfText', () => {
  it('writes the interface settings that change and each peer’s whole state', () => {
    const text = wgConfText({ privateKey: PRIV, listenPort: 51820, firewallMark: 0x200000 }, [
      {
        publicKey: K1,
        peer: {
          endpoint: '192.0.2.2:51820',
          allowedIps: ['198.51.100.64/26', '203.0.113.1/32'],
          persistentKeepaliveSeconds: 25,
        },
      },
    ]);
    expect(text).toBe(
      [
        '[Interface]',
        `PrivateKey = ${PRIV}`,
        'ListenPort = 51820',
        'FwMark = 0x200000',
        '[Peer]',
        `PublicKey = ${K1}`,
        'Endpoint = 192.0.2.2:51820',
        'AllowedIPs = 198.51.100.64/26, 203.0.113.1/32',
        'PersistentKeepalive = 25',
        '',
      ].join('\n'),
    );
  });

  it('omits the AllowedIPs line for a peer with none (an empty line is a wg parse error) and turns keepalive off', () => {
    const text = wgConfText({ privateKey: null, listenPort: null, firewallMark: null }, [
      { publicKey: K1, peer: { endpoint: '192.0.2.2:1', allowedIps: [], persistentKeepaliveSeconds: 0 } },
    ]);
    expect(text).toBe(`[Peer]\nPublicKey = ${K1}\nEndpoint = 192.0.2.2:1\nPersistentKeepalive = off\n`);
  });

  it('leaves the private key out unless the device must take it', () => {
    expect(wgConfText({ privateKey: null, listenPort: 1, firewallMark: null }, [])).toBe(
      '[Interface]\nListenPort = 1\n',
    );
  });
});

describe('route batch lines', () => {
  const v4 = { family: 4 as const, table: 1, iface: 'wireguard.cali', protocol: 3 };
  it('routes to the device with scope link, and throws, in our table with our protocol', () => {
    expect(
      routeReplaceLines(v4, [
        { dst: '198.51.100.64/26', target: 'device' },
        { dst: '198.51.100.0/26', target: 'throw' },
      ]),
    ).toEqual([
      'route replace 198.51.100.64/26 dev wireguard.cali table 1 proto 3 scope link',
      'route replace throw 198.51.100.0/26 table 1 proto 3',
    ]);
  });

  it('leaves scope out for IPv6', () => {
    expect(
      routeReplaceLines({ ...v4, family: 6, iface: 'wg-v6.cali' }, [
        { dst: '2001:db8::/64', target: 'device' },
      ]),
    ).toEqual(['route replace 2001:db8::/64 dev wg-v6.cali table 1 proto 3']);
  });

  it('deletes exactly the route observed', () => {
    expect(
      routeDeleteLines(v4, [
        { dst: '198.51.100.64/26', target: 'device', protocol: 3 },
        { dst: '198.51.100.0/26', target: 'throw', protocol: 3 },
      ]),
    ).toEqual([
      'route del 198.51.100.64/26 dev wireguard.cali table 1',
      'route del throw 198.51.100.0/26 table 1',
    ]);
  });
});

describe('ruleLine', () => {
  it('builds Felix’s rule: priority 99, not fwmark M/M, lookup T (spec §5.3)', () => {
    expect(ruleLine('add', { priority: 99, mark: 0x200000, mask: 0x200000, invert: true, table: 1 })).toBe(
      'rule add priority 99 not fwmark 0x200000/0x200000 lookup 1',
    );
  });

  it('names a foreign rule’s source and no mark when deleting it', () => {
    expect(
      ruleLine('del', { priority: 100, mark: 0, mask: 0, invert: false, table: 1, src: '2001:db8::/32' }),
    ).toBe('rule del priority 100 from 2001:db8::/32 lookup 1');
  });
});

describe('wgHandshakeArgvs', () => {
  const K2 = Buffer.alloc(32, 2).toString('base64');
  it('switches keepalive off, on (the kernel then sends one at once), and off again where it was off', () => {
    expect(
      wgHandshakeArgvs('wireguard.cali', [
        { publicKey: K1, persistentKeepaliveSeconds: 0 },
        { publicKey: K2, persistentKeepaliveSeconds: 25 },
      ]),
    ).toEqual([
      [
        'wg',
        'set',
        'wireguard.cali',
        'peer',
        K1,
        'persistent-keepalive',
        'off',
        'peer',
        K2,
        'persistent-keepalive',
        'off',
      ],
      [
        'wg',
        'set',
        'wireguard.cali',
        'peer',
        K1,
        'persistent-keepalive',
        '1',
        'peer',
        K2,
        'persistent-keepalive',
        '25',
      ],
      ['wg', 'set', 'wireguard.cali', 'peer', K1, 'persistent-keepalive', 'off'],
    ]);
  });

  it('splits long peer lists into calls of at most `chunk` peers', () => {
    const peers = Array.from({ length: 5 }, () => ({ publicKey: K2, persistentKeepaliveSeconds: 5 }));
    expect(wgHandshakeArgvs('wg0', peers, 2).map((argv) => (argv.length - 3) / 4)).toEqual([
      2, 2, 1, 2, 2, 1,
    ]);
  });
});
