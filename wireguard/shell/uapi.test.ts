import { describe, expect, it } from 'vitest';
import { parseUapiErrno, uapiHandshakeRequests, uapiSetText } from './uapi.js';

const K1 = Buffer.alloc(32, 1).toString('base64');
const K2 = Buffer.alloc(32, 2).toString('base64');
const PRIV = Buffer.alloc(32, 7).toString('base64');

describe('uapiSetText', () => {
  it('writes keys in hex, removals, and each upsert’s full state ending with a blank line', () => {
    const text = uapiSetText(
      { privateKey: PRIV, listenPort: 51820, firewallMark: 0x200000 },
      [K2],
      [
        {
          publicKey: K1,
          peer: {
            endpoint: '[2001:db8::2]:51821',
            allowedIps: ['2001:db8:1::/64', '198.51.100.0/26'],
            persistentKeepaliveSeconds: 25,
          },
        },
      ],
    );
    expect(text).toBe(
      [
        'set=1',
        `private_key=${'07'.repeat(32)}`,
        'listen_port=51820',
        'fwmark=2097152',
        `public_key=${'02'.repeat(32)}`,
        'remove=true',
        `public_key=${'01'.repeat(32)}`,
        'endpoint=[2001:db8::2]:51821',
        'replace_allowed_ips=true',
        'allowed_ip=2001:db8:1::/64',
        'allowed_ip=198.51.100.0/26',
        'persistent_keepalive_interval=25',
        '',
        '',
      ].join('\n'),
    );
  });

  it('replaces a peer’s allowed IPs with none when it has none', () => {
    const text = uapiSetText(
      { privateKey: null, listenPort: null, firewallMark: null },
      [],
      [{ publicKey: K1, peer: { endpoint: null, allowedIps: [], persistentKeepaliveSeconds: 0 } }],
    );
    expect(text).toBe(
      `set=1\npublic_key=${'01'.repeat(32)}\nreplace_allowed_ips=true\npersistent_keepalive_interval=0\n\n`,
    );
  });
});

describe('parseUapiErrno', () => {
  const cases: [string, number | null][] = [
    ['errno=0\n\n', 0],
    ['errno=-22\n\n', -22],
    ['protocol_version=1\nerrno=0\n\n', 0],
    ['garbage', null],
  ];
  for (const [reply, want] of cases)
    it(`reads ${JSON.stringify(reply)}`, () => expect(parseUapiErrno(reply)).toBe(want));
});

describe('uapiHandshakeRequests', () => {
  it('turns keepalive on from 0 for each peer (wireguard-go then sends one at once) and restores a keepalive of 0', () => {
    expect(
      uapiHandshakeRequests([
        { publicKey: K1, persistentKeepaliveSeconds: 0 },
        { publicKey: K2, persistentKeepaliveSeconds: 25 },
      ]),
    ).toEqual([
      [
        'set=1',
        `public_key=${'01'.repeat(32)}`,
        'update_only=true',
        'persistent_keepalive_interval=0',
        'persistent_keepalive_interval=1',
        `public_key=${'02'.repeat(32)}`,
        'update_only=true',
        'persistent_keepalive_interval=0',
        'persistent_keepalive_interval=25',
        '',
        '',
      ].join('\n'),
      [
        'set=1',
        `public_key=${'01'.repeat(32)}`,
        'update_only=true',
        'persistent_keepalive_interval=0',
        '',
        '',
      ].join('\n'),
    ]);
  });

  it('needs no restoring request when every peer keeps a keepalive, and nothing for no peers', () => {
    expect(uapiHandshakeRequests([{ publicKey: K2, persistentKeepaliveSeconds: 25 }])).toHaveLength(1);
    expect(uapiHandshakeRequests([])).toEqual([]);
  });
});
