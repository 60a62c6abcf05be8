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
import type { ExplainRequest, ExplainSource } from './explain.js';
import { collectResources, explainRequest, formatExplanation } from './explain.js';
import { ENV } from './policy-sync-config.js';
import type { ResourceEvent } from './calc/cluster-model.js';

export const EXPLAIN_USAGE = `Usage: alp-node explain --to <namespace>/<pod> [source] [request] [resources]

Evaluates one request the way the destination pod's Dikastes sidecar would, and prints the
verdict and the tier, policy and rule that decide it.

Source (default: anonymous, no principal, no IP):
      --from <namespace>/<pod>     a pod: its IP and its service account's SPIFFE identity
      --from-sa <namespace>/<sa>   a service account identity (mTLS principal)
      --from-ip <ip>               a source address
Request:
      --method <M>                 HTTP method (default GET)
      --path <path>                HTTP path, with query if any (default /)
      --tcp                        a TCP-level check (no HTTP attributes), as Envoy's network filter
      --port <n>                   destination port (default 80)
      --protocol TCP|UDP           (default TCP)
      --trust-domain <domain>      SPIFFE trust domain (default cluster.local)
Resources (default: the live cluster, through $KUBECONFIG or the in-cluster config):
      --files <path>               resource files or directories; repeat for more
      --kubeconfig <path>          kubeconfig of the cluster to read
`;

export type ExplainResources =
  | { readonly type: 'file'; readonly paths: readonly string[] }
  | { readonly type: 'kubernetes'; readonly kubeconfig: string | null };

export type ExplainArgs =
  | { readonly kind: 'run'; readonly request: ExplainRequest; readonly resources: ExplainResources }
  | { readonly kind: 'help'; readonly text: string }
  | { readonly kind: 'usage-error'; readonly error: string };

const OPTIONS = {
  to: { type: 'string' },
  from: { type: 'string' },
  'from-sa': { type: 'string' },
  'from-ip': { type: 'string' },
  method: { type: 'string' },
  path: { type: 'string' },
  tcp: { type: 'boolean' },
  port: { type: 'string' },
  protocol: { type: 'string' },
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
  if (to === undefined || !POD_REF.test(to)) return usage('--to <namespace>/<pod> is required');
  if (values.from !== undefined && (values['from-sa'] !== undefined || values['from-ip'] !== undefined))
    return usage('--from names a pod; do not combine it with --from-sa or --from-ip');
  if (values.from !== undefined && !POD_REF.test(values.from))
    return usage('--from must be <namespace>/<pod>');
  if (values['from-sa'] !== undefined && !POD_REF.test(values['from-sa']))
    return usage('--from-sa must be <namespace>/<serviceaccount>');
  const from: ExplainSource =
    values.from !== undefined
      ? { kind: 'pod', pod: values.from }
      : { kind: 'identity', serviceAccount: values['from-sa'] ?? null, ip: values['from-ip'] ?? null };
  const port = Number(values.port ?? '80');
  if (!Number.isInteger(port) || port < 1 || port > 65535) return usage('--port must be 1-65535');
  const protocol = (values.protocol ?? 'TCP').toUpperCase();
  if (protocol !== 'TCP' && protocol !== 'UDP') return usage('--protocol must be TCP or UDP');
  if (values.tcp === true && (values.method !== undefined || values.path !== undefined))
    return usage('--tcp has no HTTP attributes; drop --method and --path');
  const request: ExplainRequest = {
    from,
    to,
    port,
    method: values.tcp === true ? null : (values.method ?? 'GET'),
    path: values.path ?? '/',
    protocol,
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
  return { kind: 'run', request, resources };
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
export type ExplainAddendum = (events: readonly ResourceEvent[], request: ExplainRequest) => string;

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
    const result = explainRequest(events, args.request);
    if (!result.ok) {
      out.stderr(`Error: ${result.reason}\n`);
      return 1;
    }
    out.stdout(`${formatExplanation(result.value)}\n`);
    for (const addendum of addenda) out.stdout(`${addendum(events, args.request)}\n`);
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
