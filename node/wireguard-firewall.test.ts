import { describe, expect, it } from 'vitest';
import { DEFAULT_ENFORCEMENT_CONFIG, enforcementConfigProblem, renderFull } from '../dataplane/core/index.js';
import { overviewState } from '../dataplane/core/states.cases.js';
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
      name: 'dual stack: the v4 device, the v6 device beside it, both families’ CIDRs',
      facts: facts([V4, V6], true),
      strict: true,
      want: {
        listenPort: 51820,
        interfaceName: 'wireguard.cali',
        strict: true,
        peerPodCidrs: ['10.70.0.0/26', '10.70.1.0/26', 'fd00:70::/122'],
        hostEncryptionMark: 0x200000,
        v6: { listenPort: 51821, interfaceName: 'wg-v6.cali' },
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

describe('the dual-stack WireGuard firewall, rendered', () => {
  const render = (fw: ReturnType<typeof wireguardFirewall>): string =>
    renderFull({ ...overviewState(), config: { ...DEFAULT_ENFORCEMENT_CONFIG, wireguard: fw } });
  const text = render(wireguardFirewall(facts([V4, V6], true), { strict: true }));

  it.each([
    [
      'accepts each family’s port for that family',
      'meta nfproto ipv4 meta l4proto 17 th dport 51820 fib daddr type local counter accept comment "wireguard"',
    ],
    [
      '',
      'meta nfproto ipv6 meta l4proto 17 th dport 51821 fib daddr type local counter accept comment "wireguard"',
    ],
    [
      'strict: v4 peer CIDRs must leave by the v4 device',
      'iifname "cali*" oifname != "wireguard.cali" ip daddr @wg-peer-cidrs-4 counter drop',
    ],
    [
      'strict: v6 peer CIDRs by the v6 device',
      'iifname "cali*" oifname != "wg-v6.cali" ip6 daddr @wg-peer-cidrs-6 counter drop',
    ],
    ['host encryption marks nothing that arrives on either device', 'iifname "wireguard.cali" return'],
    ['', 'iifname "wg-v6.cali" return'],
    [
      'v6 peer CIDRs are in the v6 set',
      'type ipv6_addr\n\t\tflags interval\n\t\telements = { fd00:70::/122 }',
    ],
  ])('%s: %s', (_why, line) => {
    expect(text).toContain(line);
  });

  it('never drops v6 peer traffic for not leaving by the v4 device', () => {
    expect(text).not.toContain('oifname != "wireguard.cali" ip6');
  });

  it('one family alone keeps the single, family-less port rule', () => {
    const v6only = render(wireguardFirewall(facts([V6]), { strict: true }));
    expect(v6only).toContain('meta l4proto 17 th dport 51821 fib daddr type local counter accept');
    expect(v6only).not.toMatch(/meta nfproto \w+ meta l4proto 17 th dport/);
    expect(v6only).toContain('oifname != "wg-v6.cali" ip6 daddr @wg-peer-cidrs-6');
  });

  it('refuses a bad v6 device name or port', () => {
    const fw = wireguardFirewall(facts([V4, V6]), { strict: true })!;
    for (const v6 of [
      { listenPort: 51821, interfaceName: 'a/b' },
      { listenPort: 0, interfaceName: 'wg-v6.cali' },
    ])
      expect(
        enforcementConfigProblem({ ...DEFAULT_ENFORCEMENT_CONFIG, wireguard: { ...fw, v6 } }),
      ).not.toBeNull();
  });
});
