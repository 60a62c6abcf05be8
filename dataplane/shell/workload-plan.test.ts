import { describe, expect, it } from 'vitest';
import { parseLinks, parseRoutes, planWorkloads, workloadSysctls } from './workload-plan.js';

const up = (name: string) => ({ name, isUp: true });
const down = (name: string) => ({ name, isUp: false });
const ep = (iface: string, ...nets: string[]) => ({ iface, nets });
const route = (dst: string, dev: string) => ({ dst, dev });

describe('planWorkloads', () => {
  it.each([
    {
      why: 'an up interface with its pod gets the route and its sysctls',
      links: [up('cali1')],
      routes: [],
      endpoints: [ep('cali1', '10.0.0.1/32', 'fd00::1/128')],
      ours: [],
      add: ['10.0.0.1/32 cali1', 'fd00::1/128 cali1'],
      del: [],
      configure: ['cali1'],
    },
    {
      why: 'a pod whose interface is not there yet gets nothing (yet)',
      links: [],
      routes: [],
      endpoints: [ep('cali1', '10.0.0.1/32')],
      ours: [],
      add: [],
      del: [],
      configure: [],
    },
    {
      why: 'an interface that is down gets nothing until it is up',
      links: [down('cali1')],
      routes: [],
      endpoints: [ep('cali1', '10.0.0.1/32')],
      ours: [],
      add: [],
      del: [],
      configure: [],
    },
    {
      why: 'a route the CNI already made is left as it is',
      links: [up('cali1')],
      routes: [route('10.0.0.1/32', 'cali1')],
      endpoints: [ep('cali1', '10.0.0.1/32')],
      ours: [],
      add: [],
      del: [],
      configure: ['cali1'],
    },
    {
      why: 'a route to the pod through another interface is replaced',
      links: [up('cali1'), up('cali2')],
      routes: [route('10.0.0.1/32', 'cali2')],
      endpoints: [ep('cali1', '10.0.0.1/32')],
      ours: [],
      add: ['10.0.0.1/32 cali1'],
      del: [],
      configure: ['cali1'],
    },
    {
      why: 'our route to a pod that is gone is removed',
      links: [up('cali1')],
      routes: [route('10.0.0.1/32', 'cali1')],
      endpoints: [],
      ours: ['10.0.0.1/32 cali1'],
      add: [],
      del: ['10.0.0.1/32 cali1'],
      configure: [],
    },
    {
      why: 'a route someone else made to an interface without a pod stays',
      links: [up('cali1')],
      routes: [route('10.0.0.1/32', 'cali1')],
      endpoints: [],
      ours: [],
      add: [],
      del: [],
      configure: [],
    },
    {
      why: 'a pod whose IP changed: the new route is added, our old one removed',
      links: [up('cali1')],
      routes: [route('10.0.0.1/32', 'cali1')],
      endpoints: [ep('cali1', '10.0.0.2/32')],
      ours: ['10.0.0.1/32 cali1'],
      add: ['10.0.0.2/32 cali1'],
      del: ['10.0.0.1/32 cali1'],
      configure: ['cali1'],
    },
  ])('$why', ({ links, routes, endpoints, ours, add, del, configure }) => {
    const plan = planWorkloads({ links, routes, endpoints, ours: new Set(ours) });
    expect(plan.addRoutes.map((r) => `${r.dst} ${r.dev}`)).toEqual(add);
    expect(plan.deleteRoutes.map((r) => `${r.dst} ${r.dev}`)).toEqual(del);
    expect(plan.configure).toEqual(configure);
  });
});

describe('workloadSysctls', () => {
  it('are the ones Felix writes, per family', () => {
    const v4 = workloadSysctls('cali1', { v4: true, v6: false }, '2').map((s) => `${s.path}=${s.value}`);
    expect(v4).toEqual([
      '/proc/sys/net/ipv6/conf/cali1/accept_ra=0',
      '/proc/sys/net/ipv4/conf/cali1/route_localnet=1',
      '/proc/sys/net/ipv4/neigh/cali1/proxy_delay=0',
      '/proc/sys/net/ipv4/conf/cali1/proxy_arp=1',
      '/proc/sys/net/ipv4/conf/cali1/forwarding=1',
      '/proc/sys/net/ipv4/conf/cali1/rp_filter=2',
    ]);
    const v6 = workloadSysctls('cali1', { v4: false, v6: true }, '1').map((s) => `${s.path}=${s.value}`);
    expect(v6).toEqual([
      '/proc/sys/net/ipv6/conf/cali1/accept_ra=0',
      '/proc/sys/net/ipv6/conf/cali1/proxy_ndp=1',
      '/proc/sys/net/ipv6/conf/cali1/forwarding=1',
    ]);
  });
});

describe('ip -j parsers', () => {
  it('reads links as up only when up with carrier', () => {
    const json = JSON.stringify([
      { ifname: 'cali1', flags: ['BROADCAST', 'UP', 'LOWER_UP'], operstate: 'UP' },
      { ifname: 'cali2', flags: ['BROADCAST', 'UP'], operstate: 'LOWERLAYERDOWN' },
      { ifname: 'cali3', flags: ['BROADCAST'], operstate: 'DOWN' },
      { ifname: 'tun0', flags: ['UP', 'LOWER_UP'], operstate: 'UNKNOWN' },
    ]);
    expect(parseLinks(json)).toEqual([
      { name: 'cali1', isUp: true },
      { name: 'cali2', isUp: false },
      { name: 'cali3', isUp: false },
      { name: 'tun0', isUp: true },
    ]);
    expect(parseLinks('not json')).toEqual([]);
  });

  it('reads unicast routes with their length', () => {
    const json = JSON.stringify([
      { dst: 'default', gateway: '192.0.2.1', dev: 'eth0' },
      { dst: '10.0.0.1', dev: 'cali1', scope: 'link' },
      { dst: '10.1.0.0/16', dev: 'eth0' },
      { type: 'blackhole', dst: '10.2.0.0/16' },
      { dst: 'fd00::1', dev: 'cali1' },
    ]);
    expect(parseRoutes(json)).toEqual([
      { dst: '10.0.0.1/32', dev: 'cali1' },
      { dst: '10.1.0.0/16', dev: 'eth0' },
      { dst: 'fd00::1/128', dev: 'cali1' },
    ]);
  });
});
