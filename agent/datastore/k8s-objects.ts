// Pods, Namespaces and ServiceAccounts from Kubernetes JSON (API server or YAML files), reduced
// to what the calculation needs, the way Calico's k8s conversion reads them.
import { labelsFromObject } from '../../calico/labels.js';
import { parseIp } from '../../calico/ip.js';
import type { Issues, JsonRecord } from '../../calico/spec-fields.js';
import { readMetadata } from '../../calico/resources.js';
import {
  isRecord,
  readArray,
  readBoolean,
  readNumber,
  readRecord,
  readString,
  readStringMap,
} from '../../calico/spec-fields.js';
import type {
  NamedPort,
  NamespaceInfo,
  PodInfo,
  PortProtocol,
  ServiceAccountInfo,
} from '../calc/cluster-model.js';

/** Container name of the Dikastes sidecar (Calico's injection templates use it). */
export const SIDECAR_CONTAINER = 'dikastes';
/** Opt-in annotation for pods whose sidecar container has another name. */
export const SIDECAR_ANNOTATION = 'alp-mesh.io/policy-sync';

const ANNOTATION_POD_IP = 'cni.projectcalico.org/podIP';
const ANNOTATION_POD_IPS = 'cni.projectcalico.org/podIPs';

export type ObjectParseResult<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: string };

// Every pod of the cluster passes through meta and parsePod at start-up (5,000 in issue 11's
// benchmark), so they are written as plain reads and loops: an object spread, array spreads and
// flatMap made it ~10 µs a pod.

/** Calico's common metadata plus what pods need: uid, annotations, whether it is being deleted. */
function meta(raw: JsonRecord, issues: Issues) {
  const m = readRecord(raw, 'metadata', '', issues) ?? {};
  const { name, namespace, labels } = readMetadata(raw, issues);
  return {
    name,
    namespace,
    labels,
    uid: readString(m, 'uid', 'metadata', issues),
    annotations: readStringMap(m, 'annotations', 'metadata', issues),
    deleting: m['deletionTimestamp'] !== undefined && m['deletionTimestamp'] !== null,
  };
}

export function parsePod(raw: unknown): ObjectParseResult<PodInfo> {
  if (!isRecord(raw)) return { ok: false, reason: 'pod must be an object' };
  const issues: Issues = [];
  const m = meta(raw, issues);
  const spec = readRecord(raw, 'spec', '', issues) ?? {};
  const status = readRecord(raw, 'status', '', issues) ?? {};
  const ports: NamedPort[] = [];
  let hasSidecarContainer = false;
  for (const list of ['containers', 'initContainers'])
    for (const c of readArray(spec, list, 'spec', issues)) {
      if (!isRecord(c)) continue;
      if (c['name'] === SIDECAR_CONTAINER) hasSidecarContainer = true;
      addNamedPorts(c, ports, issues);
    }
  const phase = readString(status, 'phase', 'status', issues);
  // Calico's CNI blanks the podIP annotation when it releases the IP of a deleting pod.
  const released = m.deleting && m.annotations[ANNOTATION_POD_IP] === '';
  const pod: PodInfo = {
    namespace: m.namespace || 'default',
    name: m.name,
    uid: m.uid,
    nodeName: readString(spec, 'nodeName', 'spec', issues),
    labels: labelsFromObject(m.labels),
    serviceAccount:
      readString(spec, 'serviceAccountName', 'spec', issues) ||
      readString(spec, 'serviceAccount', 'spec', issues),
    ips: podIps(status, m.annotations, issues),
    namedPorts: ports,
    hostNetwork: readBoolean(spec, 'hostNetwork', 'spec', issues),
    finished: released || phase === 'Failed' || phase === 'Succeeded' || phase === 'Completed',
    hasSidecar: m.annotations[SIDECAR_ANNOTATION] === 'true' || hasSidecarContainer,
  };
  if (issues.length > 0) return { ok: false, reason: issues.join('; ') };
  return { ok: true, value: pod };
}

/** status.podIPs, else status.podIP, else Calico's annotations; canonical text, bad entries dropped. */
function podIps(status: JsonRecord, annotations: Readonly<Record<string, string>>, issues: Issues): string[] {
  let texts: readonly string[] = [];
  const list = readArray(status, 'podIPs', 'status', issues);
  if (list.length > 0) {
    const fromList: string[] = [];
    for (const e of list) if (isRecord(e) && typeof e['ip'] === 'string') fromList.push(e['ip']);
    texts = fromList;
  } else if (typeof status['podIP'] === 'string' && status['podIP'] !== '') texts = [status['podIP']];
  else if (annotations[ANNOTATION_POD_IPS]) texts = annotations[ANNOTATION_POD_IPS].split(',');
  else if (annotations[ANNOTATION_POD_IP]) texts = [annotations[ANNOTATION_POD_IP]];
  const ips: string[] = [];
  for (const t of texts) {
    // A canonical dotted quad is already what parseIp would give back.
    if (CANONICAL_IPV4.test(t)) ips.push(t);
    else {
      const ip = parseIp(t.trim().replace(/\/(32|128)$/, ''));
      if (ip !== null) ips.push(ip.text);
    }
  }
  return ips;
}

/** A dotted quad as status.podIP(s) has it, without leading zeros: its own canonical text. */
const CANONICAL_IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

function addNamedPorts(container: JsonRecord, out: NamedPort[], issues: Issues): void {
  for (const p of readArray(container, 'ports', 'container', issues)) {
    if (!isRecord(p)) continue;
    const name = typeof p['name'] === 'string' ? p['name'] : '';
    const port = readNumber(p, 'containerPort', 'port', issues) ?? 0;
    const protocol = portProtocol(p['protocol']);
    if (name !== '' && port > 0 && protocol !== null) out.push({ name, protocol, port });
  }
}

function portProtocol(v: unknown): PortProtocol | null {
  if (v === undefined || v === null || v === '' || v === 'TCP') return 'tcp';
  if (v === 'UDP') return 'udp';
  if (v === 'SCTP') return 'sctp';
  return null;
}

export function parseNamespace(raw: unknown): ObjectParseResult<NamespaceInfo> {
  if (!isRecord(raw)) return { ok: false, reason: 'namespace must be an object' };
  const issues: Issues = [];
  const m = meta(raw, issues);
  if (issues.length > 0) return { ok: false, reason: issues.join('; ') };
  return { ok: true, value: { name: m.name, labels: labelsFromObject(m.labels) } };
}

export function parseServiceAccount(raw: unknown): ObjectParseResult<ServiceAccountInfo> {
  if (!isRecord(raw)) return { ok: false, reason: 'service account must be an object' };
  const issues: Issues = [];
  const m = meta(raw, issues);
  if (issues.length > 0) return { ok: false, reason: issues.join('; ') };
  return {
    ok: true,
    value: { namespace: m.namespace || 'default', name: m.name, labels: labelsFromObject(m.labels) },
  };
}
