// The examples/istio deployment, end to end, on this machine: a private kube-apiserver with
// Istio's and our CRDs and the example's objects applied; two nodes (network namespaces on a
// bridge, 192.0.2.1 and .2, pod CIDRs 198.51.100.0/26 and .64/26) each running alp-node from the
// example's DaemonSet (its RBAC, an in-cluster token, WireGuard switched on by FelixConfiguration
// `default`); and pods started by the test's kubelet from the pod specs that Istio's injector
// produced. Istio's control plane is played by proxy-config.ts, Envoy by envoy-lite.
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { parse, stringify } from 'yaml';
import type { E2eTools } from '../harness/e2e-tools.js';
import type { ApiServer } from '../harness/envtest/api-server-gate.js';
import type { Envtest } from '../harness/envtest/envtest.js';
import { createNode, setPodStatus, waitFor } from '../harness/kube.js';
import {
  captureUnderlay,
  createPod,
  createUnderlay,
  deleteNamespace,
  nsRun,
  run,
  startLoopbackRelay,
  type LoopbackRelay,
  type Underlay,
  type UnderlayNode,
} from '../harness/netns.js';
import { REPO_ROOT } from '../harness/repo-root.js';
import { makeTempDir } from '../harness/temp-dirs.js';
import {
  exampleManifests,
  generateIstio,
  removeGenerated,
  installIstioCrds,
  kubeInject,
  EXAMPLE_DIR,
  type GeneratedIstio,
} from './istio-example.js';
import { PodRun, type ContainerRuntime, type NodeHost } from './kubelet.js';
import { podTemplateOf, type Container, type PodSpec } from './pod-spec.js';
import { interfaceName } from '../../agent/calc/to-dataplane.js';
import {
  captureInbound,
  curlThrough,
  istioInitPorts,
  waitForLine,
  type CurlOptions,
  type CurlResult,
} from './pod-tools.js';
import { proxyConfigFor, type MeshPod, type MeshWorld } from './proxy-config.js';
import { RawClient, type Manifest } from './raw-apply.js';
import { MeshCa, type WorkloadCert } from './spiffe-certs.js';

export const WG_KEY = 'projectcalico.org/WireguardPublicKey';
export const podCidr = (i: number): string => `198.51.100.${64 * (i - 1)}/26`;

/** The example files applied at start, in order (the Calico-compatible EnvoyFilter wiring). */
const APPLIED_AT_START = [
  'node/alp-node.yaml',
  'node/felixconfiguration.yaml',
  'istio/dikastes-service-entry.yaml',
  'istio/peer-authentication.yaml',
  'demo/namespace.yaml',
  'demo/httpbin.yaml',
  'demo/tcp-echo.yaml',
  'demo/curl.yaml',
  'wiring-envoyfilter/ext-authz.yaml',
];

export interface WorkloadSpec {
  readonly name: string;
  /** The example file whose Deployment the pod comes from. */
  readonly from: string;
  readonly node: number;
  readonly ip: string;
  /** Changes to the Deployment's pod template before injection (another client identity). */
  readonly serviceAccount?: string;
  readonly labels?: Record<string, string>;
}

export class IstioMesh {
  env!: Envtest;
  kc!: KubeConfig;
  raw!: RawClient;
  generated!: GeneratedIstio;
  underlay!: Underlay;
  readonly nodes: NodeHost[] = [];
  readonly pods = new Map<string, PodRun>();
  readonly agents = new Map<number, PodRun>();
  /** Every Istio/Kubernetes object applied, as istiod would see it. */
  private objects: Manifest[] = [];
  private meshPods: MeshPod[] = [];
  private certs = new Map<string, WorkloadCert>();
  private relay: LoopbackRelay | null = null;
  private dir = '';
  private ca!: MeshCa;

  constructor(
    private readonly api: ApiServer,
    private readonly tools: E2eTools,
  ) {}

  async start(workloads: readonly WorkloadSpec[]): Promise<void> {
    // Holds the mesh CA's key, the nodes' WireGuard keys and packet captures: removed by stop().
    this.dir = makeTempDir('alp-istio-e2e');
    // A private API server: FelixConfiguration `default` here switches WireGuard and PolicySync on
    // for every alp-node that reads it, which other suites sharing a server must not see.
    this.env = await this.api.startOwnEnvtest();
    this.kc = this.env.kubeConfig();
    this.raw = new RawClient(this.kc);
    await installIstioCrds(this.kc, this.tools);
    this.generated = await generateIstio(this.tools, join(EXAMPLE_DIR, 'istio', 'istio-operator.yaml'));
    await this.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'istio-system' } });
    for (const file of APPLIED_AT_START) await this.applyFile(file);
    await this.apply({
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: 'other', namespace: 'demo' },
    });
    this.ca = await MeshCa.create(this.dir);

    this.underlay = await createUnderlay(2);
    const port = Number(new URL(this.env.server).port);
    this.relay = await startLoopbackRelay(port, join(this.dir, 'api.sock'));
    for (const net of this.underlay.nodes) {
      const i = net.index;
      for (const j of [1, 2]) {
        if (j !== i) await run(['ip', '-n', net.ns, 'route', 'add', podCidr(j), 'via', `192.0.2.${j}`]);
      }
      await this.relay.expose(net.ns);
      const name = `node-${i}`;
      await createNode(this.kc, name, { podCIDRs: [podCidr(i)], internalIPs: [net.hostIp] });
      const root = join(this.dir, `node-${i}-root`);
      await mkdir(root, { recursive: true });
      this.nodes.push({ name, ns: net.ns, hostIp: net.hostIp, root });
    }
    for (const node of this.nodes) await this.startAgent(node, port);
    for (const node of this.nodes) await this.waitForWireguardKey(node.name);

    for (const w of workloads) await this.createWorkload(w);
    for (const w of workloads) await this.startWorkload(w.name);
  }

  // ---- objects ------------------------------------------------------------------------------

  async apply(obj: Manifest): Promise<void> {
    await this.raw.apply(obj);
    this.objects = this.objects.filter((o) => !sameObject(o, obj));
    this.objects.push(obj);
  }

  async applyFile(file: string): Promise<void> {
    for (const obj of await exampleManifests(file)) await this.apply(obj);
  }

  async remove(obj: Manifest): Promise<void> {
    await this.raw.delete(obj);
    this.objects = this.objects.filter((o) => !sameObject(o, obj));
  }

  async removeFile(file: string): Promise<void> {
    for (const obj of await exampleManifests(file)) await this.remove(obj);
  }

  /** Merge-patches FelixConfiguration `default`, as `kubectl patch felixconfiguration default`. */
  async patchFelixConfiguration(spec: Record<string, unknown>): Promise<void> {
    const [fc] = await exampleManifests('node/felixconfiguration.yaml');
    const base = fc as Manifest & { spec: Record<string, unknown> };
    await this.apply({ ...base, spec: { ...base.spec, ...spec } });
  }

  // ---- nodes ------------------------------------------------------------------------------

  private runtime(): ContainerRuntime {
    const t = this.tools;
    const node = process.execPath;
    const ours: Record<string, string[]> = {
      dikastes: [node, join(REPO_ROOT, 'bin', 'dikastes')],
      'alp-node': [node, join(REPO_ROOT, 'bin', 'alp-node')],
    };
    const argvOf = (c: Container, entrypoint: string[], cmd: string[] = []) =>
      c.command !== undefined ? [...c.command, ...(c.args ?? [])] : [...entrypoint, ...(c.args ?? cmd)];
    const resolve = (argv: string[], binaries: Record<string, string[]>) => [
      ...(binaries[argv[0] as string] ?? [argv[0] as string]),
      ...argv.slice(1),
    ];
    return (pod, c) => {
      const image = c.image ?? '';
      // Images → the same programs, built from their Go modules or from this repository.
      if (image.includes('/proxyv2:')) {
        // istio-proxy is played by envoy-lite with the configuration "istiod" computed;
        // istio-init's capture is set up by startWorkload.
        return c.name === 'istio-proxy' ? [t.envoyLite, '-c', this.proxyConfigPath(pod.identity.name)] : null;
      }
      if (image.startsWith('alp-mesh/alp-mesh:')) return resolve(argvOf(c, ['dikastes']), ours);
      if (image.startsWith('docker.io/mccutchen/go-httpbin:')) return argvOf(c, [t.goHttpbin]);
      if (image.startsWith('registry.istio.io/release/tcp-echo-server:')) return argvOf(c, [t.tcpEcho]);
      if (image.startsWith('docker.io/curlimages/curl:'))
        return resolve(argvOf(c, ['curl']), { '/bin/sleep': ['sleep'] });
      throw new Error(`no local program for image ${image}`);
    };
  }

  private async startAgent(node: NodeHost, apiPort: number): Promise<void> {
    const daemonSet = (await exampleManifests('node/alp-node.yaml')).find(
      (o) => o.kind === 'DaemonSet',
    ) as Manifest;
    const template = podTemplateOf(daemonSet);
    const name = `alp-node-${node.name}`;
    const created = await this.kc.makeApiClient(CoreV1Api).createNamespacedPod({
      namespace: 'alp-mesh-system',
      body: {
        metadata: { name, labels: template.metadata.labels ?? {} },
        spec: { ...(template.spec as object), nodeName: node.name } as never,
      },
    });
    await setPodStatus(this.kc, 'alp-mesh-system', name, { podIPs: [node.hostIp], hostIP: node.hostIp });
    const core = this.kc.makeApiClient(CoreV1Api);
    const caPem = await readFile(join(this.env.runDir, 'ca.crt'), 'utf8');
    const pod = new PodRun(
      {
        name,
        namespace: 'alp-mesh-system',
        uid: created.metadata?.uid ?? name,
        serviceAccount: 'alp-node',
        ip: node.hostIp,
      },
      template.spec,
      node,
      node.ns,
      this.runtime(),
      join(this.dir, 'pods'),
      {
        host: '127.0.0.1',
        port: apiPort,
        caPem,
        token: async (namespace, serviceAccount) => {
          const res = await core.createNamespacedServiceAccountToken({
            name: serviceAccount,
            namespace,
            body: { spec: { audiences: [], expirationSeconds: 7200 } },
          });
          return res.status?.token ?? '';
        },
      },
    );
    await pod.prepare();
    pod.start('alp-node');
    this.agents.set(this.nodes.indexOf(node) + 1, pod);
  }

  async annotations(nodeName: string): Promise<Record<string, string>> {
    return (await this.kc.makeApiClient(CoreV1Api).readNode({ name: nodeName })).metadata?.annotations ?? {};
  }

  async waitForWireguardKey(nodeName: string, present = true): Promise<void> {
    const i = this.nodes.findIndex((n) => n.name === nodeName) + 1;
    await waitFor(
      `${nodeName} to ${present ? 'publish' : 'remove'} its WireGuard key`,
      async () => (WG_KEY in (await this.annotations(nodeName)) === present ? true : undefined),
      { timeoutMs: 60_000, intervalMs: 200 },
    ).catch((err: unknown) => {
      throw new Error(`${String(err)}\n${this.agentLog(i)}`);
    });
  }

  agentLog(i: number, lines = 30): string {
    return (this.agents.get(i)?.processes.get('alp-node')?.lines ?? []).slice(-lines).join('\n');
  }

  async hasWireguardDevice(i: number): Promise<boolean> {
    return run([
      'ip',
      '-n',
      (this.nodes[i - 1] as NodeHost).ns,
      'link',
      'show',
      'dev',
      'wireguard.cali',
    ]).then(
      () => true,
      () => false,
    );
  }

  /** alp-node's wireguard_bytes_sent to the peer at `peerIp`, from its metrics endpoint. */
  async wireguardBytesSent(i: number, peerIp: string): Promise<number> {
    const text = await nsRun((this.nodes[i - 1] as NodeHost).ns, [
      'curl',
      '-sS',
      'http://127.0.0.1:9098/metrics',
    ]);
    const line = text
      .split('\n')
      .find((l) => l.startsWith('wireguard_bytes_sent{') && l.includes(`peer_endpoint="${peerIp}:51820"`));
    return line === undefined ? 0 : Number(line.split(' ').pop());
  }

  async capture(name: string, during: () => Promise<void>, filter = 'ip') {
    return captureUnderlay(this.underlay, join(this.dir, `${name}-${Date.now()}.pcap`), during, filter);
  }

  // ---- workloads --------------------------------------------------------------------------

  private proxyConfigPath(pod: string): string {
    return join(this.dir, 'proxy', `${pod}.yaml`);
  }

  private readonly workloads = new Map<
    string,
    { spec: WorkloadSpec; podSpec: PodSpec; labels: Record<string, string>; uid: string; ns: string }
  >();

  private async createWorkload(w: WorkloadSpec): Promise<void> {
    const deployment = structuredClone(
      (await exampleManifests(w.from)).find((o) => o.kind === 'Deployment') as Manifest,
    ) as Manifest & {
      spec: { template: { metadata: Record<string, unknown>; spec: Record<string, unknown> } };
    };
    const tpl = deployment.spec.template;
    if (w.serviceAccount !== undefined) tpl.spec['serviceAccountName'] = w.serviceAccount;
    if (w.labels !== undefined) tpl.metadata['labels'] = w.labels;
    if (w.labels !== undefined)
      (deployment.spec as Record<string, unknown>)['selector'] = { matchLabels: w.labels };
    const injected = (await kubeInject(this.tools, this.generated, deployment)).find(
      (o) => o.kind === 'Deployment',
    );
    const template = podTemplateOf(injected as Manifest);
    const labels = template.metadata.labels ?? {};
    const created = await this.kc.makeApiClient(CoreV1Api).createNamespacedPod({
      namespace: 'demo',
      body: {
        metadata: { name: w.name, labels, annotations: template.metadata.annotations ?? {} },
        spec: { ...(template.spec as object), nodeName: `node-${w.node}` } as never,
      },
    });
    const node = this.underlay.nodes[w.node - 1] as UnderlayNode;
    await setPodStatus(this.kc, 'demo', w.name, { podIPs: [w.ip], hostIP: node.hostIp });
    // The host side is named as Calico's CNI names it: alp-node enforces policy on that name.
    const netns = await createPod(node.ns, {
      ip: w.ip,
      hostSide: interfaceName('demo', w.name),
      label: `p${node.index}`,
    });
    this.workloads.set(w.name, {
      spec: w,
      podSpec: template.spec,
      labels,
      uid: created.metadata?.uid ?? '',
      ns: netns.ns,
    });
    this.meshPods.push({ name: w.name, namespace: 'demo', ip: w.ip, labels });
    const sa = template.spec.serviceAccountName ?? 'default';
    if (!this.certs.has(sa)) this.certs.set(sa, await this.ca.issue('demo', sa));
  }

  world(): MeshWorld {
    return {
      objects: this.objects,
      pods: this.meshPods,
      mesh: parse(this.generated.mesh) as MeshWorld['mesh'],
    };
  }

  private async writeProxyConfig(name: string, serviceAccount?: string): Promise<void> {
    const w = this.workloads.get(name);
    if (w === undefined) throw new Error(`no workload ${name}`);
    const pod = this.meshPods.find((p) => p.name === name) as MeshPod;
    const sa = serviceAccount ?? w.podSpec.serviceAccountName ?? 'default';
    if (!this.certs.has(sa)) this.certs.set(sa, await this.ca.issue('demo', sa));
    const cert = this.certs.get(sa) as WorkloadCert;
    await mkdir(join(this.dir, 'proxy'), { recursive: true });
    await writeFile(this.proxyConfigPath(name), stringify(proxyConfigFor(this.world(), pod, cert)));
  }

  private async startWorkload(name: string): Promise<void> {
    const w = this.workloads.get(name);
    if (w === undefined) throw new Error(`no workload ${name}`);
    const node = this.nodes[w.spec.node - 1] as NodeHost;
    const pod = new PodRun(
      {
        name,
        namespace: 'demo',
        uid: w.uid,
        serviceAccount: w.podSpec.serviceAccountName ?? 'default',
        ip: w.spec.ip,
      },
      w.podSpec,
      node,
      w.ns,
      this.runtime(),
      join(this.dir, 'pods'),
    );
    await pod.prepare();
    this.pods.set(name, pod);
    // Init containers in order: istio-init's capture, then (native sidecar) istio-proxy.
    for (const c of w.podSpec.initContainers ?? []) {
      if (c.name === 'istio-init') {
        const ports = istioInitPorts(c.args ?? []);
        await captureInbound(w.ns, ports.inbound, ports.excluded);
      } else if (c.restartPolicy === 'Always') {
        await this.startProxy(name);
      }
    }
    for (const c of w.podSpec.containers) {
      if (c.name === 'istio-proxy') await this.startProxy(name);
      else pod.start(c.name);
    }
    if (w.podSpec.containers.some((c) => c.name === 'dikastes')) await this.waitReady(name, 'dikastes');
  }

  /**
   * (Re)starts a pod's istio-proxy with the configuration for the objects now applied (an xDS
   * push); `serviceAccount` hands it another account's certificate (a stolen identity).
   */
  async startProxy(name: string, serviceAccount?: string): Promise<void> {
    const pod = this.pods.get(name) as PodRun;
    await pod.processes.get('istio-proxy')?.stop(2_000);
    await this.writeProxyConfig(name, serviceAccount);
    const proc = pod.start('istio-proxy');
    if (proc !== null) await waitForLine(proc, /"msg":"ready"/);
  }

  async waitReady(name: string, container: string): Promise<void> {
    const pod = this.pods.get(name) as PodRun;
    await waitFor(
      `${name}/${container} to be ready`,
      async () => ((await pod.ready(container)) ? true : undefined),
      {
        timeoutMs: 60_000,
        intervalMs: 250,
      },
    ).catch((err: unknown) => {
      throw new Error(`${String(err)}\n${(pod.processes.get(container)?.lines ?? []).slice(-20).join('\n')}`);
    });
  }

  pod(name: string): PodRun {
    const pod = this.pods.get(name);
    if (pod === undefined) throw new Error(`no pod ${name}`);
    return pod;
  }

  /** curl from a client pod's curl container, through its sidecar unless options say otherwise. */
  curl(from: string, url: string, options: CurlOptions = {}): Promise<CurlResult> {
    const pod = this.pod(from);
    return curlThrough(pod.netns, url, { exec: (argv) => pod.exec('curl', argv), ...options });
  }

  async stop(): Promise<void> {
    for (const pod of this.pods.values()) await pod.stopAll();
    for (const agent of this.agents.values()) await agent.stopAll();
    await this.relay?.close();
    for (const w of this.workloads.values()) await deleteNamespace(w.ns);
    await this.underlay?.destroy();
    await this.env?.stop();
    await removeGenerated(this.generated);
    if (this.dir !== '') await rm(this.dir, { recursive: true, force: true });
  }
}

function sameObject(a: Manifest, b: Manifest): boolean {
  return (
    a.kind === b.kind &&
    a.apiVersion.split('/')[0] === b.apiVersion.split('/')[0] &&
    a.metadata.name === b.metadata.name &&
    a.metadata.namespace === b.metadata.namespace
  );
}
