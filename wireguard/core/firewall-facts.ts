// What a node firewall needs to know about WireGuard (spec §5.4): per enabled family the device,
// its listen port and the CIDRs routed into it, plus the host-encryption mark. Plain data, so
// node/ can adapt it for its own firewall without wireguard/ knowing that firewall.
import type { IpFamily } from '../../calico/ip.js';
import type { WireguardConfig } from './config.js';
import type { DesiredState } from './device-state.js';

export interface WireguardFamilyFacts {
  readonly family: IpFamily;
  readonly interfaceName: string;
  readonly listenPort: number;
  /** Allowed IPs of the peers that have a valid, unique key; canonical, sorted, deduplicated. */
  readonly peerCidrs: readonly string[];
}

export interface WireguardFirewallFacts {
  /** Enabled families only, v4 first; empty when WireGuard is off. */
  readonly families: readonly WireguardFamilyFacts[];
  readonly hostEncryptionEnabled: boolean;
  /** The WireGuard mark bit M (spec §1.1); incoming packets get it with host encryption. */
  readonly firewallMark: number;
}

export const NO_WIREGUARD_FACTS: WireguardFirewallFacts = {
  families: [],
  hostEncryptionEnabled: false,
  firewallMark: 0,
};

/** A family's facts from the device it is about to program; null when the family is disabled. */
export function familyFactsOf(desired: DesiredState): WireguardFamilyFacts | null {
  if (desired.kind !== 'enabled') return null;
  const d = desired.device;
  const cidrs = new Set<string>();
  for (const p of d.peers.values()) for (const c of p.allowedIps) cidrs.add(c);
  return {
    family: d.family,
    interfaceName: d.iface,
    listenPort: d.listenPort,
    peerCidrs: [...cidrs].sort(),
  };
}

export function firewallFactsOf(
  config: WireguardConfig | null,
  families: readonly (WireguardFamilyFacts | null)[],
): WireguardFirewallFacts {
  const enabled = families
    .filter((f): f is WireguardFamilyFacts => f !== null)
    .sort((a, b) => a.family - b.family);
  if (config === null || enabled.length === 0) return NO_WIREGUARD_FACTS;
  return {
    families: enabled,
    hostEncryptionEnabled: config.hostEncryptionEnabled,
    firewallMark: config.firewallMark,
  };
}

export function sameFirewallFacts(a: WireguardFirewallFacts, b: WireguardFirewallFacts): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
