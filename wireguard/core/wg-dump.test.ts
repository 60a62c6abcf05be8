import { describe, expect, it } from 'vitest';
import { canonicalEndpoint, parseWgDump } from './wg-dump.js';
import { mutate, seededRandom } from '../../testing/fuzz-text.js';

const key = (n: number): string => Buffer.alloc(32, n).toString('base64');
const PRIVATE = key(200);

const DUMP = [
  [PRIVATE, key(99), '51820', '0x200000'].join('\t'),
  [
    key(1),
    '(none)',
    '192.0.2.2:51820',
    '198.51.100.64/26,198.51.100.1/32',
    '1700000000',
    '1536',
    '2048',
    'off',
  ].join('\t'),
  [key(2), '(none)', '(none)', '(none)', '0', '0', '0', '25'].join('\t'),
  [key(3), '(none)', '[2001:db8:0::5]:51821', '2001:db8:1::/120', '0', '0', '0', 'off'].join('\t'),
].join('\n');

describe('parseWgDump', () => {
  it('reads the interface line and every peer, dropping the private key', () => {
    const r = parseWgDump(`${DUMP}\n`);
    expect(r).toEqual({
      ok: true,
      dump: {
        publicKey: key(99),
        listenPort: 51820,
        firewallMark: 0x200000,
        peers: [
          {
            publicKey: key(1),
            endpoint: '192.0.2.2:51820',
            allowedIps: ['198.51.100.1/32', '198.51.100.64/26'],
            latestHandshakeSeconds: 1700000000,
            rxBytes: 1536,
            txBytes: 2048,
            persistentKeepaliveSeconds: 0,
          },
          {
            publicKey: key(2),
            endpoint: null,
            allowedIps: [],
            latestHandshakeSeconds: 0,
            rxBytes: 0,
            txBytes: 0,
            persistentKeepaliveSeconds: 25,
          },
          {
            publicKey: key(3),
            endpoint: '[2001:db8::5]:51821',
            allowedIps: ['2001:db8:1::/120'],
            latestHandshakeSeconds: 0,
            rxBytes: 0,
            txBytes: 0,
            persistentKeepaliveSeconds: 0,
          },
        ],
      },
    });
    expect(JSON.stringify(r)).not.toContain(PRIVATE);
  });

  it('reads a fresh device with no keys and no fwmark', () => {
    expect(parseWgDump('(none)\t(none)\t35463\toff\n')).toEqual({
      ok: true,
      dump: { publicKey: null, listenPort: 35463, firewallMark: 0, peers: [] },
    });
  });

  const bad: { rule: string; text: string }[] = [
    { rule: 'empty output is rejected', text: '' },
    { rule: 'a short interface line is rejected', text: 'a\tb\tc' },
    { rule: 'an out-of-range port is rejected', text: `(none)\t${key(1)}\t70000\toff` },
    { rule: 'a non-hex fwmark is rejected', text: `(none)\t${key(1)}\t1\t12` },
    {
      rule: 'a peer with a bad key is rejected',
      text: `(none)\t(none)\t1\toff\nnope\t(none)\t(none)\t(none)\t0\t0\t0\toff`,
    },
    {
      rule: 'a peer with a bad CIDR is rejected',
      text: `(none)\t(none)\t1\toff\n${key(1)}\t(none)\t(none)\t10.0.0.0/33\t0\t0\t0\toff`,
    },
    {
      rule: 'a peer with a bad endpoint is rejected',
      text: `(none)\t(none)\t1\toff\n${key(1)}\t(none)\thost:1\t(none)\t0\t0\t0\toff`,
    },
    { rule: 'the multi-interface `all dump` form is rejected', text: `wg0\t(none)\t(none)\t1\toff` },
  ];
  for (const c of bad) {
    it(c.rule, () => expect(parseWgDump(c.text).ok).toBe(false));
  }

  it('never throws on mutated dumps, and a rejection never echoes the private key (fuzz)', () => {
    const random = seededRandom(5);
    for (let i = 0; i < 400; i++) {
      const text = mutate(DUMP, random);
      const r = parseWgDump(text);
      if (!r.ok) expect(r.reason).not.toContain(PRIVATE);
      else for (const p of r.dump.peers) expect(p.publicKey).not.toBe(PRIVATE);
    }
  });
});

describe('canonicalEndpoint', () => {
  const cases: [string, string | null][] = [
    ['192.0.2.1:51820', '192.0.2.1:51820'],
    ['[2001:DB8::1]:1', '[2001:db8::1]:1'],
    ['[192.0.2.1]:1', null],
    ['2001:db8::1:1', null],
    ['192.0.2.1:99999', null],
  ];
  for (const [text, want] of cases) {
    it(`normalises ${text}`, () => expect(canonicalEndpoint(text)).toBe(want));
  }
});
