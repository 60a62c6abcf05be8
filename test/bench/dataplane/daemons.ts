// The two daemons the benchmark compares, each started as a real process in the node namespace
// (ip netns exec replaces itself with the daemon, so the child's pid is the daemon's):
//
// - alp-node from this checkout (bin/alp-node), enforcement on (FELIX_NFTABLESMODE=Enabled);
// - Calico Felix built from the Calico repository (../shared/spec/felix-reference.md):
//   policy-only, nftables mode, Kubernetes datastore, with /var/lib bound to a private directory
//   inside ip-netns-exec's own mount namespace (Felix hard-codes /var/lib/calico/mtu).
//
// Both get the same hostname, interface prefix and endpoint-to-host action (Accept).
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnInNamespace, type NsProcess } from '../../harness/netns.js';
import { REPO_ROOT } from '../../harness/process.js';
import { BENCH_NODE } from './cluster.js';

export type DaemonKind = 'alp-node' | 'felix';

/** alp-node serves its metrics here inside the node namespace. */
export const ALP_NODE_METRICS_PORT = 29100;

export interface Daemon {
  readonly kind: DaemonKind;
  readonly proc: NsProcess;
  readonly pid: number;
  /** performance.now() just before the spawn. */
  readonly startedAt: number;
  /** Date.now() just before the spawn (log timestamps are wall-clock). */
  readonly startedAtEpoch: number;
  stop(): Promise<void>;
}

export interface DaemonOptions {
  readonly nodeNs: string;
  readonly kubeconfigPath: string;
  /** Scratch directory for this run. */
  readonly workDir: string;
  /** Felix's binary (kind felix only). */
  readonly felixBinary?: string;
  /** Node.js options for alp-node's process, e.g. --cpu-prof (kind alp-node only). */
  readonly nodeOptions?: readonly string[];
  /** alp-node's launcher (default bin/alp-node of this checkout), e.g. another build to compare. */
  readonly alpNodeBin?: string;
}

export function startDaemon(kind: DaemonKind, o: DaemonOptions): Daemon {
  let argv: string[];
  let env: Record<string, string>;
  if (kind === 'alp-node') {
    const stateDir = join(o.workDir, 'alp-node-state');
    mkdirSync(stateDir, { recursive: true });
    argv = [
      process.execPath,
      ...(o.nodeOptions ?? []),
      o.alpNodeBin ?? join(REPO_ROOT, 'bin', 'alp-node'),
      '--node-name',
      BENCH_NODE,
      '--kubeconfig',
      o.kubeconfigPath,
      '--state-dir',
      stateDir,
      // debug: each nftables transaction's render and nft times (main.ts summarises them).
      '--log-level',
      'debug',
      '--metrics-addr',
      `127.0.0.1:${ALP_NODE_METRICS_PORT}`,
    ];
    env = {
      FELIX_NFTABLESMODE: 'Enabled',
      FELIX_INTERFACEPREFIX: 'cali',
      FELIX_DEFAULTENDPOINTTOHOSTACTION: 'Accept',
    };
  } else {
    if (o.felixBinary === undefined) throw new Error('no Felix binary');
    const varLib = join(o.workDir, 'felix-varlib');
    const statusDir = join(o.workDir, 'felix-status');
    mkdirSync(varLib, { recursive: true });
    mkdirSync(statusDir, { recursive: true });
    // Paths come from us (mkdtemp and --compare-felix), quoted for the shell all the same.
    const q = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;
    argv = ['sh', '-c', `mount --bind ${q(varLib)} /var/lib && exec ${q(o.felixBinary)} -c /dev/null`];
    env = {
      KUBECONFIG: o.kubeconfigPath,
      FELIX_DATASTORETYPE: 'kubernetes',
      FELIX_FELIXHOSTNAME: BENCH_NODE,
      FELIX_NFTABLESMODE: 'Enabled',
      FELIX_BPFENABLED: 'false',
      FELIX_IPV6SUPPORT: 'false',
      FELIX_INTERFACEPREFIX: 'cali',
      FELIX_DEFAULTENDPOINTTOHOSTACTION: 'ACCEPT',
      FELIX_USAGEREPORTINGENABLED: 'false',
      FELIX_PROMETHEUSMETRICSENABLED: 'false',
      FELIX_HEALTHENABLED: 'false',
      FELIX_LOGSEVERITYSCREEN: 'info',
      FELIX_LOGFILEPATH: 'none',
      FELIX_LOGSEVERITYSYS: 'none',
      // Built with CGO off, libbpf is a stub that panics; this skips its one call off the BPF path.
      FELIX_DebugSkipCTLBCleanup: 'true',
      FELIX_ENDPOINTSTATUSPATHPREFIX: statusDir,
    };
  }
  const startedAtEpoch = Date.now();
  const startedAt = performance.now();
  const proc = spawnInNamespace(o.nodeNs, argv, env);
  return {
    kind,
    proc,
    pid: proc.child.pid ?? -1,
    startedAt,
    startedAtEpoch,
    async stop() {
      await proc.stop(20_000);
    },
  };
}

/** Start-up milestones each daemon logs: [label, what its log line says]. */
export const MILESTONES: Record<DaemonKind, readonly (readonly [string, RegExp])[]> = {
  'alp-node': [
    ['in sync with the API server', /"msg":"policy calculation in sync"/],
    ['first ruleset programmed', /"msg":"enforcing policy with nftables"/],
  ],
  felix: [
    ['in sync with the API server', /Datastore in sync, flushing the dataplane/],
    ['first ruleset programmed', /Completed first update to dataplane/],
  ],
};

/** Wall-clock time of a log line: alp-node's JSON "time", Felix's "YYYY-MM-DD hh:mm:ss.mmm" (UTC). */
export function logLineEpoch(line: string): number | null {
  const json = /"time":(\d{13})/.exec(line);
  if (json) return Number(json[1]);
  const text = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d\.\d+)/.exec(line);
  return text ? Date.parse(`${text[1]}T${text[2]}Z`) : null;
}

/** ms from the spawn to each milestone's first log line. */
export function milestones(d: Daemon): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [label, re] of MILESTONES[d.kind]) {
    const line = d.proc.lines.find((l) => re.test(l));
    const at = line === undefined ? null : logLineEpoch(line);
    if (at !== null) out[label] = at - d.startedAtEpoch;
  }
  return out;
}

/** The pids of `pid` and every process below it (the daemon's nft, for one). */
export function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.split(') ')[1]!.split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // gone meanwhile
    }
  }
  const out: number[] = [];
  const walk = (p: number) => {
    out.push(p);
    for (const c of children.get(p) ?? []) walk(c);
  };
  walk(pid);
  return out;
}
