import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from './config.js';
import type { DesiredDevice, DesiredState, DevicePeer } from './device-state.js';
import { familyFactsOf, firewallFactsOf, NO_WIREGUARD_FACTS, sameFirewallFacts } from './firewall-facts.js';

function peer(...allowedIps: string[]): DevicePeer {
  return { endpoint: '192.0.2.2:51820', allowedIps, persistentKeepaliveSeconds: 0 };
}

function enabled(family: 4 | 6, iface: string, port: number, peers: DevicePeer[]): DesiredState {
  const device: DesiredDevice = {
    family,
    iface,
    mtu: 1420,
    listenPort: port,
    firewallMark: 0x200000,
    publicKey: 'self',
    address: null,
    peers: new Map(peers.map((p, i) => [`key${i}`, p])),
    table: 1,
    routeProtocol: 3,
    routes: new Map(),
    routeSync: true,
    rule: { priority: 99, mark: 0x200000, mask: 0x200000, invert: true, table: 1 },
    threaded: false,
    needsSrcValidMark: false,
  };
  return { kind: 'enabled', device };
}

describe('familyFactsOf', () => {
  it('is null for a disabled family', () => {
    const disabled: DesiredState = {
      kind: 'disabled',
      teardown: { family: 4, iface: 'wireguard.cali', table: 1, routeSync: true },
    };
    expect(familyFactsOf(disabled)).toBeNull();
  });

  it('takes device, port and every peer allowed IP once, sorted', () => {
    const d = enabled(4, 'wg0', 51999, [peer('10.70.1.0/26', '10.70.0.0/26'), peer('10.70.0.0/26')]);
    expect(familyFactsOf(d)).toEqual({
      family: 4,
      interfaceName: 'wg0',
      listenPort: 51999,
      peerCidrs: ['10.70.0.0/26', '10.70.1.0/26'],
    });
  });

  it('has no CIDRs while there are no keyed peers', () => {
    expect(familyFactsOf(enabled(6, 'wg-v6.cali', 51821, []))?.peerCidrs).toEqual([]);
  });
});

describe('firewallFactsOf', () => {
  const v4 = familyFactsOf(enabled(4, 'wireguard.cali', 51820, [peer('10.70.0.0/26')]));
  const v6 = familyFactsOf(enabled(6, 'wg-v6.cali', 51821, [peer('fd00:70::/122')]));

  it('says nothing while no family is enabled or no config is known', () => {
    expect(firewallFactsOf(DEFAULT_CONFIG, [null, null])).toEqual(NO_WIREGUARD_FACTS);
    expect(firewallFactsOf(null, [v4, null])).toEqual(NO_WIREGUARD_FACTS);
  });

  it('lists enabled families v4 first with the host-encryption setting and mark', () => {
    const f = firewallFactsOf({ ...DEFAULT_CONFIG, hostEncryptionEnabled: true, firewallMark: 0x400000 }, [
      v6,
      v4,
    ]);
    expect(f.families.map((x) => x.family)).toEqual([4, 6]);
    expect(f.hostEncryptionEnabled).toBe(true);
    expect(f.firewallMark).toBe(0x400000);
  });

  it('compares by content', () => {
    const a = firewallFactsOf(DEFAULT_CONFIG, [v4, null]);
    const b = firewallFactsOf(DEFAULT_CONFIG, [{ ...v4!, peerCidrs: [...v4!.peerCidrs] }, null]);
    expect(sameFirewallFacts(a, b)).toBe(true);
    expect(sameFirewallFacts(a, firewallFactsOf(DEFAULT_CONFIG, [v4, v6]))).toBe(false);
  });
});
