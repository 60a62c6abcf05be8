import { describe, expect, it } from 'vitest';
import { DEFAULT_ENFORCEMENT_CONFIG, enforcementConfigProblem } from '../dataplane/core/index.js';
import type { WireguardFamilyFacts, WireguardFirewallFacts } from '../wireguard/index.js';
import { wireguardFirewall } from './wireguard-firewall.js';

const V4: WireguardFamilyFacts = {
  family: 4,
  interfaceName: 'wireguard.cali',
  listenPort: 51820,
  peerCidrs: ['10.70.0.0/26', '10.70.1.0/26'],
};
const V6: WireguardFamilyFacts = {
  family: 6,
  interfaceName: 'wg-v6.cali',
  listenPort: 51821,
  peerCidrs: ['fd00:70::/122'],
};
const facts = (
  families: WireguardFamilyFacts[],
  hostEncryptionEnabled = false,
  firewallMark = 0x200000,
): WireguardFirewallFacts => ({ families, hostEncryptionEnabled, firewallMark });

describe('wireguardFirewall', () => {
  const cases: {
    name: string;
    facts: WireguardFirewallFacts;
    strict: boolean;
    want: ReturnType<typeof wireguardFirewall>;
  }[] = [
    { name: 'WireGuard off: nothing for it', facts: facts([]), strict: true, want: null },
    {
      name: 'v4: its port, device and peer CIDRs; no mark without host encryption',
      facts: facts([V4]),
      strict: false,
      want: {
        listenPort: 51820,
        interfaceName: 'wireguard.cali',
        strict: false,
        peerPodCidrs: ['10.70.0.0/26', '10.70.1.0/26'],
        hostEncryptionMark: 0,
      },
    },
    {
      name: 'host encryption: the WireGuard mark bit is the incoming mark; strict passed through',
      facts: facts([V4], true, 0x200000),
      strict: true,
      want: {
        listenPort: 51820,
        interfaceName: 'wireguard.cali',
        strict: true,
        peerPodCidrs: ['10.70.0.0/26', '10.70.1.0/26'],
        hostEncryptionMark: 0x200000,
      },
    },
    {
      name: 'v6 only: the v6 device, port and CIDRs',
      facts: facts([V6]),
      strict: true,
      want: {
        listenPort: 51821,
        interfaceName: 'wg-v6.cali',
        strict: true,
        peerPodCidrs: ['fd00:70::/122'],
        hostEncryptionMark: 0,
      },
    },
    {
      // A v6 CIDR next to the v4 device would make strict mode drop v6 traffic going into wg-v6.cali.
      name: 'dual stack: the v4 device with v4 CIDRs only',
      facts: facts([V4, V6]),
      strict: true,
      want: {
        listenPort: 51820,
        interfaceName: 'wireguard.cali',
        strict: true,
        peerPodCidrs: ['10.70.0.0/26', '10.70.1.0/26'],
        hostEncryptionMark: 0,
      },
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const fw = wireguardFirewall(c.facts, { strict: c.strict });
      expect(fw).toEqual(c.want);
      // Whatever it gives, the renderer accepts with the default marks.
      expect(enforcementConfigProblem({ ...DEFAULT_ENFORCEMENT_CONFIG, wireguard: fw })).toBeNull();
    });
  }
});
