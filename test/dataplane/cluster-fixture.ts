// Nodes and pods for enforcement tests, wired as Calico wires them: node network namespaces on a
// 192.0.2.0/24 underlay (their eth0 is the uplink that lets proxy ARP answer for 169.254.1.1), a
// pod per network namespace behind a veth whose node end is named as Calico's CNI names it
// (`cali` + 11 hex of sha1("<ns>.<pod>")), the pod's /32 (from its node's /26 of the 198.51.100.0/24
// documentation range) on its eth0 and a default route via 169.254.1.1. Like a CNI, the fixture makes the pod's side only: the route to the pod and the
// interface sysctls on the node are alp-node's job. Every pod runs one small Node process that
// serves TCP and UDP on its ports and probes other pods on request, so a whole connectivity
// matrix is probed in parallel. Pods also exist as Kubernetes objects in the envtest API server;
// alp-node runs as a real process in each node namespace and reaches the API through a relay.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { CoreV1Api, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import { interfaceName } from '../../agent/calc/to-dataplane.js';
import { policyChainName } from '../../dataplane/core/names.js';
import { createNode, setPodStatus, uniqueName, waitFor } from '../harness/kube.js';
import {
  createPod,
  createUnderlay,
  deleteNamespace as deleteNetns,
  nsRun,
  run,
  spawnInNamespace,
  startLoopbackRelay,
  type LoopbackRelay,
  type NsProcess,
  type Underlay,
} from '../harness/netns.js';
import { REPO_ROOT } from '../harness/process.js';
import { makeTempDir } from '../harness/temp-dirs.js';
import { rmSync } from 'node:fs';

export type Proto = 'tcp' | 'udp';

/** Serves TCP and UDP on the given ports (answering `ok <name>`), and probes on request (stdin). */
const POD_AGENT = `
const net = require('node:net'), dgram = require('node:dgram'), readline = require('node:readline');
const [name, portList] = process.argv.slice(1);
const ports = portList.split(',').map(Number);
let listening = 0;
const up = () => { if (++listening === ports.length * 2) console.log('ready'); };
for (const p of ports) {
  net.createServer((c) => { c.on('error', () => {}); c.end('ok ' + name + '\\n'); }).listen(p, '0.0.0.0', up);
  const u = dgram.createSocket('udp4');
  u.on('message', (m, r) => u.send('ok ' + name, r.port, r.address));
  u.bind(p, '0.0.0.0', up);
}
readline.createInterface({ input: process.stdin }).on('line', (line) => {
  const { id, proto, ip, port, timeoutMs } = JSON.parse(line);
  let isDone = false;
  const done = (ok, what) => { if (isDone) return; isDone = true; console.log(JSON.stringify({ id, ok, what })); };
  if (proto === 'tcp') {
    const s = net.connect({ host: ip, port });
    let data = '';
    const t = setTimeout(() => { s.destroy(); done(false, 'timeout'); }, timeoutMs);
    s.on('data', (d) => (data += d));
    s.on('end', () => { clearTimeout(t); done(data.startsWith('ok'), data.trim()); s.destroy(); });
    s.on('error', (e) => { clearTimeout(t); done(false, e.code); });
  } else {
    const u = dgram.createSocket('udp4');
    const send = () => u.send('ping', port, ip, () => {});
    const again = setInterval(send, 250);
    send();
    const finish = (ok, what) => { clearTimeout(t); clearInterval(again); try { u.close(); } catch {} done(ok, what); };
    const t = setTimeout(() => finish(false, 'timeout'), timeoutMs);
    u.on('message', (m) => finish(String(m).startsWith('ok'), String(m)));
    u.on('error', (e) => finish(false, e.code));
  }
});
`;

export interface TestPod {
  readonly kubeNs: string;
  readonly name: string;
  readonly ip: string;
  readonly node: TestNode;
  readonly iface: string;
  readonly netns: string;
  readonly labels: Record<string, string>;
  /** Named container ports (TCP), for policies that name them. */
  readonly namedPorts: Record<string, number>;
  agent: ChildProcess | null;
}

export interface TestNode {
  readonly index: number;
  readonly name: string;
  readonly ns: string;
  readonly stateDir: string;
  alpNode: NsProcess | null;
}

export interface ProbeResult {
  readonly ok: boolean;
  readonly what: string;
}

export const PORTS = [80, 8080] as const;

export class EnforcedCluster {
  readonly nodes: TestNode[] = [];
  readonly pods = new Map<string, TestPod>();
  private underlay: Underlay | null = null;
  private relay: LoopbackRelay | null = null;
  private dir = '';
  readonly prefix = uniqueName('dp');
  private probeId = 0;
  private readonly waiting = new Map<number, (r: ProbeResult) => void>();
  private podCounter = 0;
  /** Every alp-node line, for failure messages. */
  readonly lines: string[] = [];

  readonly kc: KubeConfig;
  private readonly kubeconfigPath: string;
  private readonly apiPort: number;

  /** On an API server: the run's shared one, or a test's own (`ApiServer` and `Envtest` both fit). */
  constructor(api: { readonly kubeconfigPath: string; readonly server: string; kubeConfig(): KubeConfig }) {
    this.kc = api.kubeConfig();
    this.kubeconfigPath = api.kubeconfigPath;
    this.apiPort = Number(new URL(api.server).port);
  }

  /** `ipForward`: turn on forwarding for every interface, as a real node has it (for traffic between nodes). */
  async build(nodeCount: number, options: { readonly ipForward?: boolean } = {}): Promise<void> {
    this.dir = makeTempDir('alp-dp');
    this.underlay = await createUnderlay(nodeCount);
    this.relay = await startLoopbackRelay(this.apiPort, join(this.dir, 'api.sock'));
    for (const net of this.underlay.nodes) {
      const i = net.index;
      // The uplink: 169.254.1.1 must route out of a non-workload interface for proxy ARP.
      await run(['ip', '-n', net.ns, 'route', 'add', 'default', 'dev', 'eth0']);
      if (options.ipForward === true) await nsRun(net.ns, ['sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);
      for (let j = 1; j <= nodeCount; j++) {
        if (j !== i) await run(['ip', '-n', net.ns, 'route', 'add', this.podCidr(j), 'via', `192.0.2.${j}`]);
      }
      await this.relay.expose(net.ns);
      const name = `${this.prefix}-n${i}`;
      await createNode(this.kc, name, { podCIDRs: [this.podCidr(i)], internalIPs: [net.hostIp] });
      this.nodes.push({ index: i, name, ns: net.ns, stateDir: join(this.dir, `n${i}`), alpNode: null });
    }
  }

  /** Node i's pod CIDR: a /26 of the 198.51.100.0/24 documentation range, as the mesh tests use. */
  podCidr(i: number): string {
    return `198.51.100.${64 * (i - 1)}/26`;
  }

  node(i: number): TestNode {
    const n = this.nodes.find((x) => x.index === i);
    if (n === undefined) throw new Error(`no node ${i}`);
    return n;
  }

  /** A Kubernetes namespace with a unique name (returned), with labels. */
  async namespace(prefix: string, labels: Record<string, string> = {}): Promise<string> {
    const name = uniqueName(prefix);
    await this.kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name, labels } } });
    return name;
  }

  startAlpNode(i: number, env: Record<string, string> = {}): NsProcess {
    const n = this.node(i);
    n.alpNode = this.spawnAlpNode(i, n.name, n.stateDir, ['--metrics-addr', '127.0.0.1:9099'], env);
    return n.alpNode;
  }

  /** An alp-node in node i's namespace under another node name (the node's own is not touched). */
  spawnAlpNode(
    i: number,
    nodeName: string,
    stateDir: string,
    args: readonly string[],
    env: Record<string, string>,
  ): NsProcess {
    return spawnInNamespace(
      this.node(i).ns,
      [
        process.execPath,
        join(REPO_ROOT, 'bin', 'alp-node'),
        '--node-name',
        nodeName,
        '--kubeconfig',
        this.kubeconfigPath,
        '--state-dir',
        stateDir,
        '--wg-socket-dir',
        join(stateDir, 'wg'),
        '--log-level',
        'debug',
        '--log-format',
        'text',
        ...args,
      ],
      { KUBECONFIG: '', NODENAME: '', FELIX_POLICYSYNCPATHPREFIX: '', ...env },
      (line) => this.lines.push(`n${i}/${nodeName}: ${line}`),
    );
  }

  /** A directory for a test's own files, removed with the cluster. */
  get tempDir(): string {
    return this.dir;
  }

  async waitEnforcing(i: number, since = 0): Promise<void> {
    const n = this.node(i);
    const outcome = await waitFor(
      `alp-node on node ${i} to enforce`,
      () => {
        const proc = n.alpNode;
        if (proc === null) return 'not started';
        if (proc.child.exitCode !== null) return 'exited';
        return proc.lines.slice(since).some((l) => l.includes('enforcing policy with nftables'))
          ? 'ok'
          : undefined;
      },
      { timeoutMs: 60_000 },
    );
    if (outcome !== 'ok') throw new Error(`alp-node ${outcome}: ${n.alpNode?.lines.slice(-30).join('\n')}`);
  }

  /**
   * Waits until node i's table enforces each policy in `enforced` and none in `removed` (Calico's
   * rendered ids, e.g. `knp/<ns>/<name>`): an endpoint chain jumps to the policy's chain. The API
   * server taking a policy says nothing of when alp-node applies it, and probes taken meanwhile
   * can pass on the old rules (a connection the new ones also allow), so a test that asserts what
   * the new rules did (their counters) waits for the kernel first.
   */
  async waitForPolicies(
    i: number,
    policies: { readonly enforced?: readonly string[]; readonly removed?: readonly string[] },
  ): Promise<void> {
    const { enforced = [], removed = [] } = policies;
    await waitFor(
      `node ${i}'s table to enforce [${enforced.join(', ')}] and not [${removed.join(', ')}]`,
      async () => {
        const table = await this.nft(i, ['list', 'table', 'inet', 'alp-mesh']);
        const jumpedTo = new Set([...table.matchAll(/\bjump (\S+)$/gm)].map((m) => m[1]));
        const isEnforced = (id: string): boolean =>
          jumpedTo.has(policyChainName(id, 'ingress')) || jumpedTo.has(policyChainName(id, 'egress'));
        return enforced.every(isEnforced) && !removed.some(isEnforced) ? true : undefined;
      },
    );
  }

  key(kubeNs: string, name: string): string {
    return `${kubeNs}/${name}`;
  }

  pod(kubeNs: string, name: string): TestPod {
    const p = this.pods.get(this.key(kubeNs, name));
    if (p === undefined) throw new Error(`no pod ${kubeNs}/${name}`);
    return p;
  }

  /**
   * A pod on node `nodeIndex`: its network namespace and interface (`iface: 'now'`, or 'later' for
   * addInterface()) and its Kubernetes object with status (`object: 'now'` or 'later' for
   * addObject()).
   */
  async addPod(
    nodeIndex: number,
    kubeNs: string,
    name: string,
    labels: Record<string, string>,
    order: {
      readonly iface?: 'now' | 'later';
      readonly object?: 'now' | 'later';
      readonly namedPorts?: Record<string, number>;
    } = {},
  ): Promise<TestPod> {
    const node = this.node(nodeIndex);
    const n = ++this.podCounter;
    // .10 onwards in the node's /26 (pods are numbered across the cluster: at most 53 in all).
    if (n + 10 > 62) throw new Error('the test cluster is out of pod addresses (53 at most)');
    const ip = `198.51.100.${64 * (nodeIndex - 1) + n + 10}`;
    const pod: TestPod = {
      kubeNs,
      name,
      ip,
      node,
      iface: interfaceName(kubeNs, name),
      netns: '',
      labels,
      namedPorts: order.namedPorts ?? {},
      agent: null,
    };
    this.pods.set(this.key(kubeNs, name), pod);
    if ((order.iface ?? 'now') === 'now') await this.addInterface(kubeNs, name);
    if ((order.object ?? 'now') === 'now') await this.addObject(kubeNs, name);
    return pod;
  }

  /** What the CNI does: the veth, the pod's address and routes, the servers. */
  async addInterface(kubeNs: string, name: string): Promise<void> {
    const pod = this.pod(kubeNs, name);
    // The node's side is alp-node's job (the route to the pod, the interface's sysctls).
    const { ns } = await createPod(pod.node.ns, { ip: pod.ip, hostSide: pod.iface, node: 'cni' });
    (pod as { netns: string }).netns = ns;
    await this.startPodAgent(pod);
  }

  async removeInterface(kubeNs: string, name: string): Promise<void> {
    const pod = this.pod(kubeNs, name);
    pod.agent?.kill('SIGKILL');
    pod.agent = null;
    // The CNI's DEL: the veth goes now, not whenever the namespace's last user has exited.
    await run(['ip', '-n', pod.node.ns, 'link', 'del', pod.iface]).catch(() => undefined);
    await deleteNetns(pod.netns);
  }

  async addObject(kubeNs: string, name: string): Promise<void> {
    const pod = this.pod(kubeNs, name);
    await this.kc.makeApiClient(CoreV1Api).createNamespacedPod({
      namespace: kubeNs,
      body: {
        metadata: { name, labels: pod.labels },
        spec: {
          nodeName: pod.node.name,
          containers: [
            {
              name: 'app',
              image: 'registry.invalid/placeholder:0',
              ports: Object.entries(pod.namedPorts).map(([n, containerPort]) => ({
                name: n,
                containerPort,
                protocol: 'TCP',
              })),
            },
          ],
        },
      },
    });
    await setPodStatus(this.kc, kubeNs, name, { podIPs: [pod.ip] });
  }

  /** Merge-patches the pod's labels (null removes one). */
  async relabelPod(kubeNs: string, name: string, labels: Record<string, string | null>): Promise<void> {
    await this.kc
      .makeApiClient(CoreV1Api)
      .patchNamespacedPod(
        { namespace: kubeNs, name, body: { metadata: { labels } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
  }

  async relabelNamespace(kubeNs: string, labels: Record<string, string | null>): Promise<void> {
    await this.kc
      .makeApiClient(CoreV1Api)
      .patchNamespace(
        { name: kubeNs, body: { metadata: { labels } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
  }

  async deleteObject(kubeNs: string, name: string): Promise<void> {
    await this.kc
      .makeApiClient(CoreV1Api)
      .deleteNamespacedPod({ namespace: kubeNs, name, gracePeriodSeconds: 0 });
  }

  private async startPodAgent(pod: TestPod): Promise<void> {
    const child = spawn(
      'ip',
      ['netns', 'exec', pod.netns, process.execPath, '-e', POD_AGENT, pod.name, PORTS.join(',')],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    pod.agent = child;
    let ready = false;
    let buf = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      buf += chunk;
      const lines = buf.split('\n');
      buf = lines.pop() ?? '';
      for (const line of lines) {
        if (line === 'ready') ready = true;
        else if (line.startsWith('{')) {
          const r = JSON.parse(line) as { id: number; ok: boolean; what: string };
          this.waiting.get(r.id)?.({ ok: r.ok, what: r.what });
          this.waiting.delete(r.id);
        }
      }
    });
    child.stdin.on('error', () => undefined);
    await waitFor(`servers in pod ${pod.name}`, () => (ready ? true : undefined));
  }

  /** One probe from `from` to `to`: true when the server answered. */
  probe(
    from: TestPod,
    to: TestPod | string,
    proto: Proto,
    port: number,
    timeoutMs = 1_500,
  ): Promise<ProbeResult> {
    const agent = from.agent;
    if (agent === null) return Promise.resolve({ ok: false, what: 'no source pod' });
    const id = ++this.probeId;
    const ip = typeof to === 'string' ? to : to.ip;
    return new Promise((resolve) => {
      const guard = setTimeout(() => {
        this.waiting.delete(id);
        resolve({ ok: false, what: 'no answer from the probing pod' });
      }, timeoutMs + 5_000);
      this.waiting.set(id, (r) => {
        clearTimeout(guard);
        resolve(r);
      });
      agent.stdin?.write(`${JSON.stringify({ id, proto, ip, port, timeoutMs })}\n`);
    });
  }

  async destroy(): Promise<void> {
    for (const n of this.nodes) await n.alpNode?.stop();
    for (const p of this.pods.values()) {
      p.agent?.kill('SIGKILL');
      if (p.netns !== '') await deleteNetns(p.netns);
    }
    await this.relay?.close();
    await this.underlay?.destroy();
    // Other suites share the API server: our Nodes (pod CIDRs, addresses and, where a test turned
    // WireGuard on, public keys) must not stay behind for their alp-nodes to route to or peer with.
    const core = this.kc.makeApiClient(CoreV1Api);
    for (const n of this.nodes) await core.deleteNode({ name: n.name }).catch(() => undefined);
    if (this.dir !== '') rmSync(this.dir, { recursive: true, force: true });
  }

  /** alp-node's Prometheus metrics on node i. */
  async metrics(i: number): Promise<string> {
    return nsRun(this.node(i).ns, ['curl', '-sS', '--max-time', '10', 'http://127.0.0.1:9099/metrics']);
  }

  async nft(i: number, args: readonly string[]): Promise<string> {
    return nsRun(this.node(i).ns, ['nft', ...args]);
  }
}
