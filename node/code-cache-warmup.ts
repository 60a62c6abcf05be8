// What the build runs, once, before bin/alp-node writes alp-node's V8 code cache: a small cluster
// taken through the start's own pure path (API objects → tracker → calculation → nftables text,
// then one edit). V8 compiles a function the first time it runs, and a cache written after
// `--version` held only the bundle's top level, so every start compiled the functions of that
// path from source again. Written after this, the cache carries their bytecode too. Pure: no I/O,
// nothing kept; never run by the daemon itself.
import { PolicyCalculator } from '../agent/calc/calculator.js';
import type { ResourceEvent } from '../agent/calc/cluster-model.js';
import type { EndpointView } from '../agent/calc/endpoint-view.js';
import { ObjectTracker } from '../agent/datastore/object-tracker.js';
import {
  DEFAULT_ENFORCEMENT_CONFIG,
  renderChanges,
  renderFull,
  renderProblems,
} from '../dataplane/core/index.js';
import { transactionLine } from '../dataplane/shell/nft-channel.js';
import { dataplaneState } from './dataplane-state.js';

const NODE = 'warm-node';
const CALICO = 'crd.projectcalico.org/v1';

export interface WarmupResult {
  /** Objects the tracker refused (a warm-up that no longer parses warms less: tests hold it at 0). */
  readonly refused: readonly string[];
  readonly localEndpoints: number;
  readonly fullTextBytes: number;
  readonly editTextBytes: number;
}

export function warmStartPath(): WarmupResult {
  const calc = new PolicyCalculator(NODE);
  const refused: string[] = [];
  const tracker = new ObjectTracker({
    onEvent: (e: ResourceEvent) => void calc.apply(e),
    onRejected: (ref, reason) => refused.push(`${ref.kind} ${ref.name}: ${reason}`),
    onWarning: () => undefined,
  });
  for (const o of cluster()) tracker.upsert(o);
  calc.apply({ type: 'in-sync' });
  const views = (): EndpointView[] => calc.localEndpointIds().flatMap((id) => calc.endpointView(id) ?? []);
  const before = dataplaneState(views(), DEFAULT_ENFORCEMENT_CONFIG);
  const full = renderFull(before);
  renderProblems(before);
  transactionLine(full);
  // An edit and a pod joining a selected set, as the daemon's incremental path meets them.
  tracker.upsert(knp('default', 'allow-frontend', { app: 'backend' }, [{ port: 8080 }]));
  tracker.upsert(pod('default', 'late', 'app-late', '10.65.1.9', 'remote-node', { app: 'frontend' }));
  const after = dataplaneState(views(), DEFAULT_ENFORCEMENT_CONFIG);
  const edit = renderChanges(before, after);
  transactionLine(edit);
  return {
    refused,
    localEndpoints: calc.localEndpointIds().length,
    fullTextBytes: full.length,
    editTextBytes: edit.length,
  };
}

/** Pods, namespaces and policies in the shapes the API server lists them, covering rule kinds. */
function cluster(): unknown[] {
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default', labels: { team: 'a' } } },
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'prod', labels: { team: 'b', env: 'prod' } } },
    {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: 'web', namespace: 'prod', labels: { role: 'web' } },
    },
    pod('default', 'frontend-1', 'app-1', '10.65.0.2', NODE, { app: 'frontend' }),
    pod('default', 'backend-1', 'app-2', '10.65.0.3', NODE, { app: 'backend' }),
    pod('prod', 'web-1', 'app-3', 'fd00:10:65::4', NODE, { app: 'web', tier: 'front' }),
    pod('prod', 'db-1', 'app-4', '10.65.1.5', 'remote-node', { app: 'db' }),
    pod('default', 'frontend-2', 'app-5', '10.65.1.6', 'remote-node', { app: 'frontend' }),
    {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'deny-all-ingress', namespace: 'default' },
      spec: { podSelector: {}, policyTypes: ['Ingress'] },
    },
    knp('default', 'allow-frontend', { app: 'backend' }, [{ port: 80 }, { port: 'http', protocol: 'TCP' }]),
    {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'egress', namespace: 'prod' },
      spec: {
        podSelector: { matchExpressions: [{ key: 'app', operator: 'In', values: ['web', 'api'] }] },
        policyTypes: ['Egress'],
        egress: [
          {
            to: [{ ipBlock: { cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] } }],
            ports: [{ protocol: 'UDP', port: 5000, endPort: 5100 }],
          },
          {
            to: [
              {
                namespaceSelector: { matchLabels: { team: 'a' } },
                podSelector: { matchLabels: { app: 'db' } },
              },
            ],
          },
        ],
      },
    },
    { apiVersion: CALICO, kind: 'Tier', metadata: { name: 'security' }, spec: { order: 100 } },
    {
      apiVersion: CALICO,
      kind: 'GlobalNetworkSet',
      metadata: { name: 'blocked', labels: { list: 'blocked' } },
      spec: { nets: ['198.51.100.0/24', '2001:db8::/32'] },
    },
    {
      apiVersion: CALICO,
      kind: 'GlobalNetworkPolicy',
      metadata: { name: 'security.baseline' },
      spec: {
        tier: 'security',
        order: 10,
        selector: "projectcalico.org/namespace in {'default', 'prod'}",
        types: ['Ingress', 'Egress'],
        ingress: [
          { action: 'Deny', source: { selector: "list == 'blocked'" } },
          { action: 'Log', protocol: 'ICMP', icmp: { type: 8, code: 0 } },
          { action: 'Pass', source: { namespaceSelector: "team == 'a'", notNets: ['10.9.0.0/16'] } },
          {
            action: 'Allow',
            protocol: 'TCP',
            source: { serviceAccounts: { names: ['web'] } },
            destination: { ports: ['8000:8100', 'http'], notPorts: [8050] },
            http: { methods: ['GET'] },
          },
        ],
        egress: [
          { action: 'Allow', protocol: 'UDP', destination: { nets: ['203.0.113.0/24'], ports: [53] } },
          { action: 'Deny', notProtocol: 'TCP', ipVersion: 6 },
        ],
      },
    },
    {
      apiVersion: CALICO,
      kind: 'NetworkPolicy',
      metadata: { name: 'default.web', namespace: 'prod' },
      spec: {
        order: 5,
        selector: "app == 'web'",
        ingress: [{ action: 'Allow', source: { selector: "tier == 'front' && has(app)" } }],
      },
    },
    {
      apiVersion: CALICO,
      kind: 'StagedGlobalNetworkPolicy',
      metadata: { name: 'default.staged' },
      spec: { selector: 'all()', ingress: [{ action: 'Deny' }] },
    },
  ];
}

function pod(
  namespace: string,
  name: string,
  uid: string,
  ip: string,
  nodeName: string,
  labels: Record<string, string>,
): unknown {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace,
      uid,
      resourceVersion: '1',
      labels,
      annotations: { 'cni.projectcalico.org/podIP': `${ip}/32` },
    },
    spec: {
      nodeName,
      serviceAccountName: 'web',
      containers: [{ name: 'app', ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }] }],
    },
    status: { phase: 'Running', podIP: ip, podIPs: [{ ip }] },
  };
}

function knp(
  namespace: string,
  name: string,
  matchLabels: Record<string, string>,
  ports: readonly Record<string, unknown>[],
): unknown {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name, namespace },
    spec: {
      podSelector: { matchLabels },
      ingress: [{ from: [{ podSelector: { matchLabels: { app: 'frontend' } } }], ports }],
    },
  };
}
