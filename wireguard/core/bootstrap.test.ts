// The start-up bootstrap's decisions (spec §2.6) as tables; numbers in brackets are the Felix
// bootstrap tests of spec §8.4 each row corresponds to.
import { describe, expect, it } from 'vitest';
import {
  bootstrapDecision,
  filterTyphaEndpoints,
  type BootstrapFacts,
  type PublishedKeyLookup,
  type TyphaEndpoint,
} from './bootstrap.js';

const key = (n: number): string => Buffer.alloc(32, n).toString('base64');
const [OURS, OTHER, NODE2] = [key(1), key(2), key(3)];

describe('bootstrapDecision', () => {
  const cases: {
    rule: string;
    facts: Omit<BootstrapFacts, 'ourPublicKey'>;
    removeDevice: boolean;
    clearPublishedKey: boolean;
  }[] = [
    {
      rule: 'disabled with nothing left behind: nothing to do',
      facts: { enabled: false, publishedKey: null, device: null },
      removeDevice: false,
      clearPublishedKey: false,
    },
    {
      rule: 'disabled: device and published key both go [84]',
      facts: { enabled: false, publishedKey: OURS, device: { publicKey: OURS } },
      removeDevice: true,
      clearPublishedKey: true,
    },
    {
      rule: 'disabled with the device already gone: the key still goes [86]',
      facts: { enabled: false, publishedKey: OURS, device: null },
      removeDevice: false,
      clearPublishedKey: true,
    },
    {
      rule: 'disabled with a device but no key published: the device goes',
      facts: { enabled: false, publishedKey: null, device: { publicKey: OURS } },
      removeDevice: true,
      clearPublishedKey: false,
    },
    {
      rule: 'first start: nothing published, no device',
      facts: { enabled: true, publishedKey: null, device: null },
      removeDevice: false,
      clearPublishedKey: false,
    },
    {
      rule: 'ordinary restart: our key published and on the device [75]',
      facts: { enabled: true, publishedKey: OURS, device: { publicKey: OURS } },
      removeDevice: false,
      clearPublishedKey: false,
    },
    {
      rule: 'our key published and the device gone: it comes back with the same key (unlike Felix [86])',
      facts: { enabled: true, publishedKey: OURS, device: null },
      removeDevice: false,
      clearPublishedKey: false,
    },
    {
      rule: 'a published key we do not hold is cleared before peers route to it',
      facts: { enabled: true, publishedKey: OTHER, device: null },
      removeDevice: false,
      clearPublishedKey: true,
    },
    {
      rule: 'a published key we do not hold takes the device with it, as in Felix [78]',
      facts: { enabled: true, publishedKey: OTHER, device: { publicKey: OTHER } },
      removeDevice: true,
      clearPublishedKey: true,
    },
    {
      rule: 'a stale published key takes the device even when the device holds our key',
      facts: { enabled: true, publishedKey: OTHER, device: { publicKey: OURS } },
      removeDevice: true,
      clearPublishedKey: true,
    },
    {
      rule: 'our key published but another on the device: only the device goes',
      facts: { enabled: true, publishedKey: OURS, device: { publicKey: OTHER } },
      removeDevice: true,
      clearPublishedKey: false,
    },
    {
      rule: 'a device without a key (or one wg cannot read) is not ours',
      facts: { enabled: true, publishedKey: null, device: { publicKey: null } },
      removeDevice: true,
      clearPublishedKey: false,
    },
  ];
  for (const c of cases) {
    it(c.rule, () => {
      const d = bootstrapDecision({ ...c.facts, ourPublicKey: OURS });
      expect([d.removeDevice, d.clearPublishedKey]).toEqual([c.removeDevice, c.clearPublishedKey]);
      expect(d.reason === null).toBe(!c.removeDevice && !c.clearPublishedKey);
    });
  }
});

describe('filterTyphaEndpoints', () => {
  const typha1: TyphaEndpoint = { addr: '192.0.2.4:2222', nodeName: 'node1' };
  const typha2: TyphaEndpoint = { addr: '192.0.2.5:1111', nodeName: 'node2' };
  const typha3: TyphaEndpoint = { addr: '192.0.2.7:1234', nodeName: 'node3' };
  const typha4: TyphaEndpoint = { addr: '192.0.2.7:1234', nodeName: null };
  const keys: PublishedKeyLookup = (node) => (node === 'node1' ? OURS : node === 'node2' ? NODE2 : null);

  const cases: {
    rule: string;
    endpoints: TyphaEndpoint[];
    peers: string[];
    lookup?: PublishedKeyLookup;
    want: TyphaEndpoint[];
    removeWireguard: boolean;
  }[] = [
    {
      rule: 'keeps every Typha whose node is a device peer, has no key, has no node, or is us [75]',
      endpoints: [typha1, typha2, typha3, typha4],
      peers: [NODE2],
      want: [typha1, typha2, typha3, typha4],
      removeWireguard: false,
    },
    {
      rule: 'drops a Typha whose node has a key the device does not know [76]',
      endpoints: [typha1, typha2, typha3, typha4],
      peers: [OTHER],
      want: [typha1, typha3, typha4],
      removeWireguard: false,
    },
    {
      rule: 'when every Typha would go, keeps them all and asks for WireGuard to be removed [77]',
      endpoints: [typha2],
      peers: [OTHER],
      want: [typha2],
      removeWireguard: true,
    },
    {
      rule: 'keeps a Typha whose node’s key could not be fetched (fail fast, not closed)',
      endpoints: [typha2],
      peers: [],
      lookup: () => 'failed',
      want: [typha2],
      removeWireguard: false,
    },
    { rule: 'an empty list stays empty', endpoints: [], peers: [], want: [], removeWireguard: false },
  ];
  for (const c of cases) {
    it(c.rule, () => {
      const r = filterTyphaEndpoints(c.endpoints, 'node1', new Set(c.peers), c.lookup ?? keys);
      expect(r).toEqual({ endpoints: c.want, removeWireguard: c.removeWireguard });
    });
  }
});
