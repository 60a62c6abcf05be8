// `alp-node explain`: what would the destination pod's sidecar answer to this request, and
// which tier, policy and rule decide it? The resources go through the agent's calculation, the
// resulting PolicySync messages through the real protobuf encoding into the sidecar's own policy
// store, and the request through the sidecar's own decide() — no second evaluator to drift.
import type { Verdict } from '../policy/decide.js';
import { decide, describeDecision } from '../policy/decide.js';
import { flowFromCheckRequest } from '../policy/flow.js';
import { PolicyStore } from '../policy/policy-store.js';
import { parseIp } from '../calico/ip.js';
import { protocolLabel, protocolNumber, type ProtocolSpec } from '../calico/rule-spec.js';
import type { CheckRequest } from '../proto/gen/envoy/service/auth/v3/CheckRequest.js';
import { loadExtAuthz, loadFelix } from '../proto/load.js';
import { PolicyCalculator } from './calc/calculator.js';
import type { PodInfo, ResourceEvent } from './calc/cluster-model.js';
import { workloadId } from './calc/cluster-model.js';
import { diffStream, NOTHING_SENT } from './calc/stream-diff.js';
import type { Datastore } from './datastore/object-tracker.js';
import type { ObjectRef } from './datastore/parse-object.js';
import { describeRef } from './datastore/parse-object.js';

export type ExplainSource =
  /** A pod: its first IP and the SPIFFE identity of its service account. */
  | { readonly kind: 'pod'; readonly pod: string }
  /** An identity given by hand; a null service account means plaintext (no principal). */
  | { readonly kind: 'identity'; readonly serviceAccount: string | null; readonly ip: string | null };

export interface ExplainRequest {
  readonly from: ExplainSource;
  /** Destination pod, `<namespace>/<name>`. */
  readonly to: string;
  readonly port: number;
  /** null: a TCP-level check (Envoy's network filter), with no HTTP attributes. */
  readonly method: string | null;
  readonly path: string;
  readonly protocol: 'TCP' | 'UDP';
  readonly trustDomain: string;
  /** The client's port (default 45000, an ephemeral port as a client would have). */
  readonly sourcePort?: number;
}

/** Where a connection goes: a pod by name, or an address (a pod's or not). */
export type ExplainDestination =
  { readonly kind: 'pod'; readonly pod: string } | { readonly kind: 'ip'; readonly ip: string };

/**
 * The connection `alp-node explain` is asked about, before it is known whether a sidecar sees it:
 * the sidecar judges TCP and UDP to a pod, the kernel any 5-tuple.
 */
export interface ExplainQuery {
  readonly from: ExplainSource;
  readonly to: ExplainDestination;
  readonly protocol: ProtocolSpec;
  /** Destination port; null for a protocol without ports. */
  readonly port: number | null;
  /** Source port; null: any. */
  readonly fromPort: number | null;
  readonly icmpType: number | null;
  readonly icmpCode: number | null;
  /** null: a TCP-level check (Envoy's network filter), with no HTTP attributes. */
  readonly method: string | null;
  readonly path: string;
  readonly trustDomain: string;
}

export type SidecarQuestion =
  | { readonly kind: 'request'; readonly request: ExplainRequest }
  /** No sidecar sees this connection, and why. */
  | { readonly kind: 'none'; readonly reason: string };

/** The request the destination's sidecar would be asked, if one sees the connection at all. */
export function sidecarQuestion(events: readonly ResourceEvent[], q: ExplainQuery): SidecarQuestion {
  const number = protocolNumber(q.protocol);
  if ((number !== 6 && number !== 17) || q.port === null)
    return { kind: 'none', reason: `a sidecar sees TCP and UDP, not ${protocolLabel(q.protocol)}` };
  let to: string;
  if (q.to.kind === 'pod') to = q.to.pod;
  else {
    const pod = podWithIp(events, q.to.ip);
    if (pod === undefined) return { kind: 'none', reason: `no pod has ${q.to.ip}` };
    to = workloadId(pod.namespace, pod.name);
  }
  const { from, port, method, path, trustDomain } = q;
  const protocol = number === 6 ? 'TCP' : 'UDP';
  const request: ExplainRequest = { from, to, port, method, path, protocol, trustDomain };
  return { kind: 'request', request: q.fromPort === null ? request : { ...request, sourcePort: q.fromPort } };
}

/** The pod that has `ip` among its addresses (compared in canonical form: `0:0::1` is `::1`). */
export function podWithIp(events: readonly ResourceEvent[], ip: string): PodInfo | undefined {
  const want = parseIp(ip)?.text;
  if (want === undefined) return undefined;
  for (const e of events)
    if (
      e.type === 'upsert' &&
      e.resource.kind === 'Pod' &&
      e.resource.pod.ips.some((a) => parseIp(a)?.text === want)
    )
      return e.resource.pod;
  return undefined;
}

export interface Explanation {
  readonly request: ExplainRequest;
  readonly destination: PodInfo;
  readonly sourceIp: string | null;
  readonly sourcePrincipal: string;
  readonly verdict: Verdict;
}

export type ExplainResult =
  { readonly ok: true; readonly value: Explanation } | { readonly ok: false; readonly reason: string };

/** Evaluates a request against a snapshot of resource events (as a datastore delivers them). */
export function explainRequest(events: readonly ResourceEvent[], req: ExplainRequest): ExplainResult {
  const pods = new Map<string, PodInfo>();
  for (const e of events)
    if (e.type === 'upsert' && e.resource.kind === 'Pod')
      pods.set(workloadId(e.resource.pod.namespace, e.resource.pod.name), e.resource.pod);
  const destination = pods.get(req.to);
  if (destination === undefined) return { ok: false, reason: `destination pod ${req.to} not found` };
  if (destination.ips.length === 0) return { ok: false, reason: `destination pod ${req.to} has no IP yet` };

  let sourceIp: string | null;
  let sourcePrincipal = '';
  if (req.from.kind === 'pod') {
    const src = pods.get(req.from.pod);
    if (src === undefined) return { ok: false, reason: `source pod ${req.from.pod} not found` };
    sourceIp = src.ips[0] ?? null;
    sourcePrincipal = spiffe(req.trustDomain, src.namespace, src.serviceAccount || 'default');
  } else {
    if (req.from.ip !== null && parseIp(req.from.ip) === null)
      return { ok: false, reason: `invalid source IP ${req.from.ip}` };
    sourceIp = req.from.ip;
    if (req.from.serviceAccount !== null) {
      const [ns, sa] = req.from.serviceAccount.split('/');
      if (!ns || !sa)
        return {
          ok: false,
          reason: `service account must be <namespace>/<name>, got ${req.from.serviceAccount}`,
        };
      sourcePrincipal = spiffe(req.trustDomain, ns, sa);
    }
  }

  // The calculation as the destination's node would run it.
  const calc = new PolicyCalculator(destination.nodeName);
  for (const e of events) calc.apply(e);
  calc.apply({ type: 'in-sync' });
  const store = new PolicyStore();
  const { Sync } = loadFelix().felix.PolicySync.service;
  const messages = diffStream(req.to, NOTHING_SENT, calc.endpointView(req.to), calc.clusterView()).messages;
  for (const msg of messages) {
    if (msg.in_sync !== undefined) continue;
    store.apply(Sync.responseDeserialize(Sync.responseSerialize(msg)));
  }

  const { Check } = loadExtAuthz().envoy.service.auth.v3.Authorization.service;
  const check = Check.requestDeserialize(
    Check.requestSerialize(checkRequest(req, sourceIp, sourcePrincipal, destination)),
  );
  const verdict = decide(store, flowFromCheckRequest(check));
  return { ok: true, value: { request: req, destination, sourceIp, sourcePrincipal, verdict } };
}

function spiffe(trustDomain: string, namespace: string, sa: string): string {
  return `spiffe://${trustDomain}/ns/${namespace}/sa/${sa}`;
}

/** The Check an explained request amounts to: send it to the real sidecar to compare. */
export function checkRequestFor(e: Explanation): CheckRequest {
  return checkRequest(e.request, e.sourceIp, e.sourcePrincipal, e.destination);
}

/** What Envoy's inbound ext_authz filter would send to the destination's sidecar. */
function checkRequest(
  req: ExplainRequest,
  sourceIp: string | null,
  principal: string,
  dst: PodInfo,
): CheckRequest {
  const destinationPrincipal = spiffe(req.trustDomain, dst.namespace, dst.serviceAccount || 'default');
  return {
    attributes: {
      source: {
        principal,
        address:
          sourceIp === null
            ? undefined
            : { socket_address: { address: sourceIp, port_value: req.sourcePort ?? 45000 } },
      },
      destination: {
        principal: destinationPrincipal,
        address: { socket_address: { address: dst.ips[0], port_value: req.port, protocol: req.protocol } },
      },
      request:
        req.method === null ? undefined : { http: { method: req.method, path: req.path, headers: {} } },
    },
  };
}

const CODE_NAMES: Readonly<Record<number, string>> = {
  0: 'OK',
  3: 'INVALID_ARGUMENT',
  7: 'PERMISSION_DENIED',
  13: 'INTERNAL',
};

/** The verdict in words: ALLOW or DENY, and what decided it. */
export function describeVerdict(v: Verdict): { readonly verdict: 'ALLOW' | 'DENY'; readonly reason: string } {
  return { verdict: v.code === 0 ? 'ALLOW' : 'DENY', reason: describeDecision(v) };
}

export function formatExplanation(e: Explanation): string {
  const r = e.request;
  const what = r.method === null ? `${r.protocol} connection` : `${r.method} ${r.path}`;
  const from = r.from.kind === 'pod' ? r.from.pod : (r.from.serviceAccount ?? 'anonymous');
  const { verdict, reason } = describeVerdict(e.verdict);
  const lines = [
    `request:    ${what} to ${r.to} port ${r.port}`,
    `source:     ${from} (ip ${e.sourceIp ?? 'none'}, principal ${e.sourcePrincipal || 'none'})`,
    `verdict:    ${verdict} (${CODE_NAMES[e.verdict.code] ?? e.verdict.code})`,
    `decided by: ${reason}`,
  ];
  if (e.verdict.code !== 0 && e.verdict.code !== 7 && e.verdict.message !== '')
    lines.push(`message:    ${e.verdict.message}`);
  if (e.verdict.staged !== null) {
    const staged = describeVerdict({
      ...e.verdict,
      code: e.verdict.staged.code,
      decidedBy: e.verdict.staged.decidedBy,
    });
    lines.push(`staged:     would be ${staged.verdict} if staged policies were enforced (${staged.reason})`);
  }
  return lines.join('\n');
}

export interface CollectedResources {
  readonly events: ResourceEvent[];
  /** Objects refused as invalid, with the reason. */
  readonly refused: readonly string[];
}

/** Reads a datastore's initial snapshot (for explain, which evaluates one request and exits). */
export async function collectResources(datastore: Datastore): Promise<CollectedResources> {
  const events: ResourceEvent[] = [];
  const refused: string[] = [];
  const note = (ref: ObjectRef, reason: string) => refused.push(`${describeRef(ref)}: ${reason}`);
  await datastore.start({ onEvent: (e) => events.push(e), onRejected: note, onWarning: note });
  await datastore.close();
  return { events, refused };
}
