import { describe, expect, it } from 'vitest';
import { enforcementConfigProblem } from './config-check.js';
import type { EnforcementConfig } from './model.js';
import { DEFAULT_ENFORCEMENT_CONFIG } from './model.js';

const WG = {
  listenPort: 51820,
  interfaceName: 'wireguard.cali',
  strict: true,
  peerPodCidrs: [],
  hostEncryptionMark: 0x100000,
};

describe('enforcementConfigProblem', () => {
  it('accepts the defaults and a WireGuard config like Felix’s', () => {
    expect(enforcementConfigProblem(DEFAULT_ENFORCEMENT_CONFIG)).toBeNull();
    expect(enforcementConfigProblem({ ...DEFAULT_ENFORCEMENT_CONFIG, wireguard: WG })).toBeNull();
  });

  it.each<[string, Partial<EnforcementConfig>]>([
    ['a table name nft would parse as something else', { tableName: 'alp mesh' }],
    ['an empty interface prefix (would match every interface)', { interfacePrefix: '' }],
    ['a prefix with a quote', { interfacePrefix: 'ca"li' }],
    ['an unknown endpoint-to-host action', { defaultEndpointToHostAction: 'Reject' as 'Drop' }],
    ['overlapping marks', { marks: { accept: 0x10000, pass: 0x10000 } }],
    ['a multi-bit mark', { marks: { accept: 0x30000, pass: 0x40000 } }],
    ['a WireGuard port out of range', { wireguard: { ...WG, listenPort: 70000 } }],
    ['a WireGuard mark overlapping ours', { wireguard: { ...WG, hostEncryptionMark: 0x10000 } }],
    ['a bad WireGuard interface name', { wireguard: { ...WG, interfaceName: 'a/b' } }],
  ])('refuses %s', (_what, change) => {
    expect(enforcementConfigProblem({ ...DEFAULT_ENFORCEMENT_CONFIG, ...change })).not.toBeNull();
  });
});
