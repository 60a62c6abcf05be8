// Peer eligibility, allowed IPs, throw routes and conflicts (spec §4.4 and the peer/route cases
// of §8.1). Numbers in brackets name the spec §8 case a test mirrors.
import { describe, expect, it } from 'vitest';
import type { IpFamily } from '../../calico/ip.js';
import type { IpamBlockInfo, NodeInfo } from './node-info.js';
import { computePeerTable } from './peer-table.js';
import type { PeerTableInput } from './peer-table-types.js';

const key = (n: number): string => Buffer.alloc(32, n).toString('base64');
const SELF_KEY = key(99);
const [K1, K2, K3] = [key(1), key(2), key(3)];

interface NodeOpts {
  host?: string | null;
  host6?: string | null;
  key?: string | null;
  key6?: string | null;
  pods?: string[];
  iface?: string | null;
  addresses?: string[];
}

function node(name: string, o: NodeOpts = {}): NodeInfo {
  return {
    name,
    v4: { hostAddress: o.host ?? null, publicKey: o.key ?? null, interfaceAddress: o.iface ?? null },
    v6: { hostAddress: o.host6 ?? null, publicKey: o.key6 ?? null, interfaceAddress: null },
    podCidrs: o.pods ?? [],
    hostAddresses: o.addresses ?? [o.host, o.host6].filter((x): x is string => typeof x === 'string'),
  };
}

function input(nodes: NodeInfo[], extra: Partial<PeerTableInput> = {}): PeerTableInput {
  return {
    family: 4 as IpFamily,
    selfName: 'self',
    selfPublicKey: SELF_KEY,
    nodes,
    blocks: [],
    listenPort: 1000,
    persistentKeepaliveSeconds: 0,
    hostEncryptionEnabled: false,
    ...extra,
  };
}

const SELF = node('self', { host: '192.0.2.1', pods: ['192.180.0.0/30'] });
const block = (cidr: string, n: string | null): IpamBlockInfo => ({ name: cidr, cidr, node: n });

describe('computePeerTable', () => {
  it('programs every remote node with an address and a unique key, endpoint on our own port [17]', () => {
    const t = computePeerTable(
      input([
        SELF,
        node('peer1', { host: '192.0.2.5', key: K1 }),
        node('peer2', { host: '192.0.2.6', key: K2 }),
      ]),
    );
    expect(t.peers).toEqual([
      {
        node: 'peer1',
        publicKey: K1,
        endpoint: '192.0.2.5:1000',
        allowedIps: [],
        persistentKeepaliveSeconds: 0,
      },
      {
        node: 'peer2',
        publicKey: K2,
        endpoint: '192.0.2.6:1000',
        allowedIps: [],
        persistentKeepaliveSeconds: 0,
      },
    ]);
  });

  it('gives our own CIDRs throw routes and never makes us a peer [23]', () => {
    const t = computePeerTable(input([SELF]));
    expect(t.peers).toEqual([]);
    expect(t.routes).toEqual([{ dst: '192.180.0.0/30', target: 'throw' }]);
  });

  it('gives a single local workload IP (/32) a throw route of its own [24]', () => {
    const t = computePeerTable(input([SELF], { blocks: [block('192.168.6.0/32', 'self')] }));
    expect(t.routes).toContainEqual({ dst: '192.168.6.0/32', target: 'throw' });
  });

  it('routes a CIDR to the device once it belongs to a peer instead of us [25-27]', () => {
    const t = computePeerTable(
      input([SELF, node('peer1', { host: '192.0.2.5', key: K1 })], {
        blocks: [block('192.168.6.0/32', 'peer1')],
      }),
    );
    expect(t.routes).toContainEqual({ dst: '192.168.6.0/32', target: 'device' });
    expect(t.peers[0]?.allowedIps).toEqual(['192.168.6.0/32']);
  });

  it('removes both nodes that claim the same key and throws their CIDRs [28, 31]', () => {
    const t = computePeerTable(
      input([
        SELF,
        node('peer1', { host: '192.0.2.5', key: K1, pods: ['192.168.1.0/24'] }),
        node('peer2', { host: '192.0.2.6', key: K1, pods: ['192.168.3.0/24'] }),
      ]),
    );
    expect(t.peers).toEqual([]);
    expect(t.routes).toContainEqual({ dst: '192.168.1.0/24', target: 'throw' });
    expect(t.routes).toContainEqual({ dst: '192.168.3.0/24', target: 'throw' });
    expect(t.conflicts).toContainEqual({ kind: 'duplicate-key', publicKey: K1, nodes: ['peer1', 'peer2'] });
  });

  it('brings both nodes back once their keys differ again [30]', () => {
    const t = computePeerTable(
      input([
        SELF,
        node('peer1', { host: '192.0.2.5', key: K1 }),
        node('peer2', { host: '192.0.2.6', key: K2 }),
      ]),
    );
    expect(t.peers.map((p) => p.node)).toEqual(['peer1', 'peer2']);
    expect(t.conflicts.filter((c) => c.kind === 'duplicate-key')).toEqual([]);
  });

  it('never peers with a node that publishes our own key', () => {
    const t = computePeerTable(input([SELF, node('copycat', { host: '192.0.2.9', key: SELF_KEY })]));
    expect(t.peers).toEqual([]);
    expect(t.conflicts).toContainEqual({
      kind: 'duplicate-key',
      publicKey: SELF_KEY,
      nodes: ['copycat', 'self'],
    });
  });

  it('does not peer with a node that has an address but no key [32]', () => {
    const t = computePeerTable(input([SELF, node('peer3', { host: '192.0.2.7', pods: ['192.168.4.0/26'] })]));
    expect(t.peers).toEqual([]);
    expect(t.routes).toContainEqual({ dst: '192.168.4.0/26', target: 'throw' });
    expect(t.conflicts).toContainEqual({ kind: 'missing-key', node: 'peer3' });
  });

  it('treats an unparsable published key as no key [§9.19]', () => {
    const t = computePeerTable(input([SELF, node('peer1', { host: '192.0.2.5', key: 'not-a-key' })]));
    expect(t.peers).toEqual([]);
    expect(t.conflicts).toContainEqual({ kind: 'invalid-key', node: 'peer1' });
  });

  it('does not peer with a node that has a key but no address of the family', () => {
    const t = computePeerTable(
      input([SELF, node('peer1', { host6: '2001:db8::5', key: K1, pods: ['192.168.1.0/24'] })]),
    );
    expect(t.peers).toEqual([]);
    expect(t.routes).toContainEqual({ dst: '192.168.1.0/24', target: 'throw' });
    expect(t.conflicts).toContainEqual({ kind: 'no-host-address', node: 'peer1' });
  });

  it('routes peers’ CIDRs to the device and a key-less node’s CIDRs to throw [34, 35]', () => {
    const t = computePeerTable(
      input(
        [
          SELF,
          node('peer1', { host: '192.0.2.5', key: K1 }),
          node('peer2', { host: '192.0.2.6', key: K2 }),
          node('peer3', { host: '192.0.2.7' }),
        ],
        {
          blocks: [
            block('192.168.1.0/24', 'peer1'),
            block('192.168.2.0/24', 'peer1'),
            block('192.168.3.0/24', 'peer2'),
            block('192.168.4.0/26', 'peer3'),
          ],
        },
      ),
    );
    expect(t.peers.map((p) => [p.node, p.allowedIps])).toEqual([
      ['peer1', ['192.168.1.0/24', '192.168.2.0/24']],
      ['peer2', ['192.168.3.0/24']],
    ]);
    expect(t.routes).toEqual([
      { dst: '192.168.1.0/24', target: 'device' },
      { dst: '192.168.2.0/24', target: 'device' },
      { dst: '192.168.3.0/24', target: 'device' },
      { dst: '192.168.4.0/26', target: 'throw' },
      { dst: '192.180.0.0/30', target: 'throw' },
    ]);
  });

  it('combines Node spec.podCIDRs and IPAM blocks affine to the node', () => {
    const t = computePeerTable(
      input([SELF, node('peer1', { host: '192.0.2.5', key: K1, pods: ['10.244.1.0/24'] })], {
        blocks: [
          block('192.168.1.0/26', 'peer1'),
          block('192.168.9.0/26', null),
          block('192.168.8.0/26', 'gone'),
        ],
      }),
    );
    expect(t.peers[0]?.allowedIps).toEqual(['10.244.1.0/24', '192.168.1.0/26']);
    expect(t.routes.map((r) => r.dst)).not.toContain('192.168.9.0/26');
    expect(t.routes.map((r) => r.dst)).not.toContain('192.168.8.0/26');
  });

  it('gives a CIDR claimed by two nodes to neither, with a throw route', () => {
    const t = computePeerTable(
      input([
        SELF,
        node('peer1', { host: '192.0.2.5', key: K1, pods: ['192.168.1.0/24', '192.168.2.0/24'] }),
        node('peer2', { host: '192.0.2.6', key: K2, pods: ['192.168.2.0/24'] }),
      ]),
    );
    expect(t.peers.map((p) => [p.node, p.allowedIps])).toEqual([
      ['peer1', ['192.168.1.0/24']],
      ['peer2', []],
    ]);
    expect(t.routes).toContainEqual({ dst: '192.168.2.0/24', target: 'throw' });
    expect(t.conflicts).toContainEqual({
      kind: 'cidr-claimed-twice',
      cidr: '192.168.2.0/24',
      nodes: ['peer1', 'peer2'],
    });
  });

  it('removes the peer of a node that lost its address, and throws its CIDRs [40, 44]', () => {
    const t = computePeerTable(
      input([
        SELF,
        node('peer1', { host: '192.0.2.5', key: K1 }),
        node('peer2', { key: K2, pods: ['192.168.3.0/24'] }),
      ]),
    );
    expect(t.peers.map((p) => p.node)).toEqual(['peer1']);
    expect(t.routes).toContainEqual({ dst: '192.168.3.0/24', target: 'throw' });
  });

  it('follows an endpoint change without touching routes [46]', () => {
    const before = computePeerTable(
      input([SELF, node('peer2', { host: '192.0.2.6', key: K2, pods: ['192.168.3.0/24'] })]),
    );
    const after = computePeerTable(
      input([SELF, node('peer2', { host: '192.0.2.7', key: K2, pods: ['192.168.3.0/24'] })]),
    );
    expect(after.peers[0]?.endpoint).toBe('192.0.2.7:1000');
    expect(after.routes).toEqual(before.routes);
  });

  it('turns a key-less node’s route into a device route once it publishes a key [48-51]', () => {
    const nodes = (k3: string | null): NodeInfo[] => [
      SELF,
      node('peer1', { host: '192.0.2.5', key: K1, pods: ['192.168.1.0/24'] }),
      node('peer3', { host: '192.0.2.7', key: k3, pods: ['192.168.4.0/26'] }),
    ];
    expect(computePeerTable(input(nodes(null))).routes).toContainEqual({
      dst: '192.168.4.0/26',
      target: 'throw',
    });
    const t = computePeerTable(input(nodes(K3)));
    expect(t.routes).toContainEqual({ dst: '192.168.4.0/26', target: 'device' });
    expect(t.peers.map((p) => p.node)).toEqual(['peer1', 'peer3']);
  });

  it('adds a peer’s published interface address unless one of its CIDRs covers it', () => {
    const t = computePeerTable(
      input([
        SELF,
        node('peer1', { host: '192.0.2.5', key: K1, pods: ['192.168.1.0/24'], iface: '192.168.1.1' }),
        node('peer2', { host: '192.0.2.6', key: K2, pods: ['192.168.3.0/24'], iface: '192.168.10.0' }),
      ]),
    );
    expect(t.peers.map((p) => p.allowedIps)).toEqual([
      ['192.168.1.0/24'],
      ['192.168.10.0/32', '192.168.3.0/24'],
    ]);
  });

  it('carries the configured keepalive on every peer', () => {
    const t = computePeerTable(
      input([SELF, node('peer1', { host: '192.0.2.5', key: K1 })], { persistentKeepaliveSeconds: 25 }),
    );
    expect(t.peers[0]?.persistentKeepaliveSeconds).toBe(25);
  });

  it('with host encryption, adds peers’ host addresses and throws our own [§6]', () => {
    const t = computePeerTable(
      input([SELF, node('peer1', { host: '192.0.2.5', key: K1, addresses: ['192.0.2.5', '2001:db8::5'] })], {
        hostEncryptionEnabled: true,
      }),
    );
    expect(t.peers[0]?.allowedIps).toEqual(['192.0.2.5/32']);
    expect(t.routes).toContainEqual({ dst: '192.0.2.1/32', target: 'throw' });
    expect(t.routes).toContainEqual({ dst: '192.0.2.5/32', target: 'device' });
  });

  it('without host encryption, leaves host addresses out of allowed IPs and routes', () => {
    const t = computePeerTable(input([SELF, node('peer1', { host: '192.0.2.5', key: K1 })]));
    expect(t.routes.map((r) => r.dst)).toEqual(['192.180.0.0/30']);
  });

  it('uses only the family’s own keys, addresses and CIDRs for IPv6, with a bracketed endpoint', () => {
    const t = computePeerTable(
      input(
        [
          node('self', { host6: '2001:db8::1', pods: ['2001:db8:100::/120', '192.180.0.0/30'] }),
          node('peer1', {
            host: '192.0.2.5',
            host6: '2001:db8::5',
            key: K1,
            key6: K2,
            pods: ['2001:db8:1::/120', '10.0.0.0/24'],
          }),
        ],
        { family: 6, listenPort: 2000 },
      ),
    );
    expect(t.peers).toEqual([
      {
        node: 'peer1',
        publicKey: K2,
        endpoint: '[2001:db8::5]:2000',
        allowedIps: ['2001:db8:1::/120'],
        persistentKeepaliveSeconds: 0,
      },
    ]);
    expect(t.routes).toEqual([
      { dst: '2001:db8:100::/120', target: 'throw' },
      { dst: '2001:db8:1::/120', target: 'device' },
    ]);
  });

  describe('our device address', () => {
    const cases: { rule: string; self: NodeInfo; hostEnc?: boolean; want: string | null; source?: string }[] =
      [
        {
          rule: 'is network + 1 of our first pod CIDR, as Calico derives it in host-local mode',
          self: node('self', { host: '192.0.2.1', pods: ['198.51.100.0/26'], iface: '203.0.113.9' }),
          want: '198.51.100.1/32',
          source: 'pod-cidr',
        },
        {
          rule: 'is the published annotation when we have no pod CIDR of the family',
          self: node('self', { host: '192.0.2.1', iface: '203.0.113.9' }),
          want: '203.0.113.9/32',
          source: 'annotation',
        },
        {
          rule: 'falls back to the host address with host encryption [12, 13]',
          self: node('self', { host: '192.0.2.1' }),
          hostEnc: true,
          want: '192.0.2.1/32',
          source: 'host-address',
        },
        { rule: 'is absent otherwise', self: node('self', { host: '192.0.2.1' }), want: null },
      ];
    for (const c of cases) {
      it(c.rule, () => {
        const t = computePeerTable(input([c.self], { hostEncryptionEnabled: c.hostEnc ?? false }));
        expect(t.selfAddress?.cidr ?? null).toBe(c.want);
        if (c.source) expect(t.selfAddress?.source).toBe(c.source);
      });
    }
  });

  it('is deterministic: node order does not change the result', () => {
    const nodes = [
      SELF,
      node('a', { host: '192.0.2.5', key: K1, pods: ['192.168.1.0/24'] }),
      node('b', { host: '192.0.2.6', key: K1, pods: ['192.168.1.0/24'] }),
      node('c', { host: '192.0.2.7', key: K3, pods: ['192.168.3.0/24'] }),
      node('d', { host: '192.0.2.8', key: K2, pods: ['192.168.3.0/24'] }),
    ];
    expect(computePeerTable(input([...nodes].reverse()))).toEqual(computePeerTable(input(nodes)));
  });
});
