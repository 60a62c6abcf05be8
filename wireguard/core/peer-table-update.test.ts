// The incremental path of computePeerTable (a cache that saw the previous input) must give exactly
// what a fresh computation gives, whatever the sequence of added, removed and changed Nodes and
// blocks — including nodes that share CIDRs or keys, which make far-away nodes change state.
import { describe, expect, it } from 'vitest';
import { computeWireguardConfig, familyConfig } from './config.js';
import { patchDevice } from './device-delta.js';
import { assumeApplied, desiredDevice, deviceSettings, type DesiredDevice } from './device-state.js';
import type { IpamBlockInfo, NodeInfo } from './node-info.js';
import { computePeerTable, PeerTableCache } from './peer-table.js';
import type { PeerTableInput } from './peer-table-types.js';
import { planDevice, type Step } from './plan.js';

const key = (n: number): string => Buffer.alloc(32, n).toString('base64');
const SELF_KEY = key(99);

/** A small seeded generator, so a failure names a reproducible seed. */
function rng(seed: number): (n: number) => number {
  let s = seed >>> 0;
  return (n) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s % n;
  };
}

function randomNode(name: string, r: (n: number) => number): NodeInfo {
  // Few distinct keys and CIDRs, so duplicates, contested and covering CIDRs happen often.
  const keys = [null, 'not-a-key', SELF_KEY, key(1), key(2), key(3), key(4 + r(40)), key(50 + r(40))];
  const pods = [
    [],
    [`10.0.${r(6)}.0/24`],
    [`10.0.${r(6)}.${r(4) * 64}/26`],
    [`10.1.${r(30)}.0/24`, `10.1.${r(30)}.0/24`],
  ];
  const host = r(6) === 0 ? null : `192.0.2.${r(200) + 1}`;
  return {
    name,
    v4: {
      hostAddress: host,
      publicKey: keys[r(keys.length)] ?? null,
      interfaceAddress: r(3) === 0 ? `10.9.0.${r(5)}` : null,
    },
    v6: { hostAddress: null, publicKey: null, interfaceAddress: null },
    podCidrs: pods[r(pods.length)] ?? [],
    hostAddresses: host === null ? [] : [host],
  };
}

function base(nodes: NodeInfo[], blocks: IpamBlockInfo[], hostEnc: boolean): PeerTableInput {
  return {
    family: 4,
    selfName: 'self',
    selfPublicKey: SELF_KEY,
    nodes,
    blocks,
    listenPort: 51820,
    persistentKeepaliveSeconds: 0,
    hostEncryptionEnabled: hostEnc,
  };
}

describe('computePeerTable with a cache', () => {
  it('gives what a fresh computation gives after any sequence of node and block changes', () => {
    for (let seed = 1; seed <= 40; seed++) {
      const r = rng(seed);
      const cache = new PeerTableCache();
      const hostEnc = seed % 5 === 0;
      let nodes: NodeInfo[] = [
        {
          ...randomNode('self', r),
          v4: { hostAddress: '192.0.2.250', publicKey: null, interfaceAddress: null },
        },
        ...Array.from({ length: 20 + r(20) }, (_, i) => randomNode(`n${i}`, r)),
      ];
      let blocks: IpamBlockInfo[] = [];
      let next = 100;
      for (let step = 0; step < 40; step++) {
        const op = r(10);
        const i = 1 + r(Math.max(1, nodes.length - 1));
        if (op < 3) nodes = [...nodes, randomNode(`n${next++}`, r)];
        else if (op < 5 && nodes.length > 1) nodes = nodes.filter((_, j) => j !== i);
        else if (op < 8 && nodes[i] !== undefined)
          nodes = nodes.map((n, j) => (j === i ? randomNode(n.name, r) : n));
        else if (op < 9) {
          const owner = nodes[r(nodes.length)]?.name ?? null;
          blocks = [...blocks, { name: `b${step}`, cidr: `10.0.${r(6)}.${r(4) * 64}/26`, node: owner }];
        } else if (nodes.length > 2) {
          // Several at once, and an unchanged input now and then.
          const a = 1 + r(nodes.length - 1);
          nodes = nodes.map((n, j) => (j === a || j === a - 1 ? randomNode(n.name, r) : n));
          if (j0(r)) nodes = [...nodes].reverse();
        }
        const input = base(nodes, blocks, hostEnc);
        expect(computePeerTable(input, cache), `seed ${seed} step ${step}`).toEqual(computePeerTable(input));
      }
    }
  });

  it('keeps giving the fresh result when our own Node changes or names repeat', () => {
    const cache = new PeerTableCache();
    const r = rng(7);
    const nodes = Array.from({ length: 10 }, (_, i) => randomNode(`n${i}`, r));
    const self: NodeInfo = { ...randomNode('self', r), podCidrs: ['10.0.1.0/24'] };
    const steps: NodeInfo[][] = [
      [self, ...nodes],
      [{ ...self, podCidrs: ['10.0.2.0/24'] }, ...nodes],
      [self, ...nodes, randomNode('n3', r)],
      [self, ...nodes],
    ];
    for (const list of steps) {
      const input = base(list, [], false);
      expect(computePeerTable(input, cache)).toEqual(computePeerTable(input));
    }
  });
});

describe('patchDevice (a delta run from the table change alone)', () => {
  const { config } = computeWireguardConfig(
    { layers: [{ source: 'default', name: 'default', spec: { wireguardEnabled: true } }], env: {} },
    null,
  );
  const fam = familyConfig(config, 4);

  /** Steps with their lists in a fixed order: the patch and the full plan may list them differently. */
  function normalised(steps: readonly Step[]): unknown[] {
    return steps.map((s) => {
      if (s.op === 'wireguard-set')
        return {
          ...s,
          upsertPeers: [...s.upsertPeers].sort((a, b) => a.publicKey.localeCompare(b.publicKey)),
          handshakePeers: [...s.handshakePeers].sort((a, b) => a.publicKey.localeCompare(b.publicKey)),
        };
      if (s.op === 'routes')
        return {
          ...s,
          replace: [...s.replace].sort((a, b) => a.dst.localeCompare(b.dst)),
          remove: [...s.remove].sort((a, b) => a.dst.localeCompare(b.dst)),
        };
      return s;
    });
  }

  const sorted = <V>(m: ReadonlyMap<string, V>): [string, V][] =>
    [...m].sort(([a], [b]) => a.localeCompare(b));

  it('plans what a full comparison plans, and ends at the same device, over random changes', () => {
    let patched = 0;
    for (let seed = 1; seed <= 30; seed++) {
      const r = rng(seed);
      const cache = new PeerTableCache();
      let nodes: NodeInfo[] = [
        {
          ...randomNode('self', r),
          v4: { hostAddress: '192.0.2.250', publicKey: null, interfaceAddress: null },
        },
        ...Array.from({ length: 20 + r(20) }, (_, i) => randomNode(`n${i}`, r)),
      ];
      let next = 100;
      let device: DesiredDevice = desiredDevice(
        config,
        fam,
        computePeerTable(base(nodes, [], false), cache),
        SELF_KEY,
        1440,
      );
      for (let step = 0; step < 40; step++) {
        const op = r(4);
        const i = 1 + r(Math.max(1, nodes.length - 1));
        if (op === 0) nodes = [...nodes, randomNode(`n${next++}`, r)];
        else if (op === 1 && nodes.length > 1) nodes = nodes.filter((_, j) => j !== i);
        else nodes = nodes.map((n, j) => (j === i ? randomNode(n.name, r) : n));
        const table = computePeerTable(base(nodes, [], false), cache);
        const want = desiredDevice(config, fam, table, SELF_KEY, 1440);
        const wantSteps = planDevice(
          { kind: 'enabled', device: want },
          assumeApplied({ kind: 'enabled', device }, 'tun'),
        ).steps;
        const change = cache.lastChange;
        if (change === null) {
          device = want;
          continue;
        }
        const delta = patchDevice(
          device,
          deviceSettings(config, fam, table.selfAddress, SELF_KEY, 1440),
          change,
        );
        expect(delta, `seed ${seed} step ${step}`).not.toBeNull();
        if (delta === null) return;
        patched++;
        expect(normalised(delta.steps), `seed ${seed} step ${step}`).toEqual(normalised(wantSteps));
        expect(sorted(delta.desired.peers)).toEqual(sorted(want.peers));
        expect(sorted(delta.desired.routes)).toEqual(sorted(want.routes));
        device = delta.desired;
      }
    }
    // Most steps must take the patch, or this test proves nothing.
    expect(patched).toBeGreaterThan(600);
  });

  it('declines when more than peers and routes changed', () => {
    const cache = new PeerTableCache();
    const r = rng(3);
    const nodes = [randomNode('self', r), ...Array.from({ length: 5 }, (_, i) => randomNode(`n${i}`, r))];
    const table = computePeerTable(base(nodes, [], false), cache);
    const device = desiredDevice(config, fam, table, SELF_KEY, 1440);
    const change = { peersRemoved: [], peersAdded: [], routesRemoved: [], routesAdded: [] };
    expect(
      patchDevice(device, deviceSettings(config, fam, table.selfAddress, SELF_KEY, 1400), change),
    ).toBeNull();
    expect(
      patchDevice(device, deviceSettings(config, fam, table.selfAddress, 'other-key', 1440), change),
    ).toBeNull();
  });
});

function j0(r: (n: number) => number): boolean {
  return r(4) === 0;
}
