// The Kubernetes datastore (DATASTORE_TYPE=kubernetes): a reflector (paginated list, then watch,
// with deadlines and jittered back-off) on each of Pods, Namespaces, ServiceAccounts,
// networking.k8s.io/v1 NetworkPolicies and the crd.projectcalico.org/v1 kinds. A refused object is
// reported as a Kubernetes Event on it (reason InvalidPolicy), once per revision cluster-wide.
import { createHash } from 'node:crypto';
import type { KubernetesListObject, KubernetesObject } from '@kubernetes/client-node';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { Registry } from 'prom-client';
import { apiErrorCode, describeApiError, getBody, getJson, makeApiClient } from '../../kube/api-client.js';
import { listObject, type ListPage, type ListRequest } from '../../kube/list-pages.js';
import { PodListStream, PodProtobufError, PROTOBUF_CONTENT_TYPE } from '../../kube/pod-protobuf.js';
import { Reflector, reflectorMetrics, type ReflectorTuning } from '../../kube/reflector.js';
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
  /** Where the watch metrics go (default: a private registry). */
  readonly registry?: Registry;
  /** start() rejects on the first failed list instead of retrying (a one-shot read). */
  readonly isFailFast?: boolean;
  readonly watchTuning?: Partial<ReflectorTuning>;
}

interface WatchedKind {
  readonly apiVersion: string;
  readonly kind: string;
  readonly path: string;
  readonly list: ListPage;
  /** Missing CRDs (e.g. staged kinds on an older Calico) are tolerated. */
  readonly optional: boolean;
}

/** Protobuf first, JSON as the fallback, as client-go asks for built-in kinds. */
const POD_LIST_ACCEPT = `${PROTOBUF_CONTENT_TYPE}, application/json`;

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
  private readonly reflectors: Reflector[] = [];
  /** Ends requests in flight on close(), rather than waiting out their deadline. */
  private readonly closing = new AbortController();
  private readonly postingEvents = new Set<Promise<void>>();
  private isClosed = false;

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

  /** Resolves once every kind is listed (or known to be missing); rejects if closed first. */
  async start(callbacks: DatastoreCallbacks): Promise<void> {
    const reporting: DatastoreCallbacks = {
      onEvent: (e) => callbacks.onEvent(e),
      onRejected: (ref, reason) => {
        callbacks.onRejected(ref, reason);
        if (this.opts.reportEvents !== false) {
          const posting = this.postEvent(ref, reason).finally(() => this.postingEvents.delete(posting));
          this.postingEvents.add(posting);
        }
      },
      onWarning: (ref, message) => callbacks.onWarning(ref, message),
    };
    const tracker = new ObjectTracker(reporting);
    const metrics = reflectorMetrics(this.opts.registry ?? new Registry());
    for (const k of this.kinds()) {
      // A list's items of built-in kinds carry no apiVersion and kind; stamp them so parsing can
      // dispatch (the protobuf pod reader already did). The objects are fresh and ours: stamped in
      // place, not copied.
      const stamp = (o: KubernetesObject): KubernetesObject => {
        if (typeof o !== 'object' || o === null) return { apiVersion: k.apiVersion, kind: k.kind };
        if (o.apiVersion !== k.apiVersion || o.kind !== k.kind) {
          o.apiVersion = k.apiVersion;
          o.kind = k.kind;
        }
        return o;
      };
      const listPage: ListPage = async (request, onItem) => {
        const list = await k.list(request, onItem === undefined ? undefined : (item) => onItem(stamp(item)));
        for (const item of list.items) stamp(item);
        return list;
      };
      this.reflectors.push(
        new Reflector({
          kubeConfig: this.kc,
          resource: resourceName(k.path),
          path: k.path,
          listPage,
          log: this.opts.log.child({ kind: k.kind }),
          metrics,
          isOptional: k.optional,
          ...(this.opts.isFailFast === true ? { isFailFast: true } : {}),
          ...(this.opts.watchTuning === undefined ? {} : { tuning: this.opts.watchTuning }),
          onUpsert: (o) => void tracker.upsert(stamp(o)),
          onDelete: (o) => tracker.remove(stamp(o)),
          // The tracker and the calculation keep what they need; the store only the identity.
          retain: identity,
        }),
      );
    }
    if (this.isClosed) throw new Error('the Kubernetes datastore was closed before it started');
    await Promise.all(this.reflectors.map((r) => r.start()));
    callbacks.onEvent({ type: 'in-sync' });
  }

  /** Resolves when no InvalidPolicy Event is being posted (tests). */
  async eventsPosted(): Promise<void> {
    while (this.postingEvents.size > 0) await Promise.all(this.postingEvents);
  }

  async close(): Promise<void> {
    this.isClosed = true;
    this.closing.abort();
    await Promise.all(this.reflectors.map((r) => r.close()));
  }

  private kinds(): WatchedKind[] {
    const signal = this.closing.signal;
    // Every kind is listed as the wire's plain JSON, as the watch delivers it: client-node's typed
    // models rename reserved words (`from` becomes `_from`), turn dates into Date objects and cost
    // a deserialization pass over every field of every object (most of a 5,000-pod list's time).
    const query = (request: ListRequest) => ({
      limit: request.limit,
      continue: request._continue,
      resourceVersion: request.resourceVersion,
      resourceVersionMatch: request.resourceVersionMatch,
    });
    const rawList =
      (path: string) =>
      async (request: ListRequest): Promise<KubernetesListObject<KubernetesObject>> =>
        listObject(await getJson(this.kc, path, query(request), { signal }), path);
    // Pods, the bulk of a start, are listed as protobuf and read into the few fields alp-node
    // uses (kube/pod-protobuf.ts): no JSON encoding on the server, no JSON.parse and its garbage
    // here. The answer is read as it arrives (the API server writes it pod by pod), each pod
    // handed on as soon as it is read. JSON stays acceptable, as client-go asks: a server or
    // proxy that ignores protobuf answers JSON, read as before.
    const podList: ListPage = async (request, onItem) => {
      const path = '/api/v1/pods';
      let stream: PodListStream | null = null;
      const readBody = (contentType: string) => {
        if (contentType !== PROTOBUF_CONTENT_TYPE) return null;
        const reading = new PodListStream();
        stream = reading;
        return (chunk: Buffer): void => {
          const pods = reading.push(chunk);
          if (onItem !== undefined) for (const pod of pods) onItem(pod as unknown as KubernetesObject);
        };
      };
      try {
        const answer = await getBody(this.kc, path, query(request), POD_LIST_ACCEPT, { signal, readBody });
        if (stream !== null)
          return (stream as PodListStream).end() as unknown as KubernetesListObject<KubernetesObject>;
        return listObject(JSON.parse(answer.body.toString('utf8')), path);
      } catch (err) {
        if (!(err instanceof PodProtobufError)) throw err;
        // Fail closed but keep going: this page is asked for again as JSON (same query, same
        // snapshot), so a server whose protobuf this reader cannot read still gets its pods in.
        // Pods handed on before the damage are confirmed or undone by the list as a whole.
        this.opts.log.warn({ err: err.message }, 'cannot read the protobuf pod list; listing as JSON');
        return rawList(path)(request);
      }
    };
    const builtIn: readonly (readonly [apiVersion: string, kind: string, path: string])[] = [
      ['v1', 'Namespace', '/api/v1/namespaces'],
      ['v1', 'ServiceAccount', '/api/v1/serviceaccounts'],
      ['v1', 'Pod', '/api/v1/pods'],
      ['networking.k8s.io/v1', 'NetworkPolicy', '/apis/networking.k8s.io/v1/networkpolicies'],
    ];
    const kinds: WatchedKind[] = builtIn.map(([apiVersion, kind, path]) => ({
      apiVersion,
      kind,
      path,
      list: kind === 'Pod' ? podList : rawList(path),
      optional: false,
    }));
    for (const [kind, plural, optional] of CALICO_PLURALS) {
      const path = `/apis/${CALICO_GROUP}/v1/${plural}`;
      kinds.push({ apiVersion: `${CALICO_GROUP}/v1`, kind, path, list: rawList(path), optional });
    }
    return kinds;
  }

  /**
   * Posts the InvalidPolicy Event for one revision of a refused object. Every node sees the same
   * revision and refuses it for the same reason, so the Event's name is derived from exactly
   * those: the first node creates it, and the others get AlreadyExists and are done.
   */
  private async postEvent(ref: ObjectRef, reason: string): Promise<void> {
    const core = makeApiClient(this.kc, CoreV1Api, { signal: this.closing.signal });
    const namespace = ref.namespace === '' ? 'default' : ref.namespace;
    const now = new Date();
    try {
      await core.createNamespacedEvent({
        namespace,
        body: {
          metadata: { name: invalidObjectEventName(ref, reason), namespace },
          involvedObject: {
            apiVersion: ref.apiVersion,
            kind: ref.kind,
            name: ref.name,
            namespace: ref.namespace || undefined,
            uid: ref.uid || undefined,
            resourceVersion: ref.resourceVersion || undefined,
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
      if (apiErrorCode(err) === 409) return; // another node reported this revision already
      this.opts.log.warn(
        { object: describeRef(ref), err: describeApiError(err) },
        'cannot post Kubernetes Event',
      );
    }
  }
}

/**
 * `<object name>.<hash>`: the hash covers the object's uid, resourceVersion and the reason, so
 * it names one problem with one revision, the same on every node. Kept within the 253 characters
 * of a Kubernetes name.
 */
export function invalidObjectEventName(ref: ObjectRef, reason: string): string {
  const hash = createHash('sha256')
    .update(
      `${ref.apiVersion}\n${ref.kind}\n${ref.namespace}\n${ref.name}\n${ref.uid}\n${ref.resourceVersion}\n${reason}`,
    )
    .digest('hex')
    .slice(0, 20);
  return `${ref.name.slice(0, 200).replace(/[.-]+$/, '')}.${hash}`;
}

/** An object's identity: all a deletion needs (the tracker keys objects by it). */
function identity(o: KubernetesObject): KubernetesObject {
  const m = o.metadata ?? {};
  return {
    apiVersion: o.apiVersion,
    kind: o.kind,
    metadata: { name: m.name, namespace: m.namespace, uid: m.uid, resourceVersion: m.resourceVersion },
  } as KubernetesObject;
}

/** kubectl's name for a collection path: `pods`, `networkpolicies.crd.projectcalico.org`. */
function resourceName(path: string): string {
  const parts = path.split('/').filter((p) => p !== '');
  const plural = parts.at(-1) ?? path;
  return parts[0] === 'apis' && parts[1] !== undefined ? `${plural}.${parts[1]}` : plural;
}
