// The Kubernetes datastore (DATASTORE_TYPE=kubernetes): informers on Pods, Namespaces,
// ServiceAccounts, networking.k8s.io/v1 NetworkPolicies and the crd.projectcalico.org/v1 kinds.
// A refused object is reported as a Kubernetes Event on it (reason InvalidPolicy).
import type { KubernetesListObject, KubernetesObject } from '@kubernetes/client-node';
import {
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  NetworkingV1Api,
  makeInformer,
} from '@kubernetes/client-node';
// Typed lists come back as client-node model objects, whose field names differ from the wire for
// reserved words (NetworkPolicy `from` becomes `_from`, ipBlock `except` becomes `_except`), while
// watch events are raw JSON. We turn list items back into wire JSON so both look alike.
// (Not re-exported from the package root; the version is pinned to ~1.4.)
import { ObjectSerializer } from '@kubernetes/client-node/dist/gen/models/ObjectSerializer.js';
import type { Logger } from '../../daemon/log.js';
import type { Datastore, DatastoreCallbacks } from './object-tracker.js';
import { ObjectTracker } from './object-tracker.js';
import type { ObjectRef } from './parse-object.js';
import { describeRef } from './parse-object.js';

export interface KubernetesDatastoreOptions {
  /** A loaded client configuration (alp-node's main builds one); wins over kubeconfigPath. */
  readonly kubeConfig?: KubeConfig;
  /** Path of a kubeconfig; default: KUBECONFIG / ~/.kube/config, else in-cluster config. */
  readonly kubeconfigPath?: string;
  readonly log: Logger;
  /** Shown as the Event source host; the node this agent serves. */
  readonly nodeName: string;
  /** Post a Kubernetes Event for each refused object (default true). */
  readonly reportEvents?: boolean;
  /** Delay before re-listing after a watch error. */
  readonly retryDelayMs?: number;
}

interface WatchedKind {
  readonly apiVersion: string;
  readonly kind: string;
  readonly path: string;
  /** client-node model name for typed lists (V1Pod …); null when the list is raw JSON already. */
  readonly model: string | null;
  readonly list: () => Promise<KubernetesListObject<KubernetesObject>>;
  /** Missing CRDs (e.g. staged kinds on an older Calico) are tolerated. */
  readonly optional: boolean;
}

const CALICO_GROUP = 'crd.projectcalico.org';
const CALICO_PLURALS: readonly [string, string, boolean][] = [
  ['GlobalNetworkPolicy', 'globalnetworkpolicies', false],
  ['NetworkPolicy', 'networkpolicies', false],
  ['Tier', 'tiers', true],
  ['GlobalNetworkSet', 'globalnetworksets', true],
  ['NetworkSet', 'networksets', true],
  ['StagedGlobalNetworkPolicy', 'stagedglobalnetworkpolicies', true],
  ['StagedNetworkPolicy', 'stagednetworkpolicies', true],
  ['StagedKubernetesNetworkPolicy', 'stagedkubernetesnetworkpolicies', true],
];

export class KubernetesDatastore implements Datastore {
  private readonly kc: KubeConfig;
  private readonly stoppers: (() => Promise<void>)[] = [];
  private closed = false;

  constructor(private readonly opts: KubernetesDatastoreOptions) {
    if (opts.kubeConfig !== undefined) {
      this.kc = opts.kubeConfig;
      return;
    }
    this.kc = new KubeConfig();
    if (opts.kubeconfigPath !== undefined && opts.kubeconfigPath !== '')
      this.kc.loadFromFile(opts.kubeconfigPath);
    else this.kc.loadFromDefault();
  }

  async start(callbacks: DatastoreCallbacks): Promise<void> {
    const reporting: DatastoreCallbacks = {
      onEvent: (e) => callbacks.onEvent(e),
      onRejected: (ref, reason) => {
        callbacks.onRejected(ref, reason);
        if (this.opts.reportEvents !== false) void this.postEvent(ref, reason);
      },
      onWarning: (ref, message) => callbacks.onWarning(ref, message),
    };
    const tracker = new ObjectTracker(reporting);
    await Promise.all(this.kinds().map((k) => this.watchKind(k, tracker)));
    callbacks.onEvent({ type: 'in-sync' });
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.stoppers.map((s) => s()));
  }

  private kinds(): WatchedKind[] {
    const core = this.kc.makeApiClient(CoreV1Api);
    const net = this.kc.makeApiClient(NetworkingV1Api);
    const custom = this.kc.makeApiClient(CustomObjectsApi);
    const kinds: WatchedKind[] = [
      {
        apiVersion: 'v1',
        kind: 'Namespace',
        path: '/api/v1/namespaces',
        model: 'V1Namespace',
        list: () => core.listNamespace(),
        optional: false,
      },
      {
        apiVersion: 'v1',
        kind: 'ServiceAccount',
        path: '/api/v1/serviceaccounts',
        model: 'V1ServiceAccount',
        list: () => core.listServiceAccountForAllNamespaces(),
        optional: false,
      },
      {
        apiVersion: 'v1',
        kind: 'Pod',
        path: '/api/v1/pods',
        model: 'V1Pod',
        list: () => core.listPodForAllNamespaces(),
        optional: false,
      },
      {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'NetworkPolicy',
        path: '/apis/networking.k8s.io/v1/networkpolicies',
        model: 'V1NetworkPolicy',
        list: () => net.listNetworkPolicyForAllNamespaces(),
        optional: false,
      },
    ];
    for (const [kind, plural, optional] of CALICO_PLURALS) {
      kinds.push({
        apiVersion: `${CALICO_GROUP}/v1`,
        kind,
        path: `/apis/${CALICO_GROUP}/v1/${plural}`,
        model: null,
        list: async () =>
          (await custom.listClusterCustomObject({
            group: CALICO_GROUP,
            version: 'v1',
            plural,
          })) as KubernetesListObject<KubernetesObject>,
        optional,
      });
    }
    return kinds;
  }

  /** Lists and watches one kind; resolves after the first successful list (or a tolerated 404). */
  private watchKind(k: WatchedKind, tracker: ObjectTracker): Promise<void> {
    const log = this.opts.log.child({ kind: k.kind });
    // Typed lists drop apiVersion and kind from items; stamp them back so parsing can dispatch.
    const stamp = (o: KubernetesObject): KubernetesObject => ({
      ...o,
      apiVersion: k.apiVersion,
      kind: k.kind,
    });
    const informer = makeInformer(this.kc, k.path, async () => {
      const list = await k.list();
      const wire = (o: KubernetesObject): KubernetesObject =>
        k.model === null ? o : (ObjectSerializer.serialize(o, k.model, '') as KubernetesObject);
      return { ...list, items: list.items.map((o) => stamp(wire(o))) };
    });
    informer.on('add', (o) => tracker.upsert(stamp(o)));
    informer.on('update', (o) => tracker.upsert(stamp(o)));
    informer.on('delete', (o) => tracker.remove(stamp(o)));
    this.stoppers.push(() => informer.stop());
    return new Promise<void>((resolve) => {
      let synced = false;
      let errors = 0;
      const markSynced = () => {
        if (!synced) resolve();
        synced = true;
      };
      // start() resolves even when its list failed (the failure goes to 'error' first), so an
      // attempt counts as synced only if no error arrived during it.
      const attempt = () => {
        const before = errors;
        informer.start().then(() => {
          if (errors === before) markSynced();
        }, onError);
      };
      const onError = (err: unknown) => {
        errors++;
        if (this.closed) return;
        if (isNotFound(err) && k.optional) {
          if (!synced) log.info('resource kind not installed; watching for it');
          markSynced();
        } else {
          log.warn({ err: errorMessage(err) }, 'watch failed; retrying');
        }
        setTimeout(() => {
          if (!this.closed) attempt();
        }, this.opts.retryDelayMs ?? 2000).unref();
      };
      informer.on('error', onError);
      attempt();
    });
  }

  private async postEvent(ref: ObjectRef, reason: string): Promise<void> {
    const core = this.kc.makeApiClient(CoreV1Api);
    const namespace = ref.namespace === '' ? 'default' : ref.namespace;
    const now = new Date();
    try {
      await core.createNamespacedEvent({
        namespace,
        body: {
          metadata: { generateName: `${ref.name}.`, namespace },
          involvedObject: {
            apiVersion: ref.apiVersion,
            kind: ref.kind,
            name: ref.name,
            namespace: ref.namespace || undefined,
            uid: ref.uid || undefined,
          },
          reason: 'InvalidPolicy',
          message: `alp-node refused ${describeRef(ref)}: ${reason}`.slice(0, 1024),
          type: 'Warning',
          source: { component: 'alp-node', host: this.opts.nodeName },
          firstTimestamp: now,
          lastTimestamp: now,
          count: 1,
        },
      });
    } catch (err) {
      this.opts.log.warn(
        { object: describeRef(ref), err: errorMessage(err) },
        'cannot post Kubernetes Event',
      );
    }
  }
}

function isNotFound(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { code?: unknown; statusCode?: unknown };
  return e.code === 404 || e.statusCode === 404;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
