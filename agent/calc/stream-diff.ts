// What to send on one PolicySync stream to take its client from what it has been sent to the
// current view, in the order of spec dikastes.md §2.4: IP sets, then policies, then profiles,
// then the endpoint, then removals; then service accounts, namespaces, and InSync once.
// Pure: views and sent state are immutable and compared by reference, so an unchanged policy
// or IP set costs nothing.
import type { Labels } from '../../calico/labels.js';
import type {
  ClusterView,
  EndpointView,
  IpSetContent,
  PolicyEntry,
  ServiceAccountEntry,
} from './endpoint-view.js';
import type { ProfileWire, ToDataplane } from './to-dataplane.js';
import {
  endpointRemove,
  endpointUpdate,
  inSync,
  ipSetDeltaMessages,
  ipSetRemove,
  ipSetUpdateMessages,
  namespaceRemove,
  namespaceUpdate,
  policyRemove,
  policyUpdate,
  profileRemove,
  profileUpdate,
  serviceAccountRemove,
  serviceAccountUpdate,
} from './to-dataplane.js';

/** What the client holds, as far as this stream has told it. */
export interface SentState {
  readonly endpointText: string | null;
  readonly policies: ReadonlyMap<string, PolicyEntry>;
  readonly profiles: ReadonlyMap<string, ProfileWire>;
  readonly ipSets: ReadonlyMap<string, IpSetContent>;
  readonly namespaces: ReadonlyMap<string, Labels>;
  readonly serviceAccounts: ReadonlyMap<string, ServiceAccountEntry>;
  readonly inSync: boolean;
}

export const NOTHING_SENT: SentState = {
  endpointText: null,
  policies: new Map(),
  profiles: new Map(),
  ipSets: new Map(),
  namespaces: new Map(),
  serviceAccounts: new Map(),
  inSync: false,
};

export interface StreamDiff {
  readonly messages: ToDataplane[];
  readonly sent: SentState;
  /** The endpoint went away: after these messages the stream must end (as Felix closes it). */
  readonly endStream: boolean;
}

export function diffStream(
  workloadId: string,
  sent: SentState,
  view: EndpointView | null,
  cluster: ClusterView,
): StreamDiff {
  const messages: ToDataplane[] = [];
  if (view === null) {
    if (sent.endpointText !== null) return { messages: [endpointRemove(workloadId)], sent, endStream: true };
  }
  const endpointPart = view === null ? null : diffEndpoint(workloadId, sent, view, messages);

  const serviceAccounts = cluster.serviceAccounts;
  for (const [key, sa] of serviceAccounts) {
    if (sent.serviceAccounts.get(key) !== sa)
      messages.push(serviceAccountUpdate(sa.namespace, sa.name, sa.labels));
  }
  for (const [key, sa] of sent.serviceAccounts) {
    if (!serviceAccounts.has(key)) messages.push(serviceAccountRemove(sa.namespace, sa.name));
  }
  for (const [name, labels] of cluster.namespaces) {
    if (sent.namespaces.get(name) !== labels) messages.push(namespaceUpdate(name, labels));
  }
  for (const name of sent.namespaces.keys())
    if (!cluster.namespaces.has(name)) messages.push(namespaceRemove(name));
  if (cluster.inSync && !sent.inSync) messages.push(inSync());

  return {
    messages,
    sent: {
      ...(endpointPart ?? sent),
      namespaces: cluster.namespaces,
      serviceAccounts,
      inSync: sent.inSync || cluster.inSync,
    },
    endStream: false,
  };
}

type EndpointPart = Pick<SentState, 'endpointText' | 'policies' | 'profiles' | 'ipSets'>;

function diffEndpoint(
  workloadId: string,
  sent: SentState,
  view: EndpointView,
  out: ToDataplane[],
): EndpointPart {
  for (const [id, content] of view.ipSets) out.push(...ipSetMessages(id, sent.ipSets.get(id), content));

  const policies = new Map<string, PolicyEntry>();
  for (const entry of view.policies) {
    policies.set(entry.key, entry);
    if (sent.policies.get(entry.key)?.wire !== entry.wire) out.push(policyUpdate(entry.id, entry.wire));
  }
  for (const [name, profile] of view.profiles) {
    if (sent.profiles.get(name) !== profile) out.push(profileUpdate(name, profile));
  }
  if (view.endpointText !== sent.endpointText) out.push(endpointUpdate(workloadId, view.endpoint));

  for (const [key, entry] of sent.policies) if (!policies.has(key)) out.push(policyRemove(entry.id));
  for (const name of sent.profiles.keys()) if (!view.profiles.has(name)) out.push(profileRemove(name));
  for (const id of sent.ipSets.keys()) if (!view.ipSets.has(id)) out.push(ipSetRemove(id));
  return { endpointText: view.endpointText, policies, profiles: view.profiles, ipSets: view.ipSets };
}

/**
 * A new set goes out in full; a changed one as deltas, unless the client is so far behind that
 * the deltas would outweigh the set, in which case it is resent in full (a per-set resync).
 */
export function ipSetMessages(id: string, prev: IpSetContent | undefined, next: IpSetContent): ToDataplane[] {
  if (prev === undefined || prev.type !== next.type) return ipSetUpdateMessages(id, next.type, next.members);
  if (prev.members === next.members) return [];
  const added: string[] = [];
  const removed: string[] = [];
  for (const m of next.members) if (!prev.members.has(m)) added.push(m);
  for (const m of prev.members) if (!next.members.has(m)) removed.push(m);
  if (added.length === 0 && removed.length === 0) return [];
  if (added.length + removed.length > next.members.size)
    return ipSetUpdateMessages(id, next.type, next.members);
  return ipSetDeltaMessages(id, added, removed);
}
