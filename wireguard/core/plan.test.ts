// Desired vs observed → steps (spec §4.6, §5.1-§5.3 and the device/rule cases of §8).
import { describe, expect, it } from 'vitest';
import {
  assumeApplied,
  EMPTY_OBSERVED,
  type DesiredDevice,
  type DesiredState,
  type DevicePeer,
  type ObservedDevice,
  type RoutingRule,
} from './device-state.js';
import { planDevice, type Step } from './plan.js';

const key = (n: number): string => Buffer.alloc(32, n).toString('base64');
const [K1, K2, K3, K4, OURS] = [key(1), key(2), key(3), key(4), key(99)];
const RULE: RoutingRule = { priority: 99, mark: 0x200000, mask: 0x200000, invert: true, table: 1 };
const peer = (endpoint: string | null, allowedIps: string[], keepalive = 0): DevicePeer => ({
  endpoint,
  allowedIps,
  persistentKeepaliveSeconds: keepalive,
});

function device(o: Partial<DesiredDevice> = {}): DesiredDevice {
  return {
    family: 4,
    iface: 'wireguard.cali',
    mtu: 1440,
    listenPort: 51820,
    firewallMark: 0x200000,
    publicKey: OURS,
    address: '198.51.100.1/32',
    peers: new Map([[K1, peer('192.0.2.2:51820', ['198.51.100.64/26'])]]),
    table: 1,
    routeProtocol: 3,
    routes: new Map([
      ['198.51.100.0/26', 'throw'],
      ['198.51.100.64/26', 'device'],
    ]),
    routeSync: true,
    rule: RULE,
    threaded: false,
    needsSrcValidMark: false,
    ...o,
  };
}

const enabled = (d: DesiredDevice = device()): DesiredState => ({ kind: 'enabled', device: d });
const disabled: DesiredState = {
  kind: 'disabled',
  teardown: { family: 4, iface: 'wireguard.cali', table: 1, routeSync: true },
};
const applied = (d: DesiredDevice = device(), kind = 'tun'): ObservedDevice =>
  assumeApplied(enabled(d), kind);
const ops = (steps: readonly Step[]): string[] => steps.map((s) => s.op);

describe('planDevice (enabled)', () => {
  it('builds everything from nothing, in order: link, MTU, up, address, keys and peers, routes, rule last [2, 7, 8]', () => {
    const plan = planDevice(enabled(), EMPTY_OBSERVED);
    expect(plan.blocked).toBeNull();
    expect(ops(plan.steps)).toEqual([
      'link-add',
      'link-set-mtu',
      'link-set-up',
      'address-add',
      'wireguard-set',
      'routes',
      'rule-add',
    ]);
    expect(plan.steps[4]).toEqual({
      op: 'wireguard-set',
      iface: 'wireguard.cali',
      setPrivateKey: true,
      listenPort: 51820,
      firewallMark: 0x200000,
      removePeers: [],
      upsertPeers: [{ publicKey: K1, peer: peer('192.0.2.2:51820', ['198.51.100.64/26']) }],
      handshakePeers: [],
    });
    expect(plan.steps[6]).toEqual({ op: 'rule-add', family: 4, rule: RULE });
  });

  it('does nothing when the host already matches (backed-out changes are no-ops) [18-21, 37-39]', () => {
    expect(planDevice(enabled(), applied()).steps).toEqual([]);
  });

  it('adds one peer and its route as a small delta', () => {
    const next = device({
      peers: new Map([...device().peers, [K2, peer('192.0.2.3:51820', ['198.51.100.128/26'])]]),
      routes: new Map([...device().routes, ['198.51.100.128/26', 'device']]),
    });
    expect(planDevice(enabled(next), applied()).steps).toEqual([
      {
        op: 'wireguard-set',
        iface: 'wireguard.cali',
        setPrivateKey: false,
        listenPort: null,
        firewallMark: null,
        removePeers: [],
        upsertPeers: [{ publicKey: K2, peer: peer('192.0.2.3:51820', ['198.51.100.128/26']) }],
        handshakePeers: [],
      },
      {
        op: 'routes',
        family: 4,
        table: 1,
        iface: 'wireguard.cali',
        protocol: 3,
        replace: [{ dst: '198.51.100.128/26', target: 'device' }],
        remove: [],
      },
    ]);
  });

  it('removes a peer and deletes its route when its node goes away [40]', () => {
    const next = device({ peers: new Map(), routes: new Map([['198.51.100.0/26', 'throw']]) });
    const steps = planDevice(enabled(next), applied()).steps;
    expect(steps).toContainEqual(
      expect.objectContaining({ op: 'wireguard-set', removePeers: [K1], upsertPeers: [] }),
    );
    expect(steps).toContainEqual(
      expect.objectContaining({
        op: 'routes',
        replace: [],
        remove: [{ dst: '198.51.100.64/26', target: 'device', protocol: 3 }],
      }),
    );
  });

  it('re-targets a moved CIDR with a replace, never delete + add [25-27, 49, 51]', () => {
    const next = device({ routes: new Map([...device().routes, ['198.51.100.64/26', 'throw']]) });
    const steps = planDevice(enabled(next), applied()).steps;
    expect(steps).toContainEqual(
      expect.objectContaining({
        op: 'routes',
        replace: [{ dst: '198.51.100.64/26', target: 'throw' }],
        remove: [],
      }),
    );
  });

  it('replaces a route of ours whose protocol was changed out of band', () => {
    const observed = applied();
    const routes = new Map(observed.routes);
    routes.set('198.51.100.0/26', { dst: '198.51.100.0/26', target: 'throw', protocol: 4 });
    const steps = planDevice(enabled(), { ...observed, routes }).steps;
    expect(steps).toEqual([
      expect.objectContaining({ op: 'routes', replace: [{ dst: '198.51.100.0/26', target: 'throw' }] }),
    ]);
  });

  it('restores port and mark but keeps a device key that is already ours [29, 54]', () => {
    const observed = applied();
    const steps = planDevice(enabled(), {
      ...observed,
      wireguard: { ...observed.wireguard!, listenPort: 1010, firewallMark: 11 },
    }).steps;
    expect(steps).toEqual([
      expect.objectContaining({
        op: 'wireguard-set',
        setPrivateKey: false,
        listenPort: 51820,
        firewallMark: 0x200000,
      }),
    ]);
  });

  it('sets our private key when the device holds another key', () => {
    const observed = applied();
    const steps = planDevice(enabled(), {
      ...observed,
      wireguard: { ...observed.wireguard!, publicKey: K4 },
    }).steps;
    expect(steps).toEqual([
      expect.objectContaining({ op: 'wireguard-set', setPrivateKey: true, upsertPeers: [] }),
    ]);
  });

  it('starts handshakes with every peer when our key changes under live sessions (key rotation)', () => {
    const two = device({
      peers: new Map([
        [K1, peer('192.0.2.2:51820', ['198.51.100.64/26'])],
        [K2, peer('192.0.2.3:51820', ['198.51.100.128/26'], 25)],
      ]),
    });
    const steps = planDevice(enabled(device({ ...two, publicKey: K4 })), applied(two)).steps;
    expect(steps).toEqual([
      expect.objectContaining({
        op: 'wireguard-set',
        setPrivateKey: true,
        upsertPeers: [],
        handshakePeers: [
          { publicKey: K1, persistentKeepaliveSeconds: 0 },
          { publicKey: K2, persistentKeepaliveSeconds: 25 },
        ],
      }),
    ]);
  });

  it('starts no handshake when a new device gets its first key', () => {
    const observed = applied();
    const steps = planDevice(enabled(), {
      ...observed,
      wireguard: { ...observed.wireguard!, publicKey: null },
    }).steps;
    expect(steps).toEqual([expect.objectContaining({ setPrivateKey: true, handshakePeers: [] })]);
  });

  it('starts a handshake with a node that changed its key (new entry at a removed entry’s endpoint), not with a new node', () => {
    const rotated = device({
      peers: new Map([
        [K2, peer('192.0.2.2:51820', ['198.51.100.64/26'])],
        [K3, peer('192.0.2.9:51820', ['198.51.100.192/26'])],
      ]),
    });
    const steps = planDevice(enabled(rotated), applied()).steps;
    expect(steps).toEqual([
      expect.objectContaining({
        op: 'wireguard-set',
        removePeers: [K1],
        handshakePeers: [{ publicKey: K2, persistentKeepaliveSeconds: 0 }],
      }),
    ]);
  });

  it('resyncs a device with stale and foreign peers: fixes known ones, removes the rest [61]', () => {
    const want = device({
      peers: new Map([
        [K1, peer('192.0.2.5:1000', ['192.168.1.0/24'])],
        [K2, peer('192.0.2.6:1000', ['192.168.2.0/24'])],
      ]),
    });
    const observed = applied(want);
    const steps = planDevice(enabled(want), {
      ...observed,
      wireguard: {
        ...observed.wireguard!,
        peers: new Map([
          [K1, peer('192.0.2.5:1001', [])],
          [K2, peer(null, ['192.168.2.0/24', '192.168.3.0/24'])],
          [K3, peer(null, [])],
          [K4, peer(null, ['192.168.4.0/26'])],
        ]),
      },
    }).steps;
    expect(steps).toEqual([
      expect.objectContaining({
        op: 'wireguard-set',
        removePeers: [K3, K4].sort(),
        upsertPeers: [
          { publicKey: K1, peer: peer('192.0.2.5:1000', ['192.168.1.0/24']) },
          { publicKey: K2, peer: peer('192.0.2.6:1000', ['192.168.2.0/24']) },
        ],
      }),
    ]);
  });

  it('updates a peer whose keepalive differs (Felix never compares it, spec §9.7)', () => {
    const observed = applied();
    const steps = planDevice(
      enabled(device({ peers: new Map([[K1, peer('192.0.2.2:51820', ['198.51.100.64/26'], 25)]]) })),
      observed,
    ).steps;
    expect(steps).toEqual([
      expect.objectContaining({
        op: 'wireguard-set',
        upsertPeers: [expect.objectContaining({ publicKey: K1 })],
      }),
    ]);
  });

  it('deletes a wrong rule pointing at our table and adds ours [9, 16]', () => {
    const bad: RoutingRule = { priority: 108, mark: 20, mask: 20, invert: false, table: 1 };
    const steps = planDevice(enabled(), { ...applied(), rules: [bad] }).steps;
    expect(steps).toEqual([
      { op: 'rule-delete', family: 4, rule: bad },
      { op: 'rule-add', family: 4, rule: RULE },
    ]);
  });

  it('re-adds a rule deleted out of band [15]', () => {
    expect(planDevice(enabled(), { ...applied(), rules: [] }).steps).toEqual([
      { op: 'rule-add', family: 4, rule: RULE },
    ]);
  });

  it('keeps one copy of a duplicated rule', () => {
    expect(planDevice(enabled(), { ...applied(), rules: [RULE, RULE] }).steps).toEqual([
      { op: 'rule-delete', family: 4, rule: RULE },
    ]);
  });

  it('treats a rule with a source selector as different from ours', () => {
    const sourced = { ...RULE, src: '10.0.0.0/8' };
    expect(ops(planDevice(enabled(), { ...applied(), rules: [sourced] }).steps)).toEqual([
      'rule-delete',
      'rule-add',
    ]);
  });

  it('programs exactly one address of the family and removes the others [10]', () => {
    const steps = planDevice(enabled(), {
      ...applied(),
      addresses: ['203.0.113.5/32', '198.51.100.1/32'],
    }).steps;
    expect(steps).toEqual([
      { op: 'address-delete', family: 4, iface: 'wireguard.cali', cidr: '203.0.113.5/32' },
    ]);
  });

  it('removes every address of the family when no address is configured', () => {
    const steps = planDevice(enabled(device({ address: null })), applied()).steps;
    expect(steps).toEqual([
      { op: 'address-delete', family: 4, iface: 'wireguard.cali', cidr: '198.51.100.1/32' },
    ]);
  });

  it('fixes the MTU and brings the link up again [29]', () => {
    const observed = applied();
    const steps = planDevice(enabled(), { ...observed, link: { kind: 'tun', mtu: 1441, isUp: false } }).steps;
    expect(steps).toEqual([
      { op: 'link-set-mtu', iface: 'wireguard.cali', mtu: 1440 },
      { op: 'link-set-up', iface: 'wireguard.cali' },
    ]);
  });

  it('refuses to touch a foreign interface that holds our name (Felix: "incorrect interface type")', () => {
    const plan = planDevice(enabled(), {
      ...applied(),
      link: { kind: 'veth', mtu: 1500, isUp: true },
      wireguard: null,
    });
    expect(plan.steps).toEqual([]);
    expect(plan.blocked).toContain('not a WireGuard device');
  });

  it('replaces an orphaned wireguard-go device with one it supervises, keeping throw routes', () => {
    const observed = applied();
    const plan = planDevice(enabled(), { ...observed, link: { kind: 'tun-foreign', mtu: 1440, isUp: true } });
    expect(ops(plan.steps)).toEqual([
      'link-delete',
      'link-add',
      'link-set-mtu',
      'link-set-up',
      'address-add',
      'wireguard-set',
      'routes',
    ]);
    expect(plan.steps[6]).toEqual(
      expect.objectContaining({ replace: [{ dst: '198.51.100.64/26', target: 'device' }] }),
    );
  });

  it('turns on src_valid_mark first for v4 host encryption, and never turns it off [§5.4]', () => {
    const withHostEnc = device({ needsSrcValidMark: true });
    const steps = planDevice(enabled(withHostEnc), { ...applied(withHostEnc), srcValidMark: false }).steps;
    expect(steps).toEqual([{ op: 'enable-src-valid-mark' }]);
    expect(planDevice(enabled(), { ...applied(), srcValidMark: true }).steps).toEqual([]);
  });

  it('with routeSyncDisabled builds device, peers and rule but never touches the table (Felix’s dummy table)', () => {
    const noSync = device({ routeSync: false });
    expect(ops(planDevice(enabled(noSync), EMPTY_OBSERVED).steps)).toEqual([
      'link-add',
      'link-set-mtu',
      'link-set-up',
      'address-add',
      'wireguard-set',
      'rule-add',
    ]);
    // Routes someone else put in the table, or ours from before, stay; missing ones are not added.
    const stale = new Map([
      ['203.0.113.0/24', { dst: '203.0.113.0/24', target: 'throw' as const, protocol: 3 }],
      ['198.51.100.64/26', { dst: '198.51.100.64/26', target: 'throw' as const, protocol: 3 }],
    ]);
    expect(planDevice(enabled(noSync), { ...applied(noSync), routes: stale }).steps).toEqual([]);
  });

  it('keeps no routes in its delta model while route sync is off, and programs them all once it is on', () => {
    const noSync = device({ routeSync: false });
    expect(applied(noSync).routes.size).toBe(0);
    const steps = planDevice(enabled(), applied(noSync)).steps;
    expect(steps).toEqual([
      expect.objectContaining({
        op: 'routes',
        replace: [
          { dst: '198.51.100.0/26', target: 'throw' },
          { dst: '198.51.100.64/26', target: 'device' },
        ],
        remove: [],
      }),
    ]);
  });

  it('sets threaded NAPI on a kernel device when it differs', () => {
    const observed = applied(device(), 'wireguard');
    const steps = planDevice(enabled(device({ threaded: true })), observed).steps;
    expect(steps).toEqual([{ op: 'link-set-threaded', iface: 'wireguard.cali', threaded: true }]);
  });
});

describe('planDevice (disabled)', () => {
  it('does nothing when nothing is there [64]', () => {
    expect(planDevice(disabled, EMPTY_OBSERVED).steps).toEqual([]);
  });

  it('removes the rule, then the device, then the throw routes left behind [65, 68, 69]', () => {
    const steps = planDevice(disabled, applied()).steps;
    expect(steps).toEqual([
      { op: 'rule-delete', family: 4, rule: RULE },
      { op: 'link-delete', iface: 'wireguard.cali' },
      {
        op: 'routes',
        family: 4,
        table: 1,
        iface: 'wireguard.cali',
        protocol: 0,
        replace: [],
        remove: [{ dst: '198.51.100.0/26', target: 'throw', protocol: 3 }],
      },
    ]);
  });

  it('with routeSyncDisabled removes rule and device but leaves the table’s routes alone', () => {
    const steps = planDevice(
      { kind: 'disabled', teardown: { family: 4, iface: 'wireguard.cali', table: 1, routeSync: false } },
      applied(),
    ).steps;
    expect(steps).toEqual([
      { op: 'rule-delete', family: 4, rule: RULE },
      { op: 'link-delete', iface: 'wireguard.cali' },
    ]);
  });

  it('never deletes a non-WireGuard link that happens to have the name (unlike Felix, spec §9.11)', () => {
    const steps = planDevice(disabled, {
      ...EMPTY_OBSERVED,
      link: { kind: 'veth', mtu: 1500, isUp: true },
    }).steps;
    expect(steps).toEqual([]);
  });
});
