// A three-node WireGuard mesh for tests: node namespaces on a 192.0.2.0/24 underlay, a pod
// namespace behind each node (pod CIDR 198.51.100.<64·(i-1)>/26, pod IP .10 in it), plaintext
// underlay routes between pod CIDRs (what the mesh must take over), one `bin/alp-node` per node
// against the envtest API server, and probes of what a user would check: `wg show dump`, routes,
// rules, annotations, ping, and an underlay capture. Every line the agents log is kept, and the
// directory with their keys and the captures is removed by destroy().
import { randomBytes } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  CoreV1Api,
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
  Watch,
  type KubeConfig,
} from '@kubernetes/client-node';
import { createNode, uniqueName, waitFor } from '../harness/kube.js';
import {
  createPod,
  createUnderlay,
  deleteNamespace,
  nsRun,
  run,
  spawnInNamespace,
  startLoopbackRelay,
  type LoopbackRelay,
  type NsProcess,
  type Pod,
  type Underlay,
  type UnderlayNode,
} from '../harness/netns.js';
import { REPO_ROOT } from '../harness/process.js';
import { makeTempDir } from '../harness/temp-dirs.js';
import type { ObservedRoute, RoutingRule } from '../../wireguard/core/device-state.js';
import { parseRoutes, parseRules } from '../../wireguard/core/ip-json.js';
import { keyFilePath } from '../../wireguard/shell/key-store.js';
import { publicKeyOf } from '../../wireguard/core/keys.js';
import { ANNOTATION_PUBLIC_KEY_V4, ANNOTATION_PUBLIC_KEY_V6 } from '../../wireguard/core/node-info.js';
import { parseWgDump, type WgDump } from '../../wireguard/core/wg-dump.js';
import { withSocketDir } from '../../wireguard/shell/runner.js';

export const IFACE = 'wireguard.cali';
export const IFACE6 = 'wg-v6.cali';
export const PING_PATTERN = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
const CALICO = { group: 'crd.projectcalico.org', version: 'v1' };
const MERGE = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

export interface MeshNode {
  readonly index: number;
  readonly name: string;
  readonly net: UnderlayNode;
  readonly pod: Pod;
  readonly podCidr: string;
  readonly stateDir: string;
  readonly wgDir: string;
  readonly extraArgs: readonly string[];
  agent: NsProcess | null;
}

/** Where this mesh's pod CIDRs (and the felix-config test's foreign route) live. */
const MESH_SPACE = ['198.51.100.', '203.0.113.', '2001:db8:100:'];

export const podCidr = (i: number): string => `198.51.100.${64 * (i - 1)}/26`;
export const podIp = (i: number): string => `198.51.100.${64 * (i - 1) + 10}`;
export const podCidr6 = (i: number): string => `2001:db8:100:${i}::/64`;
export const podIp6 = (i: number): string => `2001:db8:100:${i}::10`;

/** pcap filter for WireGuard's UDP between nodes: port 51820 for IPv4, 51821 for IPv6 (spec §1.1, §6). */
export const wireguardUdp = (family: 4 | 6 = 4): string =>
  family === 4 ? 'ip and udp port 51820' : 'ip6 and udp port 51821';

/** Whether tcpdump's lines show a WireGuard UDP packet from node `from` to node `to`. */
export function hasWireguardPacket(
  lines: readonly string[],
  from: number,
  to: number,
  family: 4 | 6 = 4,
): boolean {
  const sent =
    family === 4
      ? `IP 192.0.2.${from}.51820 > 192.0.2.${to}.51820: UDP`
      : `IP6 2001:db8::${from}.51821 > 2001:db8::${to}.51821: UDP`;
  return lines.some((l) => l.includes(sent));
}

/** A packet capture on the underlay bridge. */
export interface Capture {
  /** Every frame that crossed the bridge, as tcpdump saved them. */
  readonly raw: Buffer;
  /** tcpdump's one-line summaries of the saved packets that match a pcap filter. */
  packets(filter: string): Promise<string[]>;
}

/** A private key as found in a node's key file, in the forms alp-node handles it. */
export interface PrivateKeyOnDisk {
  readonly node: number;
  readonly family: 4 | 6;
  readonly base64: string;
  /** As written to wireguard-go's UAPI. */
  readonly hex: string;
}

/** An agent's output line, with the node it came from. */
export interface AgentLine {
  readonly node: number;
  readonly line: string;
}

/**
 * Where agents' output holds any of the private keys, e.g. "line 12 (node 1): node 2's v4 key,
 * base64". Never the line itself, so that a failing test does not print the key in turn.
 */
export function privateKeyLeaks(lines: readonly AgentLine[], keys: readonly PrivateKeyOnDisk[]): string[] {
  const leaks: string[] = [];
  lines.forEach(({ node, line }, n) => {
    for (const k of keys) {
      for (const form of ['base64', 'hex'] as const) {
        if (line.includes(k[form]))
          leaks.push(`line ${n} (node ${node}): node ${k.node}'s v${k.family} key, ${form}`);
      }
    }
  });
  return leaks;
}

export class Mesh {
  readonly nodes: MeshNode[] = [];
  private underlay: Underlay | null = null;
  private relay: LoopbackRelay | null = null;
  private readonly core: CoreV1Api;
  private readonly custom: CustomObjectsApi;
  readonly prefix = uniqueName('wg');
  /** Every line every agent of this mesh wrote to stdout or stderr, restarts included. */
  readonly agentLines: AgentLine[] = [];
  private dir = '';
  private captures = 0;

  constructor(
    readonly kc: KubeConfig,
    private readonly kubeconfigPath: string,
    private readonly apiPort: number,
  ) {
    this.core = kc.makeApiClient(CoreV1Api);
    this.custom = kc.makeApiClient(CustomObjectsApi);
  }

  nodeName(i: number): string {
    return `${this.prefix}-n${i}`;
  }

  /** Builds the network and the Kubernetes objects for `count` nodes; agents are not started yet. */
  async build(
    count: number,
    extraArgs: (i: number) => readonly string[] = () => [],
    options: {
      readonly dualStack?: boolean;
      /** Each node's `node.<name>` FelixConfiguration spec, null for none; default WireGuard on. */
      readonly nodeFelixConfig?: (i: number) => Record<string, unknown> | null;
    } = {},
  ): Promise<void> {
    const dual = options.dualStack === true;
    const nodeFelixConfig =
      options.nodeFelixConfig ??
      (() => ({ wireguardEnabled: true, ...(dual ? { wireguardEnabledV6: true } : {}) }));
    this.dir = makeTempDir('alp-wg-mesh');
    this.underlay = await createUnderlay(count);
    this.relay = await startLoopbackRelay(this.apiPort, join(this.dir, 'api.sock'));
    for (const net of this.underlay.nodes) {
      const i = net.index;
      const pod = await createPod(net.ns, {
        ip: podIp(i),
        ...(dual ? { ip6: podIp6(i) } : {}),
        hostSide: `pod${i}`,
        label: `p${i}`,
      });
      for (let j = 1; j <= count; j++) {
        if (j === i) continue;
        await run(['ip', '-n', net.ns, 'route', 'add', podCidr(j), 'via', `192.0.2.${j}`]);
        if (dual) await run(['ip', '-n', net.ns, '-6', 'route', 'add', podCidr6(j), 'via', `2001:db8::${j}`]);
      }
      await this.relay.expose(net.ns);
      await createNode(this.kc, this.nodeName(i), {
        podCIDRs: dual ? [podCidr(i), podCidr6(i)] : [podCidr(i)],
        internalIPs: dual ? [net.hostIp, net.hostIp6] : [net.hostIp],
      });
      const spec = nodeFelixConfig(i);
      if (spec !== null) await this.setFelixConfig(i, spec);
      this.nodes.push({
        index: i,
        name: this.nodeName(i),
        net,
        pod,
        podCidr: podCidr(i),
        stateDir: join(this.dir, `n${i}`, 'state'),
        wgDir: join(this.dir, `n${i}`, 'wg'),
        extraArgs: extraArgs(i),
        agent: null,
      });
    }
  }

  node(i: number): MeshNode {
    const n = this.nodes.find((x) => x.index === i);
    if (n === undefined) throw new Error(`no node ${i}`);
    return n;
  }

  /** Starts node i's alp-node with the node's extra arguments and `moreArgs`. */
  startAgent(i: number, moreArgs: readonly string[] = []): NsProcess {
    const n = this.node(i);
    n.agent = spawnInNamespace(
      n.net.ns,
      [
        process.execPath,
        join(REPO_ROOT, 'bin', 'alp-node'),
        '--node-name',
        n.name,
        '--kubeconfig',
        this.kubeconfigPath,
        '--state-dir',
        n.stateDir,
        '--wg-socket-dir',
        n.wgDir,
        '--log-level',
        'debug',
        ...n.extraArgs,
        ...moreArgs,
      ],
      { KUBECONFIG: '', NODENAME: '' },
      (line) => this.agentLines.push({ node: i, line }),
    );
    return n.agent;
  }

  async setFelixConfig(i: number, spec: Record<string, unknown>): Promise<void> {
    await this.applyFelixConfig(`node.${this.nodeName(i)}`, spec);
  }

  /** Creates the FelixConfiguration `name`, or merges `spec` into it. */
  async applyFelixConfig(name: string, spec: Record<string, unknown>): Promise<void> {
    try {
      await this.custom.patchClusterCustomObject(
        { ...CALICO, plural: 'felixconfigurations', name, body: { spec } },
        MERGE,
      );
    } catch {
      await this.custom.createClusterCustomObject({
        ...CALICO,
        plural: 'felixconfigurations',
        body: {
          apiVersion: 'crd.projectcalico.org/v1',
          kind: 'FelixConfiguration',
          metadata: { name },
          spec,
        },
      });
    }
  }

  async deleteFelixConfig(name: string): Promise<void> {
    await this.custom
      .deleteClusterCustomObject({ ...CALICO, plural: 'felixconfigurations', name })
      .catch(() => undefined);
  }

  /** Merges labels into a Node; null removes one. */
  async setLabels(name: string, labels: Record<string, string | null>): Promise<void> {
    await this.core.patchNode({ name, body: { metadata: { labels } } }, MERGE);
  }

  /**
   * Records every value one annotation of a Node takes, from a watch (so short-lived values are
   * seen too): null while it is absent, consecutive repeats collapsed.
   */
  async recordAnnotation(
    name: string,
    key: string,
  ): Promise<{ readonly values: readonly (string | null)[]; stop(): void }> {
    const values: (string | null)[] = [];
    const controller = await new Watch(this.kc).watch(
      '/api/v1/nodes',
      { fieldSelector: `metadata.name=${name}` },
      (_phase, obj: { metadata?: { annotations?: Record<string, string> } }) => {
        const value = obj.metadata?.annotations?.[key] ?? null;
        if (values.length === 0 || values[values.length - 1] !== value) values.push(value);
      },
      () => undefined,
    );
    return { values, stop: () => controller.abort() };
  }

  async annotations(name: string): Promise<Record<string, string>> {
    return (await this.core.readNode({ name })).metadata?.annotations ?? {};
  }

  async setAnnotations(name: string, annotations: Record<string, string | null>): Promise<void> {
    await this.core.patchNode({ name, body: { metadata: { annotations } } }, MERGE);
  }

  /** The node's public key, derived from the key file its agent keeps. */
  async publicKeyFromFile(i: number): Promise<string | null> {
    const text = await readFile(keyFilePath(this.node(i).stateDir, 4), 'utf8').catch(() => '');
    return publicKeyOf(text.trim());
  }

  /** Every node's private keys, read from the key files its agent wrote. */
  async privateKeysOnDisk(): Promise<PrivateKeyOnDisk[]> {
    const keys: PrivateKeyOnDisk[] = [];
    for (const n of this.nodes) {
      for (const family of [4, 6] as const) {
        const base64 = (await readFile(keyFilePath(n.stateDir, family), 'utf8')).trim();
        keys.push({ node: n.index, family, base64, hex: Buffer.from(base64, 'base64').toString('hex') });
      }
    }
    return keys;
  }

  /**
   * `wg show <iface> dump` inside the node, through its private socket directory; null without a
   * device. Other test files share the API server, and a Node of theirs that publishes a key is
   * rightly a peer here too: the peers whose key a Node outside this mesh publishes are left out.
   */
  async wgDump(i: number, iface = IFACE): Promise<WgDump | null> {
    const n = this.node(i);
    const text = await nsRun(n.net.ns, withSocketDir(['wg', 'show', iface, 'dump'], n.wgDir)).catch(
      () => null,
    );
    if (text === null) return null;
    const parsed = parseWgDump(text);
    if (!parsed.ok) return null;
    const foreign = await this.foreignKeys();
    return { ...parsed.dump, peers: parsed.dump.peers.filter((p) => !foreign.has(p.publicKey)) };
  }

  /** The WireGuard keys (both families) that Nodes outside this mesh publish. */
  private async foreignKeys(): Promise<Set<string>> {
    const keys = new Set<string>();
    for (const node of (await this.core.listNode()).items) {
      if (node.metadata?.name?.startsWith(`${this.prefix}-`) === true) continue;
      const annotations = node.metadata?.annotations ?? {};
      for (const key of [ANNOTATION_PUBLIC_KEY_V4, ANNOTATION_PUBLIC_KEY_V6]) {
        const value = annotations[key];
        if (value !== undefined && value !== '') keys.add(value);
      }
    }
    return keys;
  }

  async routes(i: number, family: 4 | 6 = 4): Promise<ObservedRoute[]> {
    const ns = this.node(i).net.ns;
    const text = await run(['ip', '-n', ns, '-j', `-${family}`, 'route', 'show', 'table', '1']).catch(
      () => '[]',
    );
    const parsed = parseRoutes(text, family, family === 4 ? IFACE : IFACE6);
    // Other test files share the API server, and their Nodes (pod CIDRs outside the documentation
    // ranges this mesh uses) rightly get throw routes here too: compare only this mesh's space.
    return parsed.ok ? parsed.value.filter((r) => MESH_SPACE.some((prefix) => r.dst.startsWith(prefix))) : [];
  }

  async rules(i: number, family: 4 | 6 = 4): Promise<RoutingRule[]> {
    const ns = this.node(i).net.ns;
    const parsed = parseRules(await run(['ip', '-n', ns, '-j', `-${family}`, 'rule', 'show']), 1);
    return parsed.ok ? parsed.value : [];
  }

  async hasLink(i: number): Promise<boolean> {
    return run(['ip', '-n', this.node(i).net.ns, 'link', 'show', 'dev', IFACE]).then(
      () => true,
      () => false,
    );
  }

  /** pcap filter for packets to or from any pod of the mesh: what must never cross the underlay in the clear. */
  podTraffic(family: 4 | 6 = 4): string {
    return this.nodes.map((n) => `host ${family === 4 ? podIp(n.index) : podIp6(n.index)}`).join(' or ');
  }

  /** Pings from one pod to another with a recognisable payload; null when replies came back, else why not. */
  async ping(from: number, to: number, family: 4 | 6 = 4): Promise<string | null> {
    return nsRun(this.node(from).pod.ns, [
      'ping',
      '-c',
      '3',
      '-i',
      '0.2',
      '-W',
      '2',
      '-p',
      PING_PATTERN,
      family === 4 ? podIp(to) : podIp6(to),
    ]).then(
      () => null,
      (err: unknown) => `ping from pod ${from} to pod ${to}: ${String(err)}`,
    );
  }

  /**
   * Captures every frame on the underlay bridge while `during` runs, and until tcpdump has saved
   * a marker sent after it: the tests' assertions pick packets with pcap filters afterwards.
   */
  async capture(during: () => Promise<void>): Promise<Capture> {
    const file = join(this.dir, `capture-${++this.captures}.pcap`);
    const sw = (this.underlay as Underlay).switchNs;
    const dump = spawnInNamespace(sw, ['tcpdump', '--immediate-mode', '-i', 'br0', '-n', '-U', '-w', file]);
    try {
      await waitFor(
        'tcpdump to listen on the bridge',
        () => {
          if (dump.child.exitCode !== null) throw new Error(`tcpdump exited: ${dump.lines.join('\n')}`);
          return dump.lines.some((l) => l.includes('listening on')) ? true : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 20 },
      );
      await during();
      await this.waitForCaptureToCatchUp(file);
    } finally {
      await dump.stop();
    }
    const raw = await readFile(file);
    return {
      raw,
      packets: async (filter) =>
        (await run(['tcpdump', '-r', file, '-n', filter])).split('\n').filter((l) => l.trim() !== ''),
    };
  }

  /**
   * Pings from node 1 to node 2 on the underlay with a fresh marker until the marker is in the
   * capture file. tcpdump saves frames in the order they crossed the bridge, so everything that
   * crossed it before (all of `during`'s traffic, which had been answered) is in the file too.
   */
  private async waitForCaptureToCatchUp(file: string): Promise<void> {
    const marker = randomBytes(16);
    const [from, to] = [this.node(1), this.node(2)];
    await waitFor(
      'tcpdump to save a marker ping sent after the traffic under test',
      async () => {
        // Only the request has to cross the bridge; whether a reply comes back does not matter.
        await nsRun(from.net.ns, [
          'ping',
          '-c',
          '1',
          '-W',
          '1',
          '-p',
          marker.toString('hex'),
          to.net.hostIp,
        ]).catch(() => '');
        return (await readFile(file)).includes(marker) ? true : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );
  }

  /** Stops agents; removes namespaces, the directory with keys and captures, and the objects this mesh created. */
  async destroy(extraNodes: readonly string[] = []): Promise<void> {
    try {
      for (const n of this.nodes) await n.agent?.stop();
      await this.relay?.close();
      for (const n of this.nodes) await deleteNamespace(n.pod.ns);
      await this.underlay?.destroy();
    } finally {
      if (this.dir !== '') await rm(this.dir, { recursive: true, force: true });
    }
    for (const name of [...this.nodes.map((n) => n.name), ...extraNodes]) {
      await this.core.deleteNode({ name }).catch(() => undefined);
      await this.custom
        .deleteClusterCustomObject({ ...CALICO, plural: 'felixconfigurations', name: `node.${name}` })
        .catch(() => undefined);
    }
  }

  /** The tail of an agent's log, for failure messages. */
  logTail(i: number, lines = 40): string {
    return (this.node(i).agent?.lines ?? []).slice(-lines).join('\n');
  }

  async createBlock(name: string, cidr: string, node: string): Promise<void> {
    await this.custom.createClusterCustomObject({
      ...CALICO,
      plural: 'ipamblocks',
      body: {
        apiVersion: 'crd.projectcalico.org/v1',
        kind: 'IPAMBlock',
        metadata: { name },
        spec: { cidr, affinity: `host:${node}` },
      },
    });
  }

  async deleteBlock(name: string): Promise<void> {
    await this.custom
      .deleteClusterCustomObject({ ...CALICO, plural: 'ipamblocks', name })
      .catch(() => undefined);
  }

  async createFakeNode(name: string, hostIp: string, key: string): Promise<void> {
    await createNode(this.kc, name, {
      internalIPs: [hostIp],
      annotations: { 'projectcalico.org/WireguardPublicKey': key },
    });
  }

  async deleteNode(name: string): Promise<void> {
    await this.core.deleteNode({ name }).catch(() => undefined);
  }
}
