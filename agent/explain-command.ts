// `alp-node explain …`: argument parsing (pure) and the command itself (reads a datastore once,
// evaluates, prints). Returns an exit code; main.ts exits with it.
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { KubeConfig } from '@kubernetes/client-node';
import { describeApiError } from '../kube/api-client.js';
import { silentLogger, type Logger } from '../daemon/log.js';
import { FileDatastore } from './datastore/file.js';
import { KubernetesDatastore } from './datastore/kubernetes.js';
import type { Datastore } from './datastore/object-tracker.js';
import type { ExplainQuery, ExplainSource } from './explain.js';
import { collectResources, explainRequest, formatExplanation, sidecarQuestion } from './explain.js';
import { parseIp } from '../calico/ip.js';
import { parseProtocol, protocolLabel, protocolNumber, protocolSupportsPorts } from '../calico/rule-spec.js';
import { ENV } from './policy-sync-config.js';
import type { ResourceEvent } from './calc/cluster-model.js';

export const EXPLAIN_USAGE = `Usage: alp-node explain (--to <namespace>/<pod> | --to-ip <ip>) [source] [connection] [resources]

Explains one connection: the verdict the destination pod's Dikastes sidecar would give a request
on it (TCP and UDP to a pod), then the verdict alp-node's nftables rules give its first packet
(any 5-tuple), each with the tier, policy and rule that decide it.

Destination:
      --to <namespace>/<pod>       a pod (its address of the source's family)
      --to-ip <ip>                 an address: a pod's, or one outside the cluster
Source (default: anonymous, no principal, no IP):
      --from <namespace>/<pod>     a pod: its IP and its service account's SPIFFE identity
      --from-sa <namespace>/<sa>   a service account identity (mTLS principal)
      --from-ip <ip>               a source address (a pod's is judged at that pod's node too)
Connection:
      --protocol <p>               TCP, UDP, SCTP, ICMP, ICMPv6, UDPLite or a number (default TCP)
      --port <n>                   destination port (default 80; TCP, UDP and SCTP)
      --from-port <n>              source port (default: any)
      --icmp-type <n>, --icmp-code <n>   for ICMP and ICMPv6
      --method <M>                 HTTP method (default GET)
      --path <path>                HTTP path, with query if any (default /)
      --tcp                        a TCP-level check (no HTTP attributes), as Envoy's network filter
      --trust-domain <domain>      SPIFFE trust domain (default cluster.local)
Resources (default: the live cluster, through $KUBECONFIG or the in-cluster config):
      --files <path>               resource files or directories; repeat for more
      --kubeconfig <path>          kubeconfig of the cluster to read
`;

export type ExplainResources =
  | { readonly type: 'file'; readonly paths: readonly string[] }
  | { readonly type: 'kubernetes'; readonly kubeconfig: string | null };

export type ExplainArgs =
  | { readonly kind: 'run'; readonly query: ExplainQuery; readonly resources: ExplainResources }
  | { readonly kind: 'help'; readonly text: string }
  | { readonly kind: 'usage-error'; readonly error: string };

const OPTIONS = {
  to: { type: 'string' },
  'to-ip': { type: 'string' },
  from: { type: 'string' },
  'from-sa': { type: 'string' },
  'from-ip': { type: 'string' },
  method: { type: 'string' },
  path: { type: 'string' },
  tcp: { type: 'boolean' },
  port: { type: 'string' },
  'from-port': { type: 'string' },
  protocol: { type: 'string' },
  'icmp-type': { type: 'string' },
  'icmp-code': { type: 'string' },
  'trust-domain': { type: 'string' },
  files: { type: 'string', multiple: true },
  kubeconfig: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

const POD_REF = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?\/[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

export function parseExplainArgs(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): ExplainArgs {
  let values;
  try {
    ({ values } = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: false, strict: true }));
  } catch (err) {
    return { kind: 'usage-error', error: err instanceof Error ? err.message : String(err) };
  }
  if (values.help === true) return { kind: 'help', text: EXPLAIN_USAGE };
  const usage = (error: string): ExplainArgs => ({ kind: 'usage-error', error });
  const to = values.to;
  const toIp = values['to-ip'];
  if ((to === undefined) === (toIp === undefined))
    return usage('give the destination: --to <namespace>/<pod> or --to-ip <ip>');
  if (to !== undefined && !POD_REF.test(to)) return usage('--to must be <namespace>/<pod>');
  if (toIp !== undefined && parseIp(toIp) === null) return usage(`--to-ip: not an IP address: ${toIp}`);
  if (values.from !== undefined && (values['from-sa'] !== undefined || values['from-ip'] !== undefined))
    return usage('--from names a pod; do not combine it with --from-sa or --from-ip');
  if (values.from !== undefined && !POD_REF.test(values.from))
    return usage('--from must be <namespace>/<pod>');
  if (values['from-sa'] !== undefined && !POD_REF.test(values['from-sa']))
    return usage('--from-sa must be <namespace>/<serviceaccount>');
  const fromIp = values['from-ip'];
  if (fromIp !== undefined && parseIp(fromIp) === null)
    return usage(`--from-ip: not an IP address: ${fromIp}`);
  const from: ExplainSource =
    values.from !== undefined
      ? { kind: 'pod', pod: values.from }
      : { kind: 'identity', serviceAccount: values['from-sa'] ?? null, ip: fromIp ?? null };

  const protocol = parseProtocol(values.protocol ?? 'TCP');
  if (protocol === null)
    return usage('--protocol must be TCP, UDP, SCTP, ICMP, ICMPv6, UDPLite or a number 1-255');
  const number = protocolNumber(protocol);
  const hasPorts = protocolSupportsPorts(protocol);
  const isIcmp = number === 1 || number === 58;
  const isTcpOrUdp = number === 6 || number === 17;
  if (!hasPorts && (values.port !== undefined || values['from-port'] !== undefined))
    return usage(`${protocolLabel(protocol)} has no ports; drop --port and --from-port`);
  if (!isIcmp && (values['icmp-type'] !== undefined || values['icmp-code'] !== undefined))
    return usage('--icmp-type and --icmp-code are for ICMP and ICMPv6');
  if (values['icmp-code'] !== undefined && values['icmp-type'] === undefined)
    return usage('--icmp-code needs --icmp-type');
  const port = hasPorts ? integerIn(values.port ?? '80', 1, 65535) : null;
  if (port === undefined) return usage('--port must be 1-65535');
  const fromPort = values['from-port'] === undefined ? null : integerIn(values['from-port'], 1, 65535);
  if (fromPort === undefined) return usage('--from-port must be 1-65535');
  const icmpType = values['icmp-type'] === undefined ? null : integerIn(values['icmp-type'], 0, 255);
  const icmpCode = values['icmp-code'] === undefined ? null : integerIn(values['icmp-code'], 0, 255);
  if (icmpType === undefined || icmpCode === undefined)
    return usage('--icmp-type and --icmp-code must be 0-255');

  const isHttp = values.method !== undefined || values.path !== undefined;
  if (values.tcp === true && isHttp) return usage('--tcp has no HTTP attributes; drop --method and --path');
  if (isHttp && !isTcpOrUdp)
    return usage(`${protocolLabel(protocol)} carries no HTTP request; drop --method and --path`);
  const query: ExplainQuery = {
    from,
    to: to !== undefined ? { kind: 'pod', pod: to } : { kind: 'ip', ip: toIp as string },
    protocol,
    port,
    fromPort,
    icmpType,
    icmpCode,
    method: values.tcp === true || !isTcpOrUdp ? null : (values.method ?? 'GET'),
    path: values.path ?? '/',
    trustDomain: values['trust-domain'] ?? 'cluster.local',
  };
  const files = values.files ?? [];
  let resources: ExplainResources;
  if (files.length > 0) resources = { type: 'file', paths: files };
  else if (env[ENV.datastoreType] === 'file') {
    const paths = (env[ENV.datastorePath] ?? '').split(':').filter((p) => p !== '');
    if (paths.length === 0) return usage(`${ENV.datastoreType}=file needs ${ENV.datastorePath} or --files`);
    resources = { type: 'file', paths };
  } else resources = { type: 'kubernetes', kubeconfig: values.kubeconfig ?? null };
  return { kind: 'run', query, resources };
}

/** The decimal integer `text` when it lies in [min, max]; undefined otherwise. */
function integerIn(text: string, min: number, max: number): number | undefined {
  if (!/^\d+$/.test(text)) return undefined;
  const n = Number(text);
  return n >= min && n <= max ? n : undefined;
}

export interface Output {
  stdout(text: string): void;
  stderr(text: string): void;
}

/**
 * Why the resources cannot be read at all (a usage error), or null. Checked before reading so
 * that a missing file is not reported as a missing pod, and a missing cluster not as nothing.
 */
export function unreadableResources(
  resources: ExplainResources,
  env: Readonly<Record<string, string | undefined>>,
  exists: (path: string) => boolean,
): string | null {
  if (resources.type === 'file') {
    const missing = resources.paths.filter((p) => !exists(p));
    return missing.length === 0 ? null : `no such file or directory: ${missing.join(', ')}`;
  }
  if (resources.kubeconfig !== null)
    return exists(resources.kubeconfig) ? null : `no such kubeconfig: ${resources.kubeconfig}`;
  // Where client-node's loadFromDefault looks: KUBECONFIG, ~/.kube/config, the in-cluster config.
  if (nonEmpty(env.KUBECONFIG) || nonEmpty(env.KUBERNETES_SERVICE_HOST)) return null;
  if (exists(join(env.HOME ?? homedir(), '.kube', 'config'))) return null;
  return 'no resources to read: pass --files <path>, or --kubeconfig <path> (or set KUBECONFIG) for a cluster';
}

function nonEmpty(v: string | undefined): boolean {
  return v !== undefined && v !== '';
}

/**
 * Another layer's verdict on the same request, printed after the sidecar's (alp-node adds the
 * kernel's L3/L4 verdict this way: the agent knows nothing of the dataplane).
 */
export type ExplainAddendum = (events: readonly ResourceEvent[], query: ExplainQuery) => string;

/** Runs `alp-node explain`: 0 when a verdict was printed, 1 when it could not be, 2 for usage. */
export async function runExplainCommand(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  out: Output,
  addenda: readonly ExplainAddendum[] = [],
): Promise<number> {
  const args = parseExplainArgs(argv, env);
  if (args.kind === 'help') {
    out.stdout(args.text);
    return 0;
  }
  const problem =
    args.kind === 'usage-error' ? args.error : unreadableResources(args.resources, env, existsSync);
  if (args.kind === 'usage-error' || problem !== null) {
    out.stderr(`Error: ${problem}\nRun 'alp-node explain --help' for usage.\n`);
    return 2;
  }
  const log = silentLogger();
  let datastore: Datastore;
  try {
    datastore = openResources(args.resources, log);
  } catch (err) {
    out.stderr(`Error: cannot load the kubeconfig: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
  try {
    const { events, refused } = await collectResources(datastore);
    for (const r of refused) out.stderr(`warning: ignored ${r}\n`);
    const question = sidecarQuestion(events, args.query);
    if (question.kind === 'none') out.stdout(`sidecar:    none sees this connection (${question.reason})\n`);
    else {
      const result = explainRequest(events, question.request);
      if (!result.ok) {
        out.stderr(`Error: ${result.reason}\n`);
        return 1;
      }
      out.stdout(`${formatExplanation(result.value)}\n`);
    }
    for (const addendum of addenda) out.stdout(`${addendum(events, args.query)}\n`);
    return 0;
  } catch (err) {
    out.stderr(`Error: cannot read resources: ${describeApiError(err)}\n`);
    return 1;
  } finally {
    await datastore.close();
  }
}

function openResources(resources: ExplainResources, log: Logger): Datastore {
  if (resources.type === 'file') return new FileDatastore({ paths: resources.paths, log });
  const kubeConfig = new KubeConfig();
  if (resources.kubeconfig !== null) kubeConfig.loadFromFile(resources.kubeconfig);
  else kubeConfig.loadFromDefault();
  return new KubernetesDatastore({
    kubeConfig,
    log,
    nodeName: 'alp-node-explain',
    reportEvents: false,
    // One read: a cluster that cannot be listed is an error to report, not to wait out.
    isFailFast: true,
  });
}
