// The test's kubelet and CSI driver: runs a pod's containers from its (injected) pod spec as
// processes in the pod's network namespace (or the node's, for hostNetwork), each in a private
// mount namespace where every volumeMount is bind-mounted at its mountPath, so the programs see
// exactly the paths the spec gives them (/var/run/dikastes, /var/run/felix/nodeagent/socket,
// /var/run/nodeagent, …). /run gets a private tmpfs in each container, so nothing is created in
// the host's /run; node-level hostPath directories live under a per-node root directory.
//
// Volumes: emptyDir → a per-pod directory; hostPath → <node root>/<path> (device and module
// paths are the host's own); csi.tigera.io → what Calico's CSI driver does on NodePublishVolume
// (creds/<uid>.json under the node's policy-sync prefix, and mount/<uid>/ bound at
// <mountPath>/nodeagent); the service-account token is mounted where kubelet puts it.
// Other volume kinds (Istio's projected token, config maps, downward API) are not mounted:
// the stand-in proxy does not read them.
import { existsSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, posix } from 'node:path';
import { nsRun, spawnInNamespace, type NsProcess } from '../harness/netns.js';
import type { Container, PodSpec, Volume } from './pod-spec.js';

export interface NodeHost {
  readonly name: string;
  /** The node's network namespace. */
  readonly ns: string;
  readonly hostIp: string;
  /** Stands for the node's root file system, for hostPath volumes. */
  readonly root: string;
}

/** Where a hostPath lives on this test node. */
export function hostPathOn(node: NodeHost, path: string): string {
  return /^\/(var|run|etc)(\/|$)/.test(path) ? join(node.root, path) : path;
}

export interface PodIdentity {
  readonly name: string;
  readonly namespace: string;
  readonly uid: string;
  readonly serviceAccount: string;
  readonly ip: string;
}

/** How a container's image runs here: the argv for it, or null to leave it out. */
export type ContainerRuntime = (pod: PodRun, container: Container) => string[] | null;

/** The in-cluster API endpoint and a token for the pod's service account (kubelet's projection). */
export interface ApiAccess {
  readonly host: string;
  readonly port: number;
  readonly caPem: string;
  token(namespace: string, serviceAccount: string): Promise<string>;
}

interface Bind {
  readonly src: string;
  readonly dst: string;
}

// Mounts a tmpfs on each of the first $1 paths, then binds each (source, target) pair until
// "--", then execs the rest. Constant text: every input is a positional argument.
const MOUNT_SCRIPT = `set -e
n=$1; shift
while [ "$n" -gt 0 ]; do mount -t tmpfs -o mode=0755 tmpfs "$1"; shift; n=$((n-1)); done
while [ "$1" != "--" ]; do mkdir -p "$2"; mount --bind "$1" "$2"; shift 2; done
shift
exec "$@"`;

/** Where a container may get a private tmpfs to hold mount points the host lacks. */
const PRIVATE_ROOTS = ['/var/lib', '/opt', '/srv', '/mnt'];

export class PodRun {
  readonly processes = new Map<string, NsProcess>();
  private readonly volumeBinds = new Map<string, Bind[]>();
  private readonly dir: string;

  constructor(
    readonly identity: PodIdentity,
    readonly spec: PodSpec,
    readonly node: NodeHost,
    /** The pod's network namespace (the node's for hostNetwork pods). */
    readonly netns: string,
    private readonly runtime: ContainerRuntime,
    podsDir: string,
    private readonly api: ApiAccess | null = null,
  ) {
    this.dir = join(podsDir, `${identity.namespace}.${identity.name}`);
  }

  /** Prepares every volume (kubelet's and the CSI driver's part), before any container starts. */
  async prepare(): Promise<void> {
    for (const v of this.spec.volumes ?? []) this.volumeBinds.set(v.name, await this.prepareVolume(v));
    if (this.api !== null && this.spec.serviceAccountName !== undefined) {
      const dir = join(this.dir, 'kube-api-access');
      await mkdir(dir, { recursive: true });
      const token = await this.api.token(this.identity.namespace, this.spec.serviceAccountName);
      await writeFile(join(dir, 'token'), token, { mode: 0o600 });
      await writeFile(join(dir, 'ca.crt'), this.api.caPem);
      await writeFile(join(dir, 'namespace'), this.identity.namespace);
      this.volumeBinds.set('kube-api-access', [{ src: dir, dst: '' }]);
    }
  }

  private async prepareVolume(v: Volume): Promise<Bind[]> {
    if (v.emptyDir !== undefined) {
      const dir = join(this.dir, 'volumes', v.name);
      await mkdir(dir, { recursive: true, mode: 0o777 });
      return [{ src: dir, dst: '' }];
    }
    if (v.hostPath !== undefined) {
      const path = hostPathOn(this.node, v.hostPath.path);
      if (v.hostPath.type === 'DirectoryOrCreate' && !existsSync(path))
        await mkdir(path, { recursive: true });
      return [{ src: path, dst: '' }];
    }
    if (v.csi?.driver === 'csi.tigera.io') {
      // NodePublishVolume of Calico's CSI driver (pod2daemon/csidriver): the host directory
      // <prefix>/mount/<uid> appears as <target>/nodeagent, and the credentials file tells the
      // policy-sync server whose socket to serve there.
      const prefix = hostPathOn(this.node, '/var/run/nodeagent');
      const hostDir = join(prefix, 'mount', this.identity.uid);
      await mkdir(hostDir, { recursive: true });
      await mkdir(join(prefix, 'creds'), { recursive: true });
      const creds = join(prefix, 'creds', `${this.identity.uid}.json`);
      await writeFile(
        `${creds}.tmp`,
        JSON.stringify({
          UID: this.identity.uid,
          Workload: this.identity.name,
          Namespace: this.identity.namespace,
          ServiceAccount: this.identity.serviceAccount,
        }),
      );
      await rename(`${creds}.tmp`, creds);
      const target = join(this.dir, 'volumes', v.name);
      await mkdir(target, { recursive: true });
      return [
        { src: target, dst: '' },
        { src: hostDir, dst: 'nodeagent' },
      ];
    }
    return [];
  }

  /** NodeUnpublishVolume: the credentials file goes, so the policy-sync server closes the socket. */
  async unpublish(): Promise<void> {
    for (const v of this.spec.volumes ?? []) {
      if (v.csi?.driver !== 'csi.tigera.io') continue;
      const prefix = hostPathOn(this.node, '/var/run/nodeagent');
      await rm(join(prefix, 'creds', `${this.identity.uid}.json`), { force: true });
    }
  }

  container(name: string): Container {
    const c = [...(this.spec.initContainers ?? []), ...this.spec.containers].find((x) => x.name === name);
    if (c === undefined) throw new Error(`pod ${this.identity.name} has no container ${name}`);
    return c;
  }

  /** argv that runs `argv` inside the container's mount namespace (network: the pod's). */
  private wrap(container: Container, argv: readonly string[]): string[] {
    const binds: Bind[] = [];
    for (const m of container.volumeMounts ?? []) {
      for (const b of this.volumeBinds.get(m.name) ?? [])
        binds.push({ src: b.src, dst: posix.join(m.mountPath, b.dst) });
    }
    if (this.volumeBinds.has('kube-api-access')) {
      const [b] = this.volumeBinds.get('kube-api-access') as Bind[];
      binds.push({ src: (b as Bind).src, dst: '/var/run/secrets/kubernetes.io/serviceaccount' });
    }
    // A private /run always. A target the host lacks is created on a private tmpfs over its
    // nearest existing ancestor, if that is a data directory (/var/lib, /opt, …); under /etc or
    // /usr it is left out (only Istio's own config volumes land there, and envoy-lite reads none).
    const tmpfs = ['/run'];
    const mounted: Bind[] = [];
    for (const b of binds) {
      if (b.src === b.dst) continue;
      if (/^\/(var\/)?run(\/|$)/.test(b.dst) || existsSync(b.dst)) {
        mounted.push(b);
        continue;
      }
      let ancestor = dirname(b.dst);
      while (!existsSync(ancestor)) ancestor = dirname(ancestor);
      if (!PRIVATE_ROOTS.includes(ancestor)) continue;
      if (!tmpfs.includes(ancestor)) tmpfs.push(ancestor);
      mounted.push(b);
    }
    return [
      'unshare',
      '--mount',
      '--propagation',
      'private',
      '--',
      'sh',
      '-c',
      MOUNT_SCRIPT,
      'sh',
      String(tmpfs.length),
      ...tmpfs,
      ...mounted.flatMap((b) => [b.src, b.dst]),
      '--',
      ...argv,
    ];
  }

  /** The container's environment: its env (values and field references) and the API's address. */
  private envOf(container: Container): Record<string, string> {
    const fields: Record<string, string> = {
      'spec.nodeName': this.node.name,
      'metadata.name': this.identity.name,
      'metadata.namespace': this.identity.namespace,
      'metadata.uid': this.identity.uid,
      'status.podIP': this.identity.ip,
      'status.hostIP': this.node.hostIp,
      'spec.serviceAccountName': this.identity.serviceAccount,
    };
    // Nothing from the test process's Kubernetes or node settings leaks in.
    const env: Record<string, string> = { KUBECONFIG: '', NODENAME: '' };
    if (this.api !== null) {
      env['KUBERNETES_SERVICE_HOST'] = this.api.host;
      env['KUBERNETES_SERVICE_PORT'] = String(this.api.port);
    }
    for (const e of container.env ?? []) {
      const ref = e.valueFrom?.fieldRef?.fieldPath;
      env[e.name] = ref !== undefined ? (fields[ref] ?? '') : (e.value ?? '');
    }
    return env;
  }

  /** Starts a container (again, if it had stopped). */
  start(name: string): NsProcess | null {
    const container = this.container(name);
    const argv = this.runtime(this, container);
    if (argv === null) return null;
    const proc = spawnInNamespace(this.netns, this.wrap(container, argv), this.envOf(container));
    this.processes.set(name, proc);
    return proc;
  }

  /** Runs a command in the container's namespaces to completion (`kubectl exec`, exec probes). */
  exec(name: string, argv: readonly string[]): Promise<string> {
    return nsRun(this.netns, this.wrap(this.container(name), argv));
  }

  /** The container's readiness probe (exec probes only), true when it passes. */
  async ready(name: string): Promise<boolean> {
    const command = this.container(name).readinessProbe?.exec?.command;
    if (command === undefined) return true;
    const argv = this.runtime(this, { ...this.container(name), command, args: [] }) ?? command;
    return this.exec(name, argv).then(
      () => true,
      () => false,
    );
  }

  async stopAll(): Promise<void> {
    for (const p of this.processes.values()) await p.stop(3_000);
    await this.unpublish();
  }
}
