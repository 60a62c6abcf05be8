// The benchmarked node as network namespaces, wired as Calico's CNI and a real node are:
//
// - the node namespace: IP forwarding; eth0 (192.0.2.1/24) to a "rest of the cluster" namespace
//   that holds the remote pod addresses (so pod traffic to another node leaves by eth0, and
//   169.254.1.1 routes out of an interface other than the pods' veths, which proxy ARP needs);
// - a namespace per local pod: eth0 with the pod's /32 and a default route via 169.254.1.1; the
//   node's end is `cali` + sha1(<namespace>.<pod>)[:11], with proxy ARP and a /32 route to the pod
//   (the harness's createPod, as Felix wires it).
//
// The daemon under test (alp-node or Felix) then runs in the node namespace. Everything is made
// through test/harness/netns.ts, so it is deleted by name at the end (and at exit).
import { inParallel } from '../../harness/in-parallel.js';
import { addVeth, createNamespace, createPod, deleteNamespace, nsRun, run } from '../../harness/netns.js';
import { calicoInterfaceName, LOCAL_POD_RANGE, type BenchPod } from './cluster.js';

export interface NodeTopology {
  readonly nodeNs: string;
  /** The other nodes: holds every remote pod address the benchmark probes. */
  readonly remoteNs: string;
  /** Pod namespace by pod name. */
  readonly podNs: ReadonlyMap<string, string>;
  destroy(): Promise<void>;
}

export async function createNodeTopology(
  localPods: readonly BenchPod[],
  remoteAddresses: readonly string[],
): Promise<NodeTopology> {
  const made: string[] = [];
  const nodeNs = await createNamespace('node');
  made.push(nodeNs);
  const destroy = async () => {
    for (const ns of made.reverse()) await deleteNamespace(ns);
  };
  try {
    const remoteNs = await createNamespace('rest');
    made.push(remoteNs);
    await nsRun(nodeNs, ['sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);
    await addVeth(nodeNs, 'eth0', remoteNs);
    const both = `
      ip -n ${nodeNs} addr add 192.0.2.1/24 dev eth0
      ip -n ${nodeNs} link set eth0 up
      ip -n ${nodeNs} route add default via 192.0.2.2 dev eth0
      ip -n ${remoteNs} addr add 192.0.2.2/24 dev eth0
      ip -n ${remoteNs} link set eth0 up
      ip -n ${remoteNs} route add ${LOCAL_POD_RANGE} via 192.0.2.1 dev eth0`;
    for (const line of both.trim().split('\n')) await run(line.trim().split(/\s+/));
    await nsRun(
      remoteNs,
      ['ip', '-batch', '-'],
      remoteAddresses.map((a) => `addr add ${a}/32 dev lo`).join('\n'),
    );

    const podNs = new Map<string, string>();
    await inParallel(localPods, 4, async (pod) => {
      const { ns } = await createPod(nodeNs, {
        ip: pod.ip,
        hostSide: calicoInterfaceName(pod.namespace, pod.name),
        node: 'proxy-arp',
      });
      made.push(ns);
      podNs.set(pod.name, ns);
      await nsRun(ns, ['sysctl', '-q', '-w', 'net.ipv4.ip_local_port_range=1024 65535']);
    });
    return { nodeNs, remoteNs, podNs, destroy };
  } catch (err) {
    await destroy();
    throw err;
  }
}
