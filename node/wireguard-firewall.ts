// The WireGuard manager's firewall facts as the nftables renderer's WireguardFirewall. With one
// family on, its device and port are the firewall's; with both, the IPv4 device is the main one
// and the IPv6 device comes as `v6`, so that each family's port is accepted, strict mode checks
// each family's peer CIDRs against that family's device, and host encryption skips both devices.
import type { WireguardFirewall } from '../dataplane/core/index.js';
import type { WireguardFirewallFacts } from '../wireguard/index.js';

export interface WireguardFirewallOptions {
  /** alp-node's strict mode (not in Calico): drop pod traffic to peers' CIDRs not via the tunnel. */
  readonly strict: boolean;
}

/** null when WireGuard is off (no family enabled): the renderer then adds nothing for it. */
export function wireguardFirewall(
  facts: WireguardFirewallFacts,
  opts: WireguardFirewallOptions,
): WireguardFirewall | null {
  const [main, ...more] = facts.families;
  if (main === undefined) return null;
  const v6 = more.find((f) => f.family === 6);
  return {
    listenPort: main.listenPort,
    interfaceName: main.interfaceName,
    strict: opts.strict,
    peerPodCidrs: [main, ...more].flatMap((f) => f.peerCidrs),
    hostEncryptionMark: facts.hostEncryptionEnabled ? facts.firewallMark : 0,
    ...(v6 === undefined ? {} : { v6: { listenPort: v6.listenPort, interfaceName: v6.interfaceName } }),
  };
}
