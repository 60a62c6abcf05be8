// A three-node WireGuard mesh for tests: node namespaces on a 192.0.2.0/24 underlay, a pod
// namespace behind each node (pod CIDR 198.51.100.<64·(i-1)>/26, pod IP .10 in it), plaintext
// underlay routes between pod CIDRs (what the mesh must take over), one `bin/alp-node` per node
// against the envtest API server, and probes of what a user would check: `wg show dump`, routes,
// rules, annotations, ping, and an underlay capture.
import { mkdtemp, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  CoreV1Api,
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
} from '@kubernetes/client-node';
import { createNode, uniqueName } from '../harness/kube.js';
import {
  cleanupPathAtExit,
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
import type { ObservedRoute, RoutingRule } from '../../wireguard/core/device-state.js';
import { parseRoutes, parseRules } from '../../wireguard/core/ip-json.js';
import { publicKeyOf } from '../../wireguard/core/keys.js';
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

export const podCidr = (i: number): string => `198.51.100.${64 * (i - 1)}/26`;
export const podIp = (i: number): string => `198.51.100.${64 * (i - 1) + 10}`;
export const podCidr6 = (i: number): string => `2001:db8:100:${i}::/64`;
export const podIp6 = (i: number): string => `2001:db8:100:${i}::10`;

export class Mesh {
  readonly nodes: MeshNode[] = [];
  private underlay: Underlay | null = null;
  private relay: LoopbackRelay | null = null;
  private readonly core: CoreV1Api;
  private readonly custom: CustomObjectsApi;
  readonly prefix = uniqueName('wg');
  private dir = '';

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
    options: { readonly dualStack?: boolean } = {},
  ): Promise<void> {
    const dual = options.dualStack === true;
    this.dir = await mkdtemp('/tmp/alp-wg-mesh-');
    cleanupPathAtExit(this.dir);
    this.underlay = await createUnderlay(count);
    this.relay = await startLoopbackRelay(this.apiPort, join(this.dir, 'api.sock'));
    for (const net of this.underlay.nodes) {
      const i = net.index;
      const pod = await createPod(net, podIp(i), dual ? podIp6(i) : undefined);
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
      await this.setFelixConfig(i, { wireguardEnabled: true, ...(dual ? { wireguardEnabledV6: true } : {}) });
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
    );
    return n.agent;
  }

  async setFelixConfig(i: number, spec: Record<string, unknown>): Promise<void> {
    const name = `node.${this.nodeName(i)}`;
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

  async annotations(name: string): Promise<Record<string, string>> {
    return (await this.core.readNode({ name })).metadata?.annotations ?? {};
  }

  async setAnnotations(name: string, annotations: Record<string, string | null>): Promise<void> {
    await this.core.patchNode({ name, body: { metadata: { annotations } } }, MERGE);
  }

  /** The node's public key, derived from the key file its agent keeps. */
  async publicKeyFromFile(i: number): Promise<string | null> {
    const text = await readFile(join(this.node(i).stateDir, 'wireguard-v4.key'), 'utf8').catch(() => '');
    return publicKeyOf(text.trim());
  }

  /** `wg show <iface> dump` inside the node, through its private socket directory; null without a device. */
  async wgDump(i: number, iface = IFACE): Promise<WgDump | null> {
    const n = this.node(i);
    const text = await nsRun(n.net.ns, withSocketDir(['wg', 'show', iface, 'dump'], n.wgDir)).catch(
      () => null,
    );
    if (text === null) return null;
    const parsed = parseWgDump(text);
    return parsed.ok ? parsed.dump : null;
  }

  async routes(i: number, family: 4 | 6 = 4): Promise<ObservedRoute[]> {
    const ns = this.node(i).net.ns;
    const text = await run(['ip', '-n', ns, '-j', `-${family}`, 'route', 'show', 'table', '1']).catch(
      () => '[]',
    );
    const parsed = parseRoutes(text, family, family === 4 ? IFACE : IFACE6);
    return parsed.ok ? parsed.value : [];
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

  /** Captures IPv4 on the underlay bridge while `during` runs; returns tcpdump's text lines and the raw bytes. */
  async capture(during: () => Promise<void>, filter = 'ip'): Promise<{ lines: string[]; raw: Buffer }> {
    const file = join(this.dir, `capture-${Date.now()}.pcap`);
    const sw = (this.underlay as Underlay).switchNs;
    const dump = spawnInNamespace(sw, [
      'tcpdump',
      '--immediate-mode',
      '-i',
      'br0',
      '-n',
      '-U',
      '-w',
      file,
      filter,
    ]);
    const deadline = Date.now() + 10_000;
    while (!dump.lines.some((l) => l.includes('listening on'))) {
      if (Date.now() > deadline) throw new Error(`tcpdump did not start: ${dump.lines.join('\n')}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    try {
      await during();
    } finally {
      await new Promise((r) => setTimeout(r, 200));
      await dump.stop();
    }
    const text = await run(['tcpdump', '-r', file, '-n']);
    return { lines: text.split('\n').filter((l) => l.trim() !== ''), raw: await readFile(file) };
  }

  /** Stops agents, removes namespaces and the objects this mesh created. */
  async destroy(extraNodes: readonly string[] = []): Promise<void> {
    for (const n of this.nodes) await n.agent?.stop();
    await this.relay?.close();
    for (const n of this.nodes) await deleteNamespace(n.pod.ns);
    await this.underlay?.destroy();
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
