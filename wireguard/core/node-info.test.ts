import { describe, expect, it } from 'vitest';
import { ipamBlockFromObject, nodeInfoFromObject } from './node-info.js';

const K = Buffer.alloc(32, 1).toString('base64');

describe('nodeInfoFromObject', () => {
  it('reads keys, interface addresses, pod CIDRs and addresses as Calico projects a Node', () => {
    const info = nodeInfoFromObject({
      metadata: {
        name: 'n1',
        annotations: {
          'projectcalico.org/WireguardPublicKey': K,
          'projectcalico.org/IPv4WireguardInterfaceAddr': '198.51.100.1',
          'projectcalico.org/IPv6WireguardInterfaceAddr': '2001:db8:100::1/128',
        },
      },
      spec: { podCIDRs: ['198.51.100.0/26', '2001:db8:100::/120'] },
      status: {
        addresses: [
          { type: 'Hostname', address: 'n1' },
          { type: 'ExternalIP', address: '203.0.113.1' },
          { type: 'InternalIP', address: '192.0.2.1' },
          { type: 'InternalIP', address: '2001:db8::1' },
        ],
      },
    });
    expect(info).toEqual({
      name: 'n1',
      v4: { hostAddress: '192.0.2.1', publicKey: K, interfaceAddress: '198.51.100.1' },
      v6: { hostAddress: '2001:db8::1', publicKey: null, interfaceAddress: '2001:db8:100::1' },
      podCidrs: ['198.51.100.0/26', '2001:db8:100::/120'],
      hostAddresses: ['203.0.113.1', '192.0.2.1', '2001:db8::1'],
    });
  });

  const hostCases: {
    rule: string;
    annotations?: Record<string, string>;
    addresses: object[];
    want: string | null;
  }[] = [
    {
      rule: 'the projectcalico.org/IPv4Address annotation (CIDR form) wins over status addresses',
      annotations: { 'projectcalico.org/IPv4Address': '192.0.2.9/24' },
      addresses: [{ type: 'InternalIP', address: '192.0.2.1' }],
      want: '192.0.2.9',
    },
    {
      rule: 'a bare-IP BGP annotation is ignored (Calico requires CIDR form)',
      annotations: { 'projectcalico.org/IPv4Address': '192.0.2.9' },
      addresses: [{ type: 'InternalIP', address: '192.0.2.1' }],
      want: '192.0.2.1',
    },
    {
      rule: 'InternalIP is preferred over ExternalIP',
      addresses: [
        { type: 'ExternalIP', address: '203.0.113.1' },
        { type: 'InternalIP', address: '192.0.2.1' },
      ],
      want: '192.0.2.1',
    },
    {
      rule: 'ExternalIP is used without an InternalIP',
      addresses: [{ type: 'ExternalIP', address: '203.0.113.1' }],
      want: '203.0.113.1',
    },
    {
      rule: 'a garbage address is skipped',
      addresses: [{ type: 'InternalIP', address: 'bogus' }],
      want: null,
    },
  ];
  for (const c of hostCases) {
    it(`host address: ${c.rule}`, () => {
      const info = nodeInfoFromObject({
        metadata: { name: 'n', annotations: c.annotations ?? {} },
        status: { addresses: c.addresses },
      });
      expect(info?.v4.hostAddress).toBe(c.want);
    });
  }

  it('ignores an interface address of the wrong family or with a short prefix', () => {
    const info = nodeInfoFromObject({
      metadata: {
        name: 'n',
        annotations: {
          'projectcalico.org/IPv4WireguardInterfaceAddr': '2001:db8::1',
          'projectcalico.org/IPv6WireguardInterfaceAddr': '2001:db8::/64',
        },
      },
    });
    expect(info?.v4.interfaceAddress).toBeNull();
    expect(info?.v6.interfaceAddress).toBeNull();
  });

  it('treats an empty key annotation as no key (Calico deletes it on empty)', () => {
    const info = nodeInfoFromObject({
      metadata: { name: 'n', annotations: { 'projectcalico.org/WireguardPublicKey': '' } },
    });
    expect(info?.v4.publicKey).toBeNull();
  });

  it('accepts the older single spec.podCIDR and drops malformed CIDRs', () => {
    const info = nodeInfoFromObject({
      metadata: { name: 'n' },
      spec: { podCIDR: '10.0.0.5/24', podCIDRs: ['junk'] },
    });
    expect(info?.podCidrs).toEqual(['10.0.0.0/24']);
  });

  const junk: unknown[] = [
    null,
    42,
    'node',
    [],
    {},
    { metadata: {} },
    { metadata: { name: '' } },
    { metadata: { name: 7 } },
  ];
  for (const obj of junk) {
    it(`rejects ${JSON.stringify(obj)} without throwing`, () => expect(nodeInfoFromObject(obj)).toBeNull());
  }
});

describe('ipamBlockFromObject', () => {
  it('reads the CIDR and the host affinity', () => {
    expect(
      ipamBlockFromObject({
        metadata: { name: 'b' },
        spec: { cidr: '198.51.100.64/26', affinity: 'host:n2' },
      }),
    ).toEqual({ name: 'b', cidr: '198.51.100.64/26', node: 'n2' });
  });

  it('gives a virtual or missing affinity no node', () => {
    expect(
      ipamBlockFromObject({ metadata: { name: 'b' }, spec: { cidr: '10.0.0.0/26', affinity: 'virtual:x' } })
        ?.node,
    ).toBeNull();
    expect(ipamBlockFromObject({ metadata: { name: 'b' }, spec: { cidr: '10.0.0.0/26' } })?.node).toBeNull();
  });

  it('skips blocks being deleted and blocks without a valid CIDR', () => {
    expect(
      ipamBlockFromObject({ metadata: { name: 'b' }, spec: { cidr: '10.0.0.0/26', deleted: true } }),
    ).toBeNull();
    expect(ipamBlockFromObject({ metadata: { name: 'b' }, spec: { cidr: 'x' } })).toBeNull();
    expect(ipamBlockFromObject(undefined)).toBeNull();
  });
});
