// NET set members: the fast plain-v4 parser agrees with the full Go-compatible parser, and the
// sorted/buffered layout answers every lookup as a plain list of CIDRs would, through any mix of
// adds, removes and lookups (v4 and v6).
import { describe, expect, it } from 'vitest';
import { cidrContains, parseCidr, parseIp, type Cidr } from '../calico/ip.js';
import { seededRandom } from '../testing/seeded-random.js';
import { NetMembers, parsePlainV4Cidr, parsePlainV4CidrBytes } from './net-set.js';

function viaFullParser(s: string): number {
  const c = parseCidr(s);
  if (c === null || c.family !== 4) return -1;
  const b = c.bytes;
  return (((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0) * 64 + c.prefixLength;
}

describe('parsePlainV4Cidr', () => {
  it.each([
    ['10.1.2.3/32', true],
    ['10.1.2.3/24', true],
    ['0.0.0.0/0', true],
    ['255.255.255.255/32', true],
    ['192.168.1.77/025', true],
    ['10.0.0.1', false],
    ['10.0.0.1/', false],
    ['10.0.0.1/33', false],
    ['10.0.0.01/32', false],
    ['10.0.0/8', false],
    ['10.0.0.0.0/8', false],
    ['256.0.0.0/8', false],
    ['1.2.3.4/3 2', false],
    ['::ffff:10.0.0.0/104', false],
    ['10.0.0.0/-1', false],
    ['', false],
  ])('%j: plain %s, and agrees with the full parser when it answers', (text, plain) => {
    const fast = parsePlainV4Cidr(text);
    expect(fast >= 0).toBe(plain);
    if (plain) expect(fast).toBe(viaFullParser(text));
  });

  it('agrees with the full parser on 20,000 random and mutated texts', () => {
    const rand = seededRandom(7);
    const pieces = [
      '0',
      '1',
      '9',
      '10',
      '00',
      '01',
      '255',
      '256',
      '999',
      '.',
      '/',
      '32',
      '24',
      '33',
      'a',
      ':',
      '',
      'é',
      '\u0661', // ARABIC-INDIC DIGIT ONE
    ];
    for (let n = 0; n < 20_000; n++) {
      let s = '';
      const parts = 1 + rand.int(9);
      for (let i = 0; i < parts; i++) s += rand.pick(pieces);
      const fast = parsePlainV4Cidr(s);
      // The fast parser may decline a valid CIDR, never accept an invalid one or read it differently.
      if (fast >= 0) expect(fast, s).toBe(viaFullParser(s));
      // On the text's UTF-8 bytes, inside a larger buffer, the byte variant answers the same.
      const bytes = Buffer.from(`x${s}/`, 'utf8');
      expect(parsePlainV4CidrBytes(bytes, 1, bytes.length - 1), s).toBe(fast);
    }
  });
});

function randomV4(rand: ReturnType<typeof seededRandom>): string {
  // A small address space so that members overlap and lookups hit.
  return `10.${rand.int(2)}.${rand.int(4)}.${rand.int(256)}`;
}

/** IPv6 lengths on and beside each 32-bit word's edge, where the prefix tables split a network. */
const V6_LENGTHS = [0, 1, 16, 31, 32, 33, 48, 53, 54, 63, 64, 65, 95, 96, 97, 120, 127, 128];

function randomV6(rand: ReturnType<typeof seededRandom>): string {
  // First words with the top bit clear and set (a signed 32-bit key is negative then).
  const head = ['2001:db8', 'fd00:1', 'ffff:ffff'][rand.int(3)]!;
  const middle = rand.int(2) === 0 ? '' : `${rand.int(2).toString(16)}:8000:`;
  return `${head}:${rand.int(3)}::${middle}${rand.int(300).toString(16)}`;
}

function randomCidr(rand: ReturnType<typeof seededRandom>): string {
  if (rand.int(5) === 0) return `${randomV6(rand)}/${V6_LENGTHS[rand.int(V6_LENGTHS.length)]!}`;
  const len = rand.int(4) === 0 ? [0, 8, 16, 22, 24, 25, 30, 31][rand.int(8)]! : 32;
  return `${randomV4(rand)}/${len}`;
}

describe('NetMembers', () => {
  it('answers as a plain list of prefixes through random adds, removes and lookups', () => {
    for (let seed = 1; seed <= 40; seed++) {
      const rand = seededRandom(seed);
      const set = new NetMembers();
      const model = new Map<string, Cidr>();
      for (let step = 0; step < 400; step++) {
        const op = rand.int(10);
        const text = randomCidr(rand);
        const c = parseCidr(text)!;
        if (op < 5) {
          set.addCidr(c);
          model.set(c.text, c);
        } else if (op < 7) {
          set.removeCidr(c);
          model.delete(c.text);
        } else if (op === 7) {
          set.seal();
        } else {
          const ipText = rand.int(5) === 0 ? randomV6(rand) : randomV4(rand);
          const ip = parseIp(ipText)!;
          const want = [...model.values()].some((m) => cidrContains(m, ip));
          expect(set.containsIp(ip), `seed ${seed} step ${step} ${ipText}`).toBe(want);
        }
        if (step % 50 === 0) expect(set.size).toBe(model.size);
      }
      expect(set.size).toBe(model.size);
    }
  });

  it('keeps every host of a large unsealed batch, repeats and high addresses included', () => {
    // A snapshot's set arrives as one batch of hundreds of /32s before its first lookup.
    const set = new NetMembers();
    const hosts: string[] = [];
    for (let i = 0; i < 1500; i++) hosts.push(`${i % 2 === 0 ? 203 : 10}.0.${i >> 8}.${i & 255}`);
    for (const h of hosts) set.addCidr(parseCidr(`${h}/32`)!);
    for (const h of hosts.slice(0, 300)) set.addCidr(parseCidr(`${h}/32`)!); // repeats
    expect(set.size).toBe(1500);
    set.removeCidr(parseCidr('203.0.0.0/32')!);
    set.addCidr(parseCidr('203.0.0.0/32')!); // back before the next merge
    set.removeCidr(parseCidr('10.0.5.219/32')!);
    for (const h of hosts) expect(set.containsIp(parseIp(h)!), h).toBe(h !== '10.0.5.219');
    expect(set.containsIp(parseIp('203.0.6.0')!)).toBe(false);
    expect(set.size).toBe(1499);
  });

  it('holds the same members with room reserved, whether the room is used up or not', () => {
    const hosts = ['10.0.0.9', '10.0.0.1', '192.168.3.4', '10.0.0.1', '10.0.0.9'];
    const set = new NetMembers();
    set.addCidr(parseCidr('172.16.0.1/32')!); // pending before the reservation
    set.reserveV4Hosts(hosts.length + 2); // more than the /32s that follow
    for (const h of hosts) set.addCidr(parseCidr(`${h}/32`)!);
    set.addCidr(parseCidr('10.1.0.0/16')!); // a prefix takes no host room
    expect(set.size).toBe(5);
    set.reserveV4Hosts(1); // a delta on the merged set
    set.addCidr(parseCidr('10.0.0.5/32')!);
    for (const a of ['172.16.0.1', '10.0.0.1', '10.0.0.5', '10.0.0.9', '192.168.3.4', '10.1.2.3'])
      expect(set.containsIp(parseIp(a)!), a).toBe(true);
    for (const a of ['10.0.0.2', '172.16.0.2', '10.2.0.0'])
      expect(set.containsIp(parseIp(a)!), a).toBe(false);
    expect(set.size).toBe(6);
  });

  it('keeps IPv6 networks that share words with one removed, and forgets the removed one', () => {
    const members = ['2001:db8:1::/48', '2001:db8:2::/48', 'fd00:1:2:3::/64', 'fd00:1:2:4::/64', '::/0'];
    const set = new NetMembers();
    for (const m of members) set.addCidr(parseCidr(m)!);
    set.removeCidr(parseCidr('::/0')!);
    set.removeCidr(parseCidr('2001:db8:1::/48')!);
    set.removeCidr(parseCidr('fd00:1:2:3::/64')!);
    set.removeCidr(parseCidr('fd00:1:2:3::/64')!); // twice: nothing more goes
    expect(set.size).toBe(2);
    expect(set.containsIp(parseIp('2001:db8:2::9')!)).toBe(true);
    expect(set.containsIp(parseIp('fd00:1:2:4::1')!)).toBe(true);
    expect(set.containsIp(parseIp('2001:db8:1::9')!)).toBe(false);
    expect(set.containsIp(parseIp('fd00:1:2:3::1')!)).toBe(false);
    expect(set.containsIp(parseIp('2001:db9::1')!)).toBe(false);
  });

  it('refuses addresses outside the covered range and finds the edges', () => {
    const set = new NetMembers();
    set.addCidr(parseCidr('10.0.0.5/32')!);
    set.addCidr(parseCidr('10.0.1.0/24')!);
    set.addCidr(parseCidr('255.255.255.255/32')!);
    set.addCidr(parseCidr('0.0.0.0/32')!);
    for (const a of ['10.0.0.5', '10.0.1.0', '10.0.1.255', '255.255.255.255', '0.0.0.0'])
      expect(set.containsIp(parseIp(a)!), a).toBe(true);
    for (const a of ['10.0.0.4', '10.0.0.6', '10.0.2.0', '255.255.255.254', '0.0.0.1'])
      expect(set.containsIp(parseIp(a)!), a).toBe(false);
    set.removeCidr(parseCidr('255.255.255.255/32')!);
    set.removeCidr(parseCidr('10.0.1.0/24')!);
    expect(set.containsIp(parseIp('255.255.255.255')!)).toBe(false);
    expect(set.containsIp(parseIp('10.0.1.7')!)).toBe(false);
    expect(set.size).toBe(2);
  });
});
