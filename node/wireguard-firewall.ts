// The WireGuard manager's firewall facts as the nftables renderer's WireguardFirewall. The
// renderer takes one device and port; with both families on, the v4 device is the one it gets,
// and strict mode then covers only v4 peer CIDRs (a v6 CIDR there would be dropped on its way
// into wg-v6.cali, which is not "the" device).
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
  const fam = facts.families[0];
  if (fam === undefined) return null;
  return {
    listenPort: fam.listenPort,
    interfaceName: fam.interfaceName,
    strict: opts.strict,
    peerPodCidrs: fam.peerCidrs,
    hostEncryptionMark: facts.hostEncryptionEnabled ? facts.firewallMark : 0,
  };
}
