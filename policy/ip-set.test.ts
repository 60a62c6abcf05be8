// IP sets of the policy store: membership per type, idempotence, and rejection of bad members.
import { describe, expect, it } from 'vitest';
import type { Ip } from '../calico/ip.js';
import { parseIp } from '../calico/ip.js';
import type { IpSetType } from './ip-set.js';
import { createIpSet, ipPortKey } from './ip-set.js';

function ip(text: string): Ip {
  const i = parseIp(text);
  if (i === null) throw new Error(`bad fixture ${text}`);
  return i;
}

describe('IP sets', () => {
  it('IP: membership is by canonical address text', () => {
    const set = createIpSet('IP');
    expect(set.add('10.0.0.1')).toBeNull();
    expect(set.add('2001:DB8:0::1')).toBeNull();
    expect(set.size).toBe(2);
    expect(set.containsIp(ip('10.0.0.1'))).toBe(true);
    expect(set.containsKey('10.0.0.1')).toBe(true);
    expect(set.containsIp(ip('2001:db8::1'))).toBe(true);
    expect(set.containsKey('2001:db8::1')).toBe(true);
    expect(set.containsKey('2001:DB8::1')).toBe(false); // keys are canonical text
    expect(set.containsIp(ip('10.0.0.2'))).toBe(false);
    expect(set.containsKey('<nil>')).toBe(false);
  });

  it('IP: a member written as ::ffff:a.b.c.d is its own member and never matches IPv4, as in Calico', () => {
    const set = createIpSet('IP');
    expect(set.add('::ffff:10.0.0.1')).toBeNull();
    expect(set.containsIp(ip('10.0.0.1'))).toBe(false);
    expect(set.containsIp(ip('::ffff:10.0.0.1'))).toBe(false); // the request address reads as IPv4
    expect(set.containsKey('10.0.0.1')).toBe(false);
    expect(set.add('10.0.0.1')).toBeNull();
    expect(set.size).toBe(2);
    expect(set.containsIp(ip('::ffff:10.0.0.1'))).toBe(true);
    set.remove('0:0:0:0:0:ffff:10.0.0.1'); // the same mapped member, written out in full
    expect(set.size).toBe(1);
    expect(set.containsIp(ip('10.0.0.1'))).toBe(true);
  });

  it('IP: add and remove are idempotent', () => {
    const set = createIpSet('IP');
    set.add('10.0.0.1');
    set.add('10.0.0.1');
    expect(set.size).toBe(1);
    set.remove('::ffff:10.0.0.1');
    expect(set.size).toBe(1);
    set.remove('10.0.0.1');
    set.remove('10.0.0.99');
    expect(set.size).toBe(0);
    expect(set.containsIp(ip('10.0.0.1'))).toBe(false);
  });

  it('IP_AND_PORT: keys are exact `<ip>,<proto>:<port>` strings', () => {
    const set = createIpSet('IP_AND_PORT');
    expect(set.add('192.168.1.1,tcp:80')).toBeNull();
    expect(set.add('::ffff:192.168.1.7,udp:53')).toBeNull();
    expect(set.add('fd00::0001,sctp:9000')).toBeNull();
    expect(set.containsKey('192.168.1.1,tcp:80')).toBe(true);
    expect(set.containsKey('192.168.1.7,udp:53')).toBe(false); // written v4-mapped: never an IPv4 key
    expect(set.containsKey('fd00::1,sctp:9000')).toBe(true);
    expect(set.containsKey(ipPortKey(ip('192.168.1.1'), 'tcp', 80))).toBe(true);
    expect(set.containsKey('192.168.1.1,udp:80')).toBe(false); // protocol matters
    expect(set.containsKey('192.168.1.1,TCP:80')).toBe(false); // case-sensitive
    expect(set.containsKey('192.168.1.1,tcp:8080')).toBe(false);
    expect(set.containsKey('192.168.1.3,tcp:80')).toBe(false);
    expect(set.containsIp(ip('192.168.1.1'))).toBe(false); // never by bare IP
  });

  it('IP_AND_PORT: the port is stored in plain decimal', () => {
    const set = createIpSet('IP_AND_PORT');
    set.add('10.0.0.1,tcp:0080');
    expect(set.containsKey('10.0.0.1,tcp:80')).toBe(true);
    expect(set.containsKey('10.0.0.1,tcp:0080')).toBe(false);
  });

  it('IP_AND_PORT: add and remove are idempotent and exact', () => {
    const set = createIpSet('IP_AND_PORT');
    set.add('10.0.0.5,tcp:8080');
    set.add('10.0.0.5,tcp:8080');
    set.add('10.0.0.5,tcp:9090');
    expect(set.size).toBe(2);
    set.remove('10.0.0.5,udp:8080');
    expect(set.size).toBe(2);
    set.remove('10.0.0.5,tcp:8080');
    set.remove('10.0.0.5,tcp:8080');
    expect(set.containsKey('10.0.0.5,tcp:8080')).toBe(false);
    expect(set.containsKey('10.0.0.5,tcp:9090')).toBe(true);
  });

  it('NET: a v4-mapped IPv6 prefix is an IPv6 network and contains no IPv4 address, as in Calico', () => {
    const set = createIpSet('NET');
    expect(set.add('::ffff:10.0.0.0/104')).toBeNull();
    expect(set.add('::ffff:0:0/96')).toBeNull();
    expect(set.size).toBe(2);
    for (const a of ['10.1.2.3', '::ffff:10.1.2.3', '192.0.2.1'])
      expect(set.containsIp(ip(a)), a).toBe(false);
    expect(set.add('10.0.0.0/8')).toBeNull();
    expect(set.containsIp(ip('::ffff:10.1.2.3'))).toBe(true);
    set.remove('::ffff:10.0.0.0/104');
    set.remove('::ffff:0:0/96');
    expect(set.size).toBe(1);
    expect(set.containsIp(ip('10.1.2.3'))).toBe(true);
  });

  it('NET: containment holds at every prefix length, including /25–/31 and /121–/127', () => {
    const set = createIpSet('NET');
    for (const c of [
      '10.0.0.0/16',
      '192.168.1.0/24',
      '45.81.99.128/25',
      '10.9.0.4/30',
      '10.9.0.8/31',
      '10.9.0.20/32',
    ]) {
      expect(set.add(c)).toBeNull();
    }
    for (const c of ['45ab:23::/32', '2001:db8::80/121', '2001:db8::2/127', '2001:db8::9/128']) {
      expect(set.add(c)).toBeNull();
    }
    for (const a of [
      '10.0.200.1',
      '192.168.1.9',
      '45.81.99.255',
      '10.9.0.6',
      '10.9.0.9',
      '10.9.0.20',
      '::ffff:10.0.0.1',
    ]) {
      expect(set.containsIp(ip(a)), a).toBe(true);
    }
    for (const a of ['45ab:23::abcd', '2001:db8::ff', '2001:db8::3', '2001:db8::9']) {
      expect(set.containsIp(ip(a)), a).toBe(true);
    }
    for (const a of [
      '10.1.0.1',
      '45.81.99.127',
      '10.9.0.3',
      '10.9.0.10',
      '10.9.0.21',
      '2001:db8::7f',
      '2001:db8::4',
    ]) {
      expect(set.containsIp(ip(a)), a).toBe(false);
    }
    expect(set.containsKey('10.0.0.1')).toBe(false); // NET answers only containsIp
  });

  it('NET: remove is by exact prefix and idempotent', () => {
    const set = createIpSet('NET');
    set.add('10.0.0.0/16');
    set.add('10.0.0.1/16');
    expect(set.size).toBe(1);
    set.remove('10.0.0.0/8');
    expect(set.containsIp(ip('10.0.3.4'))).toBe(true);
    set.remove('10.0.9.9/16'); // same prefix after masking
    set.remove('10.0.0.0/16');
    expect(set.size).toBe(0);
    expect(set.containsIp(ip('10.0.3.4'))).toBe(false);
  });

  const MALFORMED: [IpSetType, string][] = [
    ['IP', ''],
    ['IP', '10.0.0.01'],
    ['IP', '10.0.0.1/32'],
    ['IP', '[::1]'],
    ['IP', 'fe80::1%eth0'],
    ['IP_AND_PORT', '10.0.0.1'],
    ['IP_AND_PORT', '10.0.0.1,tcp'],
    ['IP_AND_PORT', '10.0.0.1,tcp:'],
    ['IP_AND_PORT', '10.0.0.1,:80'],
    ['IP_AND_PORT', '10.0.0.1,TCP:80'],
    ['IP_AND_PORT', '10.0.0.1,tcp:65536'],
    ['IP_AND_PORT', '10.0.0.1,tcp:-1'],
    ['IP_AND_PORT', '10.0.0.1,tcp:80,'],
    ['IP_AND_PORT', '10.0.0.1:80'],
    ['IP_AND_PORT', '[fd00::1],tcp:80'],
    ['IP_AND_PORT', '10.0.0.999,tcp:80'],
    ['NET', '10.0.0.1'],
    ['NET', '10.0.0.0/33'],
    ['NET', '192.168.0.0.0/16'],
    ['NET', 'invalid'],
  ];

  it.each(MALFORMED)('%s rejects %j without changing the set', (type, member) => {
    const set = createIpSet(type);
    const good = { IP: '10.0.0.1', IP_AND_PORT: '10.0.0.1,tcp:80', NET: '10.0.0.0/24' }[type];
    set.add(good);
    expect(set.add(member)).toMatch(/.+/);
    expect(set.size).toBe(1);
    set.remove(member); // a no-op, not an error
    expect(set.size).toBe(1);
  });
});
