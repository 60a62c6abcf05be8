// Parsers of `ip -j` output, fed real iproute2 6.1 output captured in a scratch namespace.
import { describe, expect, it } from 'vitest';
import { mutate, seededRandom } from '../../testing/fuzz-text.js';
import { parseAddresses, parseLinks, parseRoutes, parseRules } from './ip-json.js';
import { parseLinkEvent } from './ip-monitor.js';

const LINKS = JSON.stringify([
  { ifindex: 1, ifname: 'lo', flags: ['LOOPBACK', 'UP', 'LOWER_UP'], mtu: 65536, operstate: 'UNKNOWN' },
  {
    ifindex: 2,
    ifname: 'wireguard.cali',
    flags: ['POINTOPOINT', 'MULTICAST', 'NOARP'],
    mtu: 1420,
    linkinfo: { info_kind: 'tun', info_data: { type: 'tun', pi: true } },
  },
  {
    ifindex: 3,
    link: 'd1',
    ifname: 'eth0',
    flags: ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'],
    mtu: 1500,
    linkinfo: { info_kind: 'veth' },
  },
]);

const ADDRS = JSON.stringify([
  {
    ifindex: 3,
    ifname: 'd0',
    addr_info: [
      { family: 'inet', local: '192.0.2.1', prefixlen: 24, scope: 'global' },
      { family: 'inet6', local: '2001:db8:1::1', prefixlen: 128, scope: 'global' },
      { family: 'inet6', local: 'fe80::f860:ceff:fead:8968', prefixlen: 64, scope: 'link' },
    ],
  },
]);

const ROUTES_V4 = JSON.stringify([
  { dst: '198.51.100.0/26', dev: 'wireguard.cali', scope: 'link', flags: [] },
  { type: 'throw', dst: '198.51.100.64/26', flags: [] },
  { dst: '198.51.100.130', dev: 'wireguard.cali', scope: 'link', flags: [] },
  { dst: '198.51.100.192/26', dev: 'wireguard.cali', protocol: 'static', scope: 'link', flags: [] },
  { dst: '203.0.113.0/24', dev: 'eth0', scope: 'link', flags: [] },
  { dst: '203.0.114.0/24', gateway: '192.0.2.9', dev: 'wireguard.cali', flags: [] },
]);

const ROUTES_V6 = JSON.stringify([
  { type: 'throw', dst: '2001:db8::/64', dev: 'lo', metric: 1024, flags: [], pref: 'medium' },
  { dst: '2001:db8:5::/64', dev: 'wg-v6.cali', metric: 1024, flags: [], pref: 'medium' },
]);

const RULES = JSON.stringify([
  { priority: 0, src: 'all', table: 'local' },
  { priority: 99, not: null, src: 'all', fwmark: '0x200000', fwmask: '0x200000', table: '1' },
  { priority: 100, src: '10.0.0.0', srclen: 8, table: '1' },
  { priority: 32766, src: 'all', table: 'main' },
]);

describe('ip -j parsers', () => {
  it('reads links with kind, MTU and the admin-up flag', () => {
    expect(parseLinks(LINKS)).toEqual({
      ok: true,
      value: [
        { name: 'lo', kind: 'unknown', mtu: 65536, isUp: true },
        { name: 'wireguard.cali', kind: 'tun', mtu: 1420, isUp: false },
        { name: 'eth0', kind: 'veth', mtu: 1500, isUp: true },
      ],
    });
  });

  it('reads only global addresses of the asked family, keeping the host part', () => {
    expect(parseAddresses(ADDRS, 4)).toEqual({ ok: true, value: ['192.0.2.1/24'] });
    expect(parseAddresses(ADDRS, 6)).toEqual({ ok: true, value: ['2001:db8:1::1/128'] });
  });

  it('reads throw routes and routes via our device only; a missing protocol means boot (3)', () => {
    expect(parseRoutes(ROUTES_V4, 4, 'wireguard.cali')).toEqual({
      ok: true,
      value: [
        { dst: '198.51.100.0/26', target: 'device', protocol: 3 },
        { dst: '198.51.100.64/26', target: 'throw', protocol: 3 },
        { dst: '198.51.100.130/32', target: 'device', protocol: 3 },
        { dst: '198.51.100.192/26', target: 'device', protocol: 4 },
      ],
    });
  });

  it('reads IPv6 throw routes (shown via lo) as throw', () => {
    expect(parseRoutes(ROUTES_V6, 6, 'wg-v6.cali')).toEqual({
      ok: true,
      value: [
        { dst: '2001:db8::/64', target: 'throw', protocol: 3 },
        { dst: '2001:db8:5::/64', target: 'device', protocol: 3 },
      ],
    });
  });

  it('reads the rules that look up our table, with inversion, mark/mask and any source', () => {
    expect(parseRules(RULES, 1)).toEqual({
      ok: true,
      value: [
        { priority: 99, mark: 0x200000, mask: 0x200000, invert: true, table: 1 },
        { priority: 100, mark: 0, mask: 0, invert: false, table: 1, src: '10.0.0.0/8' },
      ],
    });
  });

  it('takes empty output as an empty list (ip prints nothing for an empty table)', () => {
    expect(parseRoutes('', 4, 'x')).toEqual({ ok: true, value: [] });
  });

  it('rejects output that is not a JSON array', () => {
    expect(parseLinks('{"a":1}').ok).toBe(false);
    expect(parseRules('[{', 1).ok).toBe(false);
  });

  it('never throws on mutated output (fuzz)', () => {
    const random = seededRandom(11);
    for (const doc of [LINKS, ADDRS, ROUTES_V4, ROUTES_V6, RULES]) {
      for (let i = 0; i < 80; i++) {
        const text = mutate(doc, random);
        expect(() => {
          parseLinks(text);
          parseAddresses(text, 4);
          parseRoutes(text, 6, 'wg');
          parseRules(text, 1);
        }).not.toThrow();
      }
    }
  });
});

describe('parseLinkEvent', () => {
  const cases: { rule: string; line: string; want: ReturnType<typeof parseLinkEvent> }[] = [
    {
      rule: 'a new or changed link carries its UP flag',
      line: '3: wireguard.cali: <POINTOPOINT,MULTICAST,NOARP,UP,LOWER_UP> mtu 1440 qdisc fq_codel state UNKNOWN group default \\    link/none',
      want: { iface: 'wireguard.cali', isDeleted: false, isUp: true },
    },
    {
      rule: 'a deletion is marked as such',
      line: 'Deleted 3: va@NONE: <BROADCAST,MULTICAST> mtu 1400 qdisc noop state DOWN group default \\    link/ether ba:3a',
      want: { iface: 'va', isDeleted: true, isUp: false },
    },
    { rule: 'other lines are ignored', line: 'garbage', want: null },
  ];
  for (const c of cases) it(c.rule, () => expect(parseLinkEvent(c.line)).toEqual(c.want));
});
