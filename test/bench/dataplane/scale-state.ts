// The dataplane benchmark's cluster (cluster.ts) as the nftables renderer's input, without an API
// server: its objects go through alp-node's own parsing (ObjectTracker) and calculation
// (PolicyCalculator) and become a DataplaneState as node/enforcement.ts builds it. Also the two
// changes the end-to-end benchmark times: bench-edit's port flip and bench-joiner joining.
import { PolicyCalculator } from '../../../agent/calc/calculator.js';
import type { EndpointView } from '../../../agent/calc/endpoint-view.js';
import { ObjectTracker } from '../../../agent/datastore/object-tracker.js';
import { DEFAULT_ENFORCEMENT_CONFIG, type DataplaneState } from '../../../dataplane/core/index.js';
import { dataplaneState } from '../../../node/dataplane-state.js';
import type { BenchPod, DataplaneCluster, DataplaneClusterOptions } from './cluster.js';
import { BENCH_NODE, dataplaneCluster, editPolicy } from './cluster.js';

function podObject(p: BenchPod, extraLabels: Record<string, string> = {}): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: p.name,
      namespace: p.namespace,
      uid: `uid-${p.namespace}-${p.name}`,
      labels: { ...p.labels, ...extraLabels },
    },
    spec: { nodeName: p.nodeName, containers: [{ name: 'app', image: 'registry.invalid/x:0' }] },
    status: { phase: 'Running', podIP: p.ip, podIPs: [{ ip: p.ip }] },
  };
}

/** The benchmark's cluster, calculated; `state()` is the renderer's input after each change. */
export class ScaleCluster {
  private readonly calc = new PolicyCalculator(BENCH_NODE);
  private readonly tracker: ObjectTracker;
  private readonly views = new Map<string, EndpointView>();
  private readonly cluster: DataplaneCluster;

  constructor(o: DataplaneClusterOptions) {
    this.cluster = dataplaneCluster(o);
    this.tracker = new ObjectTracker({
      onEvent: (e) => this.onEvent(e),
      onRejected: (ref, reason) => {
        throw new Error(`${JSON.stringify(ref)} rejected: ${reason}`);
      },
      onWarning: () => undefined,
    });
    for (const ns of this.cluster.namespaces) this.tracker.upsert(ns);
    for (const p of this.cluster.pods) this.tracker.upsert(podObject(p));
    for (const p of this.cluster.policies) this.tracker.upsert(p);
    this.onEvent({ type: 'in-sync' });
  }

  private onEvent(e: Parameters<PolicyCalculator['apply']>[0]): void {
    const changes = this.calc.apply(e);
    for (const id of changes.endpoints) {
      const v = this.calc.endpointView(id);
      if (v === null) this.views.delete(id);
      else this.views.set(id, v);
    }
  }

  state(): DataplaneState {
    return dataplaneState(this.views.values(), DEFAULT_ENFORCEMENT_CONFIG);
  }

  /** bench-edit allows its port 7000 (`isOpen`) or 7001. */
  setEditOpen(isOpen: boolean): void {
    this.tracker.upsert(editPolicy(isOpen));
  }

  /**
   * A remote pod (the `n`th) moves to another app label and back: it leaves the IP sets of the
   * policies that allowed its app and joins others that already have members (set elements
   * only, no chain changes).
   */
  moveRemotePod(n: number, isMoved: boolean): void {
    const remote = this.cluster.pods.filter((p) => !p.isLocal && p !== this.cluster.joiner);
    const pod = remote[n % remote.length] as BenchPod;
    const app = Number((pod.labels['app'] ?? 'app-0').slice(4));
    this.tracker.upsert(podObject(pod, isMoved ? { app: `app-${(app + 1) % 50}` } : {}));
  }

  /** bench-joiner (a remote pod) gets or loses the label bench-egress allows. */
  setJoined(isJoined: boolean): void {
    this.tracker.upsert(podObject(this.cluster.joiner, isJoined ? { joined: 'yes' } : {}));
  }
}
