// The NET-set trie: every prefix length matches (unlike Dikastes), add/remove are exact and idempotent.
import { describe, expect, it } from 'vitest';
import { CidrTrie } from './cidr-trie.js';
import type { Cidr, Ip } from './ip.js';
import { cidrContains, ipFromBytes, parseCidr, parseIp } from './ip.js';

function cidr(text: string): Cidr {
  const c = parseCidr(text);
  if (c === null) throw new Error(`bad fixture ${text}`);
  return c;
}

function ip(text: string): Ip {
  const i = parseIp(text);
  if (i === null) throw new Error(`bad fixture ${text}`);
  return i;
}

// [rule, prefix, an address inside, an address just outside]
const PREFIXES: [string, string, string, string][] = [
  ['v4 /0 holds every v4 address', '0.0.0.0/0', '203.0.113.9', '::1'],
  ['v4 /16', '10.54.0.0/16', '10.54.44.23', '10.55.0.1'],
  ['v4 /24', '192.168.4.0/24', '192.168.4.22', '192.168.5.22'],
  ['v4 /25 (never matches in Dikastes)', '45.81.99.128/25', '45.81.99.200', '45.81.99.1'],
  ['v4 /30 (never matches in Dikastes)', '10.0.0.4/30', '10.0.0.7', '10.0.0.8'],
  ['v4 /31 (never matches in Dikastes)', '10.0.0.2/31', '10.0.0.3', '10.0.0.4'],
  ['v4 /32', '10.0.0.9/32', '10.0.0.9', '10.0.0.8'],
  ['MSB-first bit order: 128.0.0.0/1', '128.0.0.0/1', '200.1.1.1', '127.255.255.255'],
  ['v6 /0 holds no v4 address', '::/0', '2001:db8::1', '10.0.0.1'],
  ['v6 /32', '45ab:23::/32', '45ab:23::abcd', '45ab:24::abcd'],
  ['v6 /48', '2001:db8:1::/48', '2001:db8:1:ffff::1', '2001:db8:2::1'],
  ['v6 /49', '2001:db8:1:8000::/49', '2001:db8:1:8000::1', '2001:db8:1:7fff::1'],
  ['v6 /121 (never matches in Dikastes)', '2001:db8::80/121', '2001:db8::ff', '2001:db8::7f'],
  ['v6 /127 (never matches in Dikastes)', '2001:db8::2/127', '2001:db8::3', '2001:db8::4'],
  ['v6 /128', '2001:db8::5/128', '2001:db8::5', '2001:db8::6'],
  ['a v4-mapped /120 is a v4 /24', '::ffff:10.1.2.0/120', '10.1.2.3', '10.1.3.3'],
];

describe('CidrTrie', () => {
  it.each(PREFIXES)('%s', (_rule, prefix, inside, outside) => {
    const trie = new CidrTrie();
    trie.add(cidr(prefix));
    expect(trie.containsIp(ip(inside))).toBe(true);
    expect(trie.containsIp(ip(outside))).toBe(false);
    expect(trie.remove(cidr(prefix))).toBe(true);
    expect(trie.containsIp(ip(inside))).toBe(false);
    expect(trie.size).toBe(0);
    expect(trie.isPruned).toBe(true);
  });

  it('add is idempotent', () => {
    const trie = new CidrTrie();
    trie.add(cidr('10.0.0.0/16'));
    trie.add(cidr('10.0.1.2/16')); // same network after masking
    trie.add(cidr('10.0.0.1/32'));
    trie.add(cidr('10.0.0.1/32'));
    expect(trie.size).toBe(2);
  });

  it('remove is exact: removing a covering or covered prefix leaves the other', () => {
    const trie = new CidrTrie();
    trie.add(cidr('10.0.0.0/16'));
    trie.add(cidr('10.0.5.0/24'));
    expect(trie.remove(cidr('10.0.0.0/8'))).toBe(false);
    expect(trie.remove(cidr('10.0.5.0/25'))).toBe(false);
    expect(trie.remove(cidr('10.0.0.0/16'))).toBe(true);
    expect(trie.remove(cidr('10.0.0.0/16'))).toBe(false);
    expect(trie.containsIp(ip('10.0.5.1'))).toBe(true);
    expect(trie.containsIp(ip('10.0.6.1'))).toBe(false);
    expect(trie.size).toBe(1);
    expect(trie.remove(cidr('10.0.5.0/24'))).toBe(true);
    expect(trie.isPruned).toBe(true);
  });

  it('removing a host address does not affect its covering prefix', () => {
    const trie = new CidrTrie();
    trie.add(cidr('10.0.0.0/30'));
    trie.add(cidr('10.0.0.1/32'));
    expect(trie.remove(cidr('10.0.0.1/32'))).toBe(true);
    expect(trie.containsIp(ip('10.0.0.1'))).toBe(true);
  });

  it('v4 and v6 are kept apart', () => {
    const trie = new CidrTrie();
    trie.add(cidr('::/1'));
    expect(trie.containsIp(ip('1.2.3.4'))).toBe(false);
    expect(trie.containsIp(ip('::ffff:1.2.3.4'))).toBe(false);
    trie.add(cidr('0.0.0.0/1'));
    expect(trie.containsIp(ip('::ffff:1.2.3.4'))).toBe(true);
    expect(trie.containsIp(ip('::1.2.3.4'))).toBe(true); // v4-compatible is plain v6
  });

  it('matches a naive list of CIDRs under random adds and removes', () => {
    let seed = 42;
    const rand = (n: number): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
    // Addresses from a small space so that prefixes overlap often.
    const randomBytes = (family: 4 | 6): Uint8Array => {
      const b = new Uint8Array(family === 4 ? 4 : 16);
      b[0] = family === 4 ? 10 : 0x20;
      b[b.length - 1] = rand(256);
      b[b.length - 2] = rand(4);
      return b;
    };
    const randomCidr = (): Cidr => {
      const family = rand(2) === 0 ? 4 : 6;
      const bits = family === 4 ? 32 : 128;
      const length = rand(4) === 0 ? rand(bits + 1) : bits - rand(12);
      const addr = ipFromBytes(randomBytes(family)) as Ip;
      return cidr(`${addr.text}/${length}`);
    };
    const trie = new CidrTrie();
    const naive = new Map<string, Cidr>();
    for (let step = 0; step < 600; step++) {
      const c = rand(3) === 0 && naive.size > 0 ? [...naive.values()][rand(naive.size)]! : randomCidr();
      if (rand(3) === 0) {
        expect(trie.remove(c)).toBe(naive.delete(c.text));
      } else {
        trie.add(c);
        naive.set(c.text, c);
      }
      expect(trie.size).toBe(naive.size);
      for (let probe = 0; probe < 5; probe++) {
        const addr = ipFromBytes(randomBytes(rand(2) === 0 ? 4 : 6)) as Ip;
        const expected = [...naive.values()].some((n) => cidrContains(n, addr));
        expect(trie.containsIp(addr)).toBe(expected);
      }
    }
    for (const c of naive.values()) expect(trie.remove(c)).toBe(true);
    expect(trie.isPruned).toBe(true);
  });
});
