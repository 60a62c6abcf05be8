// Synthetic Nodes for the WireGuard benchmark: node i has host address 198.18.<i/256>.<i%256>
// and pod CIDR 198.19.<(8i)/256>.<(8i)%256>/29 (both in 198.18.0.0/15, RFC 2544's benchmark
// range; /29 so that 8,000 nodes fit).
import type { NodeInfo } from '../../../wireguard/core/node-info.js';

export function syntheticNode(i: number, publicKey: string | null): NodeInfo {
  if (i >= 8192) throw new Error('at most 8191 synthetic nodes');
  const host = `198.18.${i >> 8}.${i & 255}`;
  const pod = `198.19.${(i * 8) >> 8}.${(i * 8) & 255}/29`;
  return {
    name: i === 0 ? 'self' : `node-${i}`,
    v4: { hostAddress: host, publicKey, interfaceAddress: null },
    v6: { hostAddress: null, publicKey: null, interfaceAddress: null },
    podCidrs: [pod],
    hostAddresses: [host],
  };
}
