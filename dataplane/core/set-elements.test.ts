import { describe, expect, it } from 'vitest';
import { addrPortElements, mergePortRanges, netElements } from './set-elements.js';

describe('netElements', () => {
  it.each([
    {
      rule: 'host prefixes are written bare, networks as network/len',
      members: ['10.0.0.1/32', '10.1.0.0/16'],
      v4: ['10.0.0.1', '10.1.0.0/16'],
      v6: [],
    },
    {
      rule: 'host bits are masked off, duplicates go',
      members: ['10.1.2.3/16', '10.1.0.0/16', '10.0.0.1', '10.0.0.1/32'],
      v4: ['10.0.0.1', '10.1.0.0/16'],
      v6: [],
    },
    {
      rule: 'addresses with leading zeros or out-of-range parts are not hosts of the fast path',
      members: ['10.0.0.01/32', '10.0.0.256', '010.0.0.1', '192.0.2.10/32', '192.0.2.9'],
      v4: ['192.0.2.9', '192.0.2.10'],
      v6: [],
      invalid: ['10.0.0.01/32', '10.0.0.256', '010.0.0.1'],
    },
    {
      rule: 'a member inside another is left out (nft refuses overlapping intervals)',
      members: ['10.0.0.0/8', '10.1.0.0/16', '10.1.2.3', '11.0.0.1'],
      v4: ['10.0.0.0/8', '11.0.0.1'],
      v6: [],
    },
    {
      rule: 'adjacent members stay separate',
      members: ['10.0.0.128/25', '10.0.0.0/25'],
      v4: ['10.0.0.0/25', '10.0.0.128/25'],
      v6: [],
    },
    {
      rule: 'IPv6 in RFC 5952 form, its own list',
      members: ['FD00:0:0::1/128', 'fd00::/64', '::/0'],
      v4: [],
      v6: ['::/0'],
    },
    {
      rule: 'catch-alls collapse everything of their family',
      members: ['0.0.0.0/0', '10.0.0.1', 'fd00::1'],
      v4: ['0.0.0.0/0'],
      v6: ['fd00::1'],
    },
  ] as { rule: string; members: string[]; v4: string[]; v6: string[]; invalid?: string[] }[])(
    '$rule',
    ({ members, v4, v6, invalid }) => {
      const got = netElements(members);
      expect([got.v4, got.v6, got.invalid]).toEqual([v4, v6, invalid ?? []]);
    },
  );

  it('skips what does not parse, and v4-mapped IPv6 (it never matches an IPv4 packet)', () => {
    expect(netElements(['x', '10.0.0.1/33', '010.0.0.1', '::ffff:1.2.3.4/128', '10.0.0.1']).invalid).toEqual([
      'x',
      '10.0.0.1/33',
      '010.0.0.1',
      '::ffff:1.2.3.4/128',
    ]);
  });
});

describe('addrPortElements', () => {
  it('renders ip,proto:port as a concatenation with the protocol number', () => {
    const got = addrPortElements([
      '10.0.0.1,tcp:8080',
      'fd00::1,udp:53',
      '10.0.0.2,sctp:9',
      '10.0.0.1,tcp:8080',
    ]);
    expect(got).toEqual({
      v4: ['10.0.0.1 . 6 . 8080', '10.0.0.2 . 132 . 9'],
      v6: ['fd00::1 . 17 . 53'],
      invalid: [],
    });
  });

  it.each([
    '10.0.0.1',
    '10.0.0.1,tcp',
    '10.0.0.1,gre:1',
    '10.0.0.1,tcp:65536',
    '10.0.0.0/24,tcp:80',
    'x,tcp:80',
  ])('refuses %j', (m) => {
    expect(addrPortElements([m]).invalid).toEqual([m]);
  });
});

describe('mergePortRanges', () => {
  it('sorts, merges overlapping and touching ranges, drops impossible ones', () => {
    expect(
      mergePortRanges([
        { first: 443, last: 443 },
        { first: 80, last: 80 },
        { first: 81, last: 90 },
        { first: 85, last: 100 },
        { first: 10, last: 5 },
        { first: 1, last: 70000 },
      ]),
    ).toEqual([
      { first: 80, last: 100 },
      { first: 443, last: 443 },
    ]);
  });
});
