// Checks an EnforcementConfig before it reaches the renderer: every field ends up in nft text,
// so a bad one would make every transaction fail. The shell rejects such a config once, with
// the reason, instead.
import type { EnforcementConfig } from './model.js';
import { isValidIfaceName } from './names.js';

function isSingleBit(n: number): boolean {
  return Number.isInteger(n) && n > 0 && n <= 0x80000000 && (n & (n - 1)) === 0;
}

/** Why the config cannot be rendered, or null when it can. */
export function enforcementConfigProblem(c: EnforcementConfig): string | null {
  if (!/^[A-Za-z][A-Za-z0-9_.-]{0,63}$/.test(c.tableName))
    return `table name ${JSON.stringify(c.tableName)} is not a plain nft name`;
  if (!/^[A-Za-z0-9_.-]{1,14}$/.test(c.interfacePrefix)) {
    return `interface prefix ${JSON.stringify(c.interfacePrefix)} must be 1-14 of letters, digits, '_', '.', '-'`;
  }
  if (!['Drop', 'Accept', 'Return'].includes(c.defaultEndpointToHostAction)) {
    return `defaultEndpointToHostAction ${JSON.stringify(c.defaultEndpointToHostAction)} is not Drop, Accept or Return`;
  }
  const { accept, pass } = c.marks;
  if (!isSingleBit(accept) || !isSingleBit(pass) || accept === pass)
    return 'accept and pass marks must be two distinct single bits';
  const encap = c.workloadEncap;
  if (
    encap !== undefined &&
    (!Number.isInteger(encap.vxlanPort) || encap.vxlanPort < 1 || encap.vxlanPort > 65535)
  ) {
    return `VXLAN port ${encap.vxlanPort} is out of range`;
  }
  const wg = c.wireguard;
  if (wg !== null) {
    for (const dev of wg.v6 === undefined ? [wg] : [wg, wg.v6]) {
      if (!Number.isInteger(dev.listenPort) || dev.listenPort < 1 || dev.listenPort > 65535)
        return `WireGuard port ${dev.listenPort} is out of range`;
      if (dev.interfaceName !== '' && !isValidIfaceName(dev.interfaceName))
        return `WireGuard interface name ${JSON.stringify(dev.interfaceName)} is not valid`;
    }
    const m = wg.hostEncryptionMark;
    if (!Number.isInteger(m) || m < 0 || m > 0xffffffff || (m & (accept | pass)) !== 0) {
      return 'WireGuard host encryption mark must be a 32-bit value apart from the accept and pass marks';
    }
  }
  return null;
}
