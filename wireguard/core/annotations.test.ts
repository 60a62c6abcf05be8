import { describe, expect, it } from 'vitest';
import { annotationChanges, type FamilyStatus } from './annotations.js';

const KEY = Buffer.alloc(32, 5).toString('base64');
const v4 = (o: Partial<FamilyStatus> = {}): FamilyStatus => ({
  family: 4,
  enabled: true,
  publicKey: KEY,
  selfAddress: { cidr: '198.51.100.1/32', ip: '198.51.100.1', source: 'pod-cidr' },
  peers: 0,
  ...o,
});

describe('annotationChanges', () => {
  it('publishes our key and the address we derived when enabled (Calico’s KDD annotations)', () => {
    expect(annotationChanges({}, [v4()])).toEqual({
      'projectcalico.org/WireguardPublicKey': KEY,
      'projectcalico.org/IPv4WireguardInterfaceAddr': '198.51.100.1',
    });
  });

  it('changes nothing when the Node already says it', () => {
    expect(
      annotationChanges(
        {
          'projectcalico.org/WireguardPublicKey': KEY,
          'projectcalico.org/IPv4WireguardInterfaceAddr': '198.51.100.1',
        },
        [v4()],
      ),
    ).toBeNull();
  });

  it('rewrites a key someone changed on the Node: the device key wins (spec §2.2)', () => {
    expect(
      annotationChanges({ 'projectcalico.org/WireguardPublicKey': 'tampered' }, [v4({ selfAddress: null })]),
    ).toEqual({
      'projectcalico.org/WireguardPublicKey': KEY,
    });
  });

  it('leaves an address allocated by someone else alone, and never publishes a host address', () => {
    const external = v4({ selfAddress: { cidr: '203.0.113.9/32', ip: '203.0.113.9', source: 'annotation' } });
    expect(annotationChanges({ 'projectcalico.org/WireguardPublicKey': KEY }, [external])).toBeNull();
    const host = v4({ selfAddress: { cidr: '192.0.2.1/32', ip: '192.0.2.1', source: 'host-address' } });
    expect(annotationChanges({ 'projectcalico.org/WireguardPublicKey': KEY }, [host])).toBeNull();
  });

  it('removes the key and address of a disabled family, and only those', () => {
    const current = {
      'projectcalico.org/WireguardPublicKey': KEY,
      'projectcalico.org/IPv4WireguardInterfaceAddr': '198.51.100.1',
      'projectcalico.org/WireguardPublicKeyV6': KEY,
      other: 'x',
    };
    expect(annotationChanges(current, [v4({ enabled: false })])).toEqual({
      'projectcalico.org/WireguardPublicKey': null,
      'projectcalico.org/IPv4WireguardInterfaceAddr': null,
    });
  });

  it('uses the V6 names for IPv6', () => {
    expect(
      annotationChanges({}, [
        v4({ family: 6, selfAddress: { cidr: '2001:db8::1/128', ip: '2001:db8::1', source: 'pod-cidr' } }),
      ]),
    ).toEqual({
      'projectcalico.org/WireguardPublicKeyV6': KEY,
      'projectcalico.org/IPv6WireguardInterfaceAddr': '2001:db8::1',
    });
  });
});
