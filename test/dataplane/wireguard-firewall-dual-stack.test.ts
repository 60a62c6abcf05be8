// The WireGuard firewall pieces with both families on, in the kernel: the facts alp-node gets
// from a dual-stack WireGuard manager (wireguard.cali on 51820, wg-v6.cali on 51821) go through
// node/wireguard-firewall.ts and the renderer into our table in a node network namespace, and
// real packets from a pod (a namespace behind a cali veth, IPv4 and IPv6) show each family's
// verdict: its WireGuard port is accepted to the node's own address (other pod → host traffic is
// dropped, DefaultEndpointToHostAction Drop), and strict mode drops pod traffic to the peer's
// CIDRs that leaves by the underlay in the clear (the userspace device being down) while traffic
// that leaves by the family's own device is left alone; with host encryption, packets arriving from
// the underlay carry the WireGuard mark and a pod's do not. The "device" here is a veth to the peer
// under the v6 device's name (this kernel may have no WireGuard module, and the rules match only
// the name), so traffic through it really arrives and is answered.
// Needs root and nftables.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { DEFAULT_ENFORCEMENT_CONFIG, renderFull } from '../../dataplane/core/index.js';
import { ALLOW_ALL, endpoint, state } from '../../dataplane/core/states.cases.js';
import { wireguardFirewall } from '../../node/wireguard-firewall.js';
import {
  createPod,
  createUnderlay,
  deleteNamespace,
  nsRun,
  run,
  spawnInNamespace,
  type NsProcess,
  type Pod,
  type Underlay,
} from '../harness/netns.js';
import { waitFor } from '../harness/kube.js';
import { describeWithNft } from './nft-gate.js';

const IFACE = 'cali0d0e0a0b0c1';
const POD4 = '198.51.100.10';
const POD6 = '2001:db8:100:1::10';
const PEER4 = '198.51.100.74';
/** The peer's IPv4 pod CIDR: its WireGuard allowed IPs. */
const PEER_CIDR4 = '198.51.100.64/26';
const PEER6 = '2001:db8:100:2::10';
const PEER_CIDR6 = '2001:db8:100:2::/64';

/** Answers every UDP datagram on the given ports, both families. */
const UDP_ECHO = `
const dgram = require('node:dgram');
const ports = process.argv.slice(1).map(Number);
let n = 0;
for (const p of ports) {
  const s = dgram.createSocket({ type: 'udp6', ipv6Only: false });
  s.on('message', (m, r) => s.send('ok', r.port, r.address));
  s.bind(p, '::', () => { if (++n === ports.length) console.log('ready'); });
}
`;

/** Sends to host:port until an answer comes (exit 0) or 1.5 s pass (exit 1). */
const UDP_PROBE = `
const dgram = require('node:dgram');
const [host, port] = [process.argv[1], Number(process.argv[2])];
const s = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
const send = () => s.send('ping', port, host, () => {});
const again = setInterval(send, 200);
send();
s.on('message', () => process.exit(0));
setTimeout(() => process.exit(1), 1500);
`;

describeWithNft('WireGuard firewall with both families (root, network namespaces)', () => {
  let underlay: Underlay;
  let pod: Pod;
  let echo: NsProcess | null = null;
  const node = (): string => underlay.nodes[0]!.ns;

  const udp = (host: string, port: number): Promise<boolean> =>
    nsRun(pod.ns, [process.execPath, '-e', UDP_PROBE, host, String(port)]).then(
      () => true,
      () => false,
    );
  const ping = (host: string): Promise<boolean> =>
    nsRun(pod.ns, ['ping', '-c', '1', '-W', '1', host]).then(
      () => true,
      () => false,
    );
  const strictDrops = async (family: 'ip' | 'ip6'): Promise<number> => {
    const text = await nsRun(node(), ['nft', 'list', 'chain', 'inet', 'alp-mesh', 'hook-forward']);
    const line = text
      .split('\n')
      .find((l) => l.includes('wireguard strict') && l.includes(` ${family} daddr`));
    const m = /counter packets (\d+)/.exec(line ?? '');
    if (m === null) throw new Error(`no ${family} strict rule in:\n${text}`);
    return Number(m[1]);
  };

  beforeAll(async () => {
    underlay = await createUnderlay(2);
    const [n1, n2] = underlay.nodes as [Underlay['nodes'][0], Underlay['nodes'][0]];
    pod = await createPod(n1.ns, { ip: POD4, ip6: POD6, hostSide: IFACE });
    // The peer node: its pod addresses, and the way back to ours.
    await run(['ip', '-n', n2.ns, 'link', 'set', 'lo', 'up']);
    await run(['ip', '-n', n2.ns, 'addr', 'add', `${PEER4}/32`, 'dev', 'lo']);
    await run(['ip', '-n', n2.ns, '-6', 'addr', 'add', `${PEER6}/128`, 'dev', 'lo', 'nodad']);
    await run(['ip', '-n', n2.ns, 'route', 'add', `${POD4}/32`, 'via', n1.hostIp]);
    await run(['ip', '-n', n2.ns, '-6', 'route', 'add', `${POD6}/128`, 'via', n1.hostIp6]);
    // The plaintext path to the peer's pods (what is left when the tunnel's routes are gone).
    await run(['ip', '-n', n1.ns, 'route', 'add', PEER_CIDR4, 'via', n2.hostIp]);
    await run(['ip', '-n', n1.ns, '-6', 'route', 'add', PEER_CIDR6, 'via', n2.hostIp6]);
    await run([
      'ip',
      '-n',
      n1.ns,
      'link',
      'add',
      'wg-v6.cali',
      'type',
      'veth',
      'peer',
      'name',
      'wgp',
      'netns',
      n2.ns,
    ]);
    await run(['ip', '-n', n1.ns, '-6', 'addr', 'add', 'fe80::1/64', 'dev', 'wg-v6.cali', 'nodad']);
    await run(['ip', '-n', n2.ns, '-6', 'addr', 'add', 'fe80::2/64', 'dev', 'wgp', 'nodad']);
    await run(['ip', '-n', n1.ns, 'link', 'set', 'wg-v6.cali', 'up']);
    await run(['ip', '-n', n2.ns, 'link', 'set', 'wgp', 'up']);
    const server = spawnInNamespace(n1.ns, [process.execPath, '-e', UDP_ECHO, '51820', '51821', '51822']);
    echo = server;
    await waitFor('the UDP echo on the node', () => (server.lines.includes('ready') ? true : undefined));

    const fw = wireguardFirewall(
      {
        families: [
          { family: 4, interfaceName: 'wireguard.cali', listenPort: 51820, peerCidrs: [PEER_CIDR4] },
          { family: 6, interfaceName: 'wg-v6.cali', listenPort: 51821, peerCidrs: [PEER_CIDR6] },
        ],
        hostEncryptionEnabled: true,
        firewallMark: 0x200000, // Felix's default
      },
      { strict: true },
    );
    const ep = { ...endpoint('default', 'a', IFACE, POD4, []), ipv6Nets: [`${POD6}/128`] };
    const s = state({
      config: { ...DEFAULT_ENFORCEMENT_CONFIG, wireguard: fw },
      endpoints: [ep],
      profiles: [
        ['kns.default', ALLOW_ALL],
        ['ksa.default.default', ALLOW_ALL],
      ],
    });
    await nsRun(n1.ns, ['nft', '-f', '-'], renderFull(s));
  });

  afterAll(async () => {
    await echo?.stop();
    if (pod !== undefined) await deleteNamespace(pod.ns);
    await underlay?.destroy();
  });

  it("accepts each family's WireGuard port to the node's own address; other ports stay dropped", async () => {
    const [n1] = underlay.nodes;
    expect(await udp(n1!.hostIp, 51820)).toBe(true);
    expect(await udp(n1!.hostIp6, 51821)).toBe(true);
    expect(await udp(n1!.hostIp6, 51822)).toBe(false);
    expect(await udp(n1!.hostIp, 51822)).toBe(false);
  });

  it("strict mode drops pod traffic to the peer's v4 and v6 CIDRs that leaves in the clear", async () => {
    const before = [await strictDrops('ip'), await strictDrops('ip6')];
    expect(await ping(PEER4)).toBe(false);
    expect(await ping(PEER6)).toBe(false);
    expect(await strictDrops('ip')).toBeGreaterThan(before[0]!);
    expect(await strictDrops('ip6')).toBeGreaterThan(before[1]!);
    // The peer is reachable otherwise: the drop is ours, not the network's.
    expect(await nsRun(node(), ['ping', '-c', '1', '-W', '1', PEER6])).toContain('1 received');
  });

  it('with host encryption, marks what arrives from the underlay for WireGuard, and not what a pod sends', async () => {
    const [n1, n2] = underlay.nodes as [Underlay['nodes'][0], Underlay['nodes'][0]];
    // A table of the test's own, after ours on input, counts the WireGuard port's packets and the
    // marked ones (Felix's host-encryption mark, 0x200000).
    await nsRun(
      n1.ns,
      ['nft', '-f', '-'],
      [
        'table inet mark-probe {',
        '  chain in {',
        '    type filter hook input priority 10; policy accept;',
        '    udp dport 51820 meta mark & 0x00200000 == 0x00200000 counter comment "marked"',
        '    udp dport 51820 counter comment "all"',
        '  }',
        '}',
      ].join('\n'),
    );
    const counts = async (): Promise<{ marked: number; all: number }> => {
      const text = await nsRun(n1.ns, ['nft', 'list', 'chain', 'inet', 'mark-probe', 'in']);
      const count = (c: string) => Number(new RegExp(`packets (\\d+) .*comment "${c}"`).exec(text)?.[1]);
      return { marked: count('marked'), all: count('all') };
    };
    try {
      // From the peer node: the probe exits non-zero (and nsRun throws) unless the echo answers.
      await nsRun(n2.ns, [process.execPath, '-e', UDP_PROBE, n1.hostIp, '51820']);
      const fromUnderlay = await counts();
      expect(fromUnderlay.marked).toBeGreaterThan(0);
      expect(fromUnderlay.marked).toBe(fromUnderlay.all);
      expect(await udp(n1.hostIp, 51820)).toBe(true); // from the pod
      const fromPod = await counts();
      expect(fromPod.all).toBeGreaterThan(fromUnderlay.all);
      expect(fromPod.marked).toBe(fromUnderlay.marked);
    } finally {
      await nsRun(n1.ns, ['nft', 'delete', 'table', 'inet', 'mark-probe']);
    }
  });

  it('leaves v6 peer traffic that goes into the v6 device alone', async () => {
    const routePeer6 = (...via: string[]): Promise<string> =>
      run(['ip', '-n', node(), '-6', 'route', 'replace', PEER_CIDR6, 'via', ...via]);
    await routePeer6('fe80::2', 'dev', 'wg-v6.cali');
    try {
      const before = await strictDrops('ip6');
      expect(await ping(PEER6)).toBe(true);
      expect(await strictDrops('ip6')).toBe(before);
    } finally {
      await routePeer6(underlay.nodes[1]!.hostIp6);
    }
  });
});
