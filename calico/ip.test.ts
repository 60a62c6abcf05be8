// Go's net.ParseIP / ParseCIDR / IPNet.Contains rules: accepted forms, canonical text, families.
import ipaddr from 'ipaddr.js';
import { describe, expect, it } from 'vitest';
import { cidrContains, ipFromBytes, ipText, parseCidr, parseIp } from './ip.js';

const VALID_IPS: [rule: string, input: string, family: 4 | 6, text: string][] = [
  ['dotted quad', '1.2.3.4', 4, '1.2.3.4'],
  ['zero address', '0.0.0.0', 4, '0.0.0.0'],
  ['broadcast', '255.255.255.255', 4, '255.255.255.255'],
  ['v4-mapped is IPv4', '::ffff:1.2.3.4', 4, '1.2.3.4'],
  ['v4-mapped in hex and upper case is IPv4', '::FFFF:102:304', 4, '1.2.3.4'],
  ['v4-mapped written out in full is IPv4', '0:0:0:0:0:ffff:10.0.0.1', 4, '10.0.0.1'],
  ['loopback', '::1', 6, '::1'],
  ['unspecified', '::', 6, '::'],
  ['upper case becomes lower case', '2001:DB8::1', 6, '2001:db8::1'],
  ['leading zeros in groups are dropped', '2001:0db8:0000:0000:0000:0000:0002:0001', 6, '2001:db8::2:1'],
  ['the first of two equal zero runs is compressed', '2001:db8:0:0:1:0:0:1', 6, '2001:db8::1:0:0:1'],
  ['the longest zero run is compressed', '1:0:0:2:0:0:0:3', 6, '1:0:0:2::3'],
  ['a single zero group is not compressed', '2001:db8:0:1:1:1:1:1', 6, '2001:db8:0:1:1:1:1:1'],
  ['a trailing zero run is compressed', 'fe80:0:0:0:0:0:0:0', 6, 'fe80::'],
  ['spec example', '45ab:0023::abcd', 6, '45ab:23::abcd'],
  ['v4-compatible (not mapped) stays IPv6', '::1.2.3.4', 6, '::102:304'],
  ['an embedded v4 tail after six groups', '1:2:3:4:5:6:1.2.3.4', 6, '1:2:3:4:5:6:102:304'],
  ['an embedded v4 tail after an ellipsis', '64:ff9b::192.0.2.33', 6, '64:ff9b::c000:221'],
];

const INVALID_IPS: [rule: string, input: string][] = [
  ['leading zero in the first octet', '01.2.3.4'],
  ['leading zero in the last octet', '1.2.3.04'],
  ['leading zero in an embedded v4 tail', '::ffff:01.2.3.4'],
  ['three fields', '1.2.3'],
  ['five fields', '1.2.3.4.5'],
  ['octet above 255', '256.1.1.1'],
  ['trailing dot', '1.2.3.'],
  ['leading dot', '.1.2.3'],
  ['empty field', '1..2.3'],
  ['trailing space', '1.2.3.4 '],
  ['leading space', ' 1.2.3.4'],
  ['v4 with port', '1.2.3.4:80'],
  ['brackets', '[::1]'],
  ['brackets and port', '[::1]:80'],
  ['v6 zone', 'fe80::1%eth0'],
  ['v4 zone', '1.2.3.4%eth0'],
  ['zone only', '%eth0'],
  ['empty string', ''],
  ['a word', 'abc'],
  ['hex v4', '0x1.2.3.4'],
  ['a CIDR', '1.2.3.4/32'],
  ['non-ASCII digits', '١.٢.٣.٤'],
  ['nine groups', '1:2:3:4:5:6:7:8:9'],
  ['seven groups without ::', '1:2:3:4:5:6:7'],
  ['triple colon', ':::1'],
  ['two ellipses', '1::2::3'],
  ['five hex digits', '12345::1'],
  [':: standing for no group', '1:2:3:4:5:6:7:8::'],
  ['single leading colon', ':1:2:3:4:5:6:7'],
  ['trailing colon', '::1:'],
  ['bad hex digit', 'g::1'],
  ['short v4 tail', '::1.2.3'],
  ['v4 tail in the wrong place', '1:2:3:4:5:1.2.3.4'],
  ['v4 tail with no room', '1:2:3:4:5:6:7:1.2.3.4'],
];

describe('parseIp', () => {
  it.each(VALID_IPS)('%s: %s', (_rule, input, family, text) => {
    const ip = parseIp(input);
    expect(ip).not.toBeNull();
    expect(ip?.family).toBe(family);
    expect(ip?.bytes.length).toBe(family === 4 ? 4 : 16);
    expect(ip?.text).toBe(text);
    expect(parseIp(text)?.text).toBe(text);
  });

  it.each(INVALID_IPS)('rejects %s: %j', (_rule, input) => {
    expect(parseIp(input)).toBeNull();
  });

  it('a missing IP renders as Go does', () => {
    expect(ipText(null)).toBe('<nil>');
    expect(ipText(parseIp('::ffff:10.0.0.1'))).toBe('10.0.0.1');
  });

  it('ipFromBytes unmaps v4-mapped bytes and rejects odd lengths', () => {
    const mapped = new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 1]);
    expect(ipFromBytes(mapped)?.text).toBe('10.0.0.1');
    expect(ipFromBytes(new Uint8Array(5))).toBeNull();
  });

  it('agrees with ipaddr.js on the bytes and RFC 5952 text of random IPv6 addresses', () => {
    let seed = 7;
    const byte = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % 256;
    for (let i = 0; i < 300; i++) {
      // Zero out random groups so that compression is exercised.
      const bytes = Uint8Array.from({ length: 16 }, byte);
      for (let g = 0; g < 8; g++) if (byte() < 128) bytes[2 * g] = bytes[2 * g + 1] = 0;
      const ip = ipFromBytes(bytes);
      if (ip === null || ip.family === 4) continue;
      const theirs = ipaddr.IPv6.parse(ip.text);
      expect(theirs.toRFC5952String()).toBe(ip.text);
      expect(Uint8Array.from(theirs.toByteArray())).toEqual(bytes);
      // The uncompressed upper-case spelling parses to the same address.
      expect(parseIp(theirs.toNormalizedString().toUpperCase())?.text).toBe(ip.text);
    }
  });
});

const VALID_CIDRS: [rule: string, input: string, family: 4 | 6, text: string][] = [
  ['host bits are masked off', '10.0.0.1/24', 4, '10.0.0.0/24'],
  ['a /16', '192.168.0.0/16', 4, '192.168.0.0/16'],
  ['a /0 keeps no bits', '10.0.0.0/0', 4, '0.0.0.0/0'],
  ['a /32', '10.1.2.3/32', 4, '10.1.2.3/32'],
  ['a /25 masks inside a byte', '45.81.99.200/25', 4, '45.81.99.128/25'],
  ['leading zeros in the length are allowed, as in Go', '10.0.0.0/024', 4, '10.0.0.0/24'],
  ['v6 network text is canonical', '45ab:0023::/32', 6, '45ab:23::/32'],
  ['v6 /127', '2001:db8::1/127', 6, '2001:db8::/127'],
  ['v6 /0', '::/0', 6, '::/0'],
  ['v4-mapped /96 is all of IPv4', '::ffff:0:0/96', 4, '0.0.0.0/0'],
  ['v4-mapped /104 is an IPv4 /8', '::ffff:10.1.2.3/104', 4, '10.0.0.0/8'],
  ['v4-mapped /128 is an IPv4 /32', '::ffff:10.1.2.3/128', 4, '10.1.2.3/32'],
  ['v4-mapped /95 loses the ffff marker and stays v6', '::ffff:0:0/95', 6, '::fffe:0:0/95'],
  ['v4-mapped /80 is a v6 network', '::ffff:0:0/80', 6, '::/80'],
];

const INVALID_CIDRS: [rule: string, input: string][] = [
  ['a bare IP is not a CIDR', '10.0.0.1'],
  ['v4 length above 32', '10.0.0.0/33'],
  ['v6 length above 128', '::/129'],
  ['negative length', '10.0.0.0/-1'],
  ['plus sign', '10.0.0.0/+8'],
  ['empty length', '10.0.0.0/'],
  ['two slashes', '10.0.0.0/24/1'],
  ['no address', '/24'],
  ['five-field address', '192.168.0.0.0/16'],
  ['a word', 'invalid'],
  ['space in the length', '10.0.0.0/ 24'],
  ['decimal length', '10.0.0.0/8.0'],
  ['leading zero in an octet', '010.0.0.0/8'],
  ['zone', 'fe80::%eth0/64'],
  ['empty string', ''],
];

describe('parseCidr', () => {
  it.each(VALID_CIDRS)('%s: %s', (_rule, input, family, text) => {
    const cidr = parseCidr(input);
    expect(cidr?.family).toBe(family);
    expect(cidr?.text).toBe(text);
    expect(parseCidr(text)?.text).toBe(text);
  });

  it.each(INVALID_CIDRS)('rejects %s: %j', (_rule, input) => {
    expect(parseCidr(input)).toBeNull();
  });
});

// Rows 103–120 of spec §7.2, one CIDR at a time, plus the v4-mapped cases of §5.1 and §5.7.
const CONTAINS: [rule: string, cidr: string, ip: string, expected: boolean][] = [
  ['v4 address inside a /24', '192.168.3.0/24', '192.168.3.145', true],
  ['v6 address inside a /32', '45ab:0023::/32', '45ab:23::abcd', true],
  ['v4 address never in a v6 net, even /0', '55ae:4481::/0', '192.168.3.145', false],
  ['v6 address never in a v4 net, even /0', '10.0.0.0/0', '45ab:23::abcd', false],
  ['v4 address outside a /16', '192.168.0.0/16', '55.39.128.9', false],
  ['v6 address outside a /32', '45ab:0023::/32', '85ab:23::abcd', false],
  ['v4 address outside the upper /25', '45.81.99.128/25', '45.81.99.1', false],
  ['v4 address inside the upper /25', '45.81.99.128/25', '45.81.99.200', true],
  ['v4 address inside a /24 (row 113)', '45.81.99.0/24', '45.81.99.1', true],
  ['v4 address inside a /16 (row 109)', '192.168.0.0/16', '192.168.21.21', true],
  ['v4 address outside another /24 (row 117)', '192.168.2.0/24', '192.168.1.1', false],
  ['/31 holds two addresses', '10.0.0.0/31', '10.0.0.1', true],
  ['/31 stops at two', '10.0.0.0/31', '10.0.0.2', false],
  ['/32 holds its address', '10.0.0.7/32', '10.0.0.7', true],
  ['/32 holds nothing else', '10.0.0.7/32', '10.0.0.6', false],
  ['v6 /127 holds two addresses', '2001:db8::/127', '2001:db8::1', true],
  ['v6 /127 stops at two', '2001:db8::/127', '2001:db8::2', false],
  ['v4-mapped address is in a v4 net', '0.0.0.0/0', '::ffff:1.2.3.4', true],
  ['v4-mapped address is not in ::/0', '::/0', '::ffff:1.2.3.4', false],
  ['::ffff:0:0/96 holds every v4 address', '::ffff:0:0/96', '1.2.3.4', true],
  ['::ffff:0:0/96 holds no v6 address', '::ffff:0:0/96', '::1', false],
  ['::/80 holds no v4 address', '::/80', '1.2.3.4', false],
  ['v4-compatible addresses are IPv6', '::/80', '::1.2.3.4', true],
];

describe('cidrContains', () => {
  it.each(CONTAINS)('%s: %s ∋ %s is %s', (_rule, cidrText, ipTextValue, expected) => {
    const cidr = parseCidr(cidrText);
    const ip = parseIp(ipTextValue);
    if (cidr === null || ip === null) throw new Error('bad fixture');
    expect(cidrContains(cidr, ip)).toBe(expected);
  });
});
