// Network namespaces for tests that need real WireGuard: a gate that says whether this machine
// can run them (root, ip, wg, wireguard-go, tcpdump, ping, unshare), namespaces and processes
// that are removed by name and pid when the test ends (or the test process exits), an underlay
// of "nodes" on 192.0.2.0/24 behind a bridge, and a relay that makes a host-loopback TCP port
// (the envtest API server) appear at the same 127.0.0.1 port inside a namespace.
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { describeWhen } from './prerequisite-gate.js';

const TOOLS = ['ip', 'wg', 'wireguard-go', 'tcpdump', 'ping', 'unshare'];

/** Why this machine cannot run namespace tests, or null when it can. */
export function netnsUnavailableReason(): string | null {
  if (process.getuid?.() !== 0) return 'not running as root';
  const missing = TOOLS.filter((t) => !onPath(t));
  if (missing.length > 0) {
    return `missing ${missing.join(', ')} (apt-get install -y --no-install-recommends wireguard-tools wireguard-go iproute2 tcpdump iputils-ping util-linux)`;
  }
  if (!existsSync('/dev/net/tun')) return 'no /dev/net/tun';
  return null;
}

/**
 * `describe` for suites that need root and network namespaces: skipped loudly outside CI when
 * the machine cannot run them, failed in CI (CI=true), run otherwise.
 */
export function describeAsRoot(name: string, fn: () => void): void {
  describeWhen(
    name,
    {
      what: 'root and the WireGuard tools',
      missing: netnsUnavailableReason(),
      hint: 'run as root after: apt-get install -y --no-install-recommends wireguard-tools wireguard-go iproute2 tcpdump iputils-ping util-linux',
    },
    fn,
  );
}

/** True when this kernel can create a WireGuard link (checked in a scratch namespace). */
export async function kernelHasWireguard(): Promise<boolean> {
  const ns = await createNamespace('probe');
  try {
    await run(['ip', '-n', ns, 'link', 'add', 'wgprobe', 'type', 'wireguard']);
    return true;
  } catch {
    return false;
  } finally {
    await deleteNamespace(ns);
  }
}

// ---- commands ------------------------------------------------------------------------------

export function run(argv: readonly string[], stdin?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      argv[0] as string,
      argv.slice(1),
      { maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`${argv.join(' ')}: ${stderr.trim() || err.message}`));
        else resolve(stdout);
      },
    );
    // A command that exits without reading stdin makes the write fail; its exit code tells.
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(stdin ?? '');
  });
}

/** Runs a command inside a namespace. */
export function nsRun(ns: string, argv: readonly string[], stdin?: string): Promise<string> {
  return run(['ip', 'netns', 'exec', ns, ...argv], stdin);
}

/** A veth pair: `name` in namespace `ns`, its peer `peerName` in namespace `peerNs`. */
export async function addVeth(ns: string, name: string, peerNs: string, peerName = 'eth0'): Promise<void> {
  await run(['ip', '-n', ns, 'link', 'add', name, 'type', 'veth', 'peer', 'name', peerName, 'netns', peerNs]);
}

// ---- namespaces and processes, cleaned up by name and pid ------------------------------------

const namespaces = new Set<string>();
const processes = new Set<ChildProcess>();
const paths = new Set<string>();
const RUN_ID = randomBytes(2).toString('hex');
let counter = 0;

process.on('exit', () => {
  for (const p of processes) p.kill('SIGKILL');
  for (const ns of namespaces) killNamespaceProcessesSync(ns);
  for (const ns of namespaces) {
    try {
      execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    } catch {
      // already gone
    }
  }
  for (const p of paths) rmSync(p, { recursive: true, force: true });
});

/** A namespace named `alp-<run>-<n>-<label>` (kept short: names appear in interface names). */
export async function createNamespace(label: string): Promise<string> {
  const ns = `alp-${RUN_ID}-${++counter}-${label}`;
  await run(['ip', 'netns', 'add', ns]);
  namespaces.add(ns);
  await run(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
  return ns;
}

/** Kills every process still inside the namespace (ours: alp-node, wireguard-go, tcpdump, relays), then deletes it. */
export async function deleteNamespace(ns: string): Promise<void> {
  killNamespaceProcessesSync(ns);
  await run(['ip', 'netns', 'del', ns]).catch(() => undefined);
  namespaces.delete(ns);
}

function killNamespaceProcessesSync(ns: string): void {
  let pids: string[];
  try {
    pids = execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' })
      .split('\n')
      .filter((p) => /^\d+$/.test(p));
  } catch {
    return;
  }
  for (const pid of pids) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      // exited meanwhile
    }
  }
}

/** Registers a temporary path to remove at exit. */
export function cleanupPathAtExit(path: string): void {
  paths.add(path);
}

export interface NsProcess {
  readonly child: ChildProcess;
  readonly lines: string[];
  readonly exited: Promise<number | null>;
  /** SIGTERM, then SIGKILL after graceMs; resolves with the exit code (null when killed) once its output is all in. */
  stop(graceMs?: number): Promise<number | null>;
}

/**
 * Starts a long-running process inside a namespace, collecting its last 20,000 stdout and stderr
 * lines; `onLine` sees every line, for callers that must not miss one.
 */
export function spawnInNamespace(
  ns: string,
  argv: readonly string[],
  env: Record<string, string> = {},
  onLine: (line: string) => void = () => undefined,
): NsProcess {
  const child = spawn('ip', ['netns', 'exec', ns, ...argv], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  processes.add(child);
  const lines: string[] = [];
  const add = (parts: readonly string[]): void => {
    for (const line of parts) onLine(line);
    lines.push(...parts);
    if (lines.length > 20_000) lines.splice(0, lines.length - 20_000);
  };
  for (const stream of [child.stdout, child.stderr]) {
    let buf = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      buf += chunk;
      const parts = buf.split('\n');
      buf = parts.pop() ?? '';
      add(parts);
    });
    // A last line without a newline is still output.
    stream.on('end', () => {
      if (buf !== '') add([buf]);
      buf = '';
    });
  }
  // 'close', not 'exit': by then every line the process wrote has been collected.
  const exited = new Promise<number | null>((resolve) =>
    child.on('close', (code) => {
      processes.delete(child);
      resolve(code);
    }),
  );
  return {
    child,
    lines,
    exited,
    // The grace is generous because a loaded machine slows a clean shutdown, and tests check
    // its exit code; it only costs time when a process hangs.
    async stop(graceMs = 20_000) {
      if (child.exitCode !== null || child.signalCode !== null) return exited;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

// ---- underlay ------------------------------------------------------------------------------

export interface UnderlayNode {
  readonly index: number;
  readonly ns: string;
  /** 192.0.2.<index> */
  readonly hostIp: string;
  /** 2001:db8::<index> */
  readonly hostIp6: string;
}

export interface Underlay {
  /** Holds the bridge br0 that joins every node's eth0. */
  readonly switchNs: string;
  readonly nodes: UnderlayNode[];
  addNode(index: number): Promise<UnderlayNode>;
  destroy(): Promise<void>;
}

/** `count` node namespaces, each with eth0 = 192.0.2.<i>/24 and 2001:db8::<i>/64 on one bridge. */
export async function createUnderlay(count: number): Promise<Underlay> {
  const switchNs = await createNamespace('sw');
  await run(['ip', '-n', switchNs, 'link', 'add', 'br0', 'type', 'bridge']);
  await run(['ip', '-n', switchNs, 'link', 'set', 'br0', 'up']);
  const created: string[] = [switchNs];
  const underlay: Underlay = {
    switchNs,
    nodes: [],
    async addNode(index) {
      const ns = await createNamespace(`n${index}`);
      created.push(ns);
      await addVeth(switchNs, `u${index}`, ns);
      await run(['ip', '-n', switchNs, 'link', 'set', `u${index}`, 'master', 'br0', 'up']);
      const hostIp = `192.0.2.${index}`;
      const hostIp6 = `2001:db8::${index}`;
      await run(['ip', '-n', ns, 'addr', 'add', `${hostIp}/24`, 'dev', 'eth0']);
      await run(['ip', '-n', ns, '-6', 'addr', 'add', `${hostIp6}/64`, 'dev', 'eth0', 'nodad']);
      await run(['ip', '-n', ns, 'link', 'set', 'eth0', 'up']);
      const node = { index, ns, hostIp, hostIp6 };
      underlay.nodes.push(node);
      return node;
    },
    async destroy() {
      for (const ns of created.reverse()) await deleteNamespace(ns);
    },
  };
  for (let i = 1; i <= count; i++) await underlay.addNode(i);
  return underlay;
}

export interface Pod {
  readonly ns: string;
  readonly ip: string;
  readonly ip6?: string;
}

export interface PodOptions {
  /** The pod's IPv4 address: a /32 on its eth0. */
  readonly ip: string;
  /** The pod's IPv6 address, if any: a /128 on its eth0 (only with `node: 'gateway-address'`). */
  readonly ip6?: string;
  /** The node's end of the veth; give each pod on one node its own (Calico's CNI: `cali` + 11 hex). */
  readonly hostSide: string;
  /** Part of the pod namespace's name; default `p`. */
  readonly label?: string;
  /**
   * What the node does for the pod besides the veth:
   * - `gateway-address` (default): IP forwarding, 169.254.1.1 (and fe80::1) as local addresses of
   *   its end of the veth, so the pod's gateway answers ARP, and a host route to the pod;
   * - `proxy-arp`: as Felix does it: IP forwarding, proxy ARP (no delay) on its end of the veth
   *   and a host route to the pod; 169.254.1.1 must route out of another interface of the node;
   * - `cni`: nothing (as Calico's CNI leaves it): the route and the interface sysctls are the
   *   daemon under test's job.
   */
  readonly node?: 'gateway-address' | 'proxy-arp' | 'cni';
}

/**
 * A pod-like namespace behind the node namespace `nodeNs`, wired as Calico wires workloads: a
 * veth whose pod end is eth0, with the pod's /32, a route to 169.254.1.1 on the link and the
 * default route via it; the node's end is up, and `options.node` says what else the node does.
 */
export async function createPod(nodeNs: string, options: PodOptions): Promise<Pod> {
  const { ip, ip6, hostSide } = options;
  const mode = options.node ?? 'gateway-address';
  if (ip6 !== undefined && mode === 'proxy-arp') throw new Error('createPod: IPv6 needs a gateway address');
  const ns = await createNamespace(options.label ?? 'p');
  await addVeth(nodeNs, hostSide, ns);
  // The pod's side first, then the node's end comes up, as a CNI does it.
  const podSide = [
    `addr add ${ip}/32 dev eth0`,
    'link set eth0 up',
    'route add 169.254.1.1 dev eth0 scope link',
    'route add default via 169.254.1.1 dev eth0',
  ];
  if (ip6 !== undefined)
    podSide.push(`addr add ${ip6}/128 dev eth0 nodad`, 'route add ::/0 via fe80::1 dev eth0');
  await run(['ip', '-n', ns, '-batch', '-'], podSide.join('\n'));
  const nodeSide = [`link set ${hostSide} up`];
  if (mode === 'gateway-address') nodeSide.push(`addr add 169.254.1.1/32 dev ${hostSide}`);
  // replace, not add: alp-node may already have made this route (as Felix may, before the CNI).
  if (mode !== 'cni') nodeSide.push(`route replace ${ip}/32 dev ${hostSide}`);
  if (ip6 !== undefined && mode === 'gateway-address') {
    // IPv6 the same way: a link-local gateway on the node's veth, a /128 on the pod.
    nodeSide.push(`addr add fe80::1/64 dev ${hostSide} nodad`, `route replace ${ip6}/128 dev ${hostSide}`);
  }
  await run(['ip', '-n', nodeNs, '-batch', '-'], nodeSide.join('\n'));
  const sysctls =
    mode === 'cni'
      ? []
      : mode === 'proxy-arp'
        ? [
            'net.ipv4.ip_forward=1',
            `net.ipv4.conf.${hostSide}.proxy_arp=1`,
            `net.ipv4.neigh.${hostSide}.proxy_delay=0`,
          ]
        : ['net.ipv4.ip_forward=1', ...(ip6 === undefined ? [] : ['net.ipv6.conf.all.forwarding=1'])];
  if (sysctls.length > 0) await nsRun(nodeNs, ['sysctl', '-q', '-w', ...sysctls]);
  return { ns, ip, ...(ip6 === undefined ? {} : { ip6 }) };
}

/**
 * Captures on the underlay bridge while `during` runs (tcpdump in the switch namespace, written to
 * `file`); returns tcpdump's one-line summaries and the raw capture bytes.
 */
export async function captureUnderlay(
  underlay: Underlay,
  file: string,
  during: () => Promise<void>,
  filter = 'ip',
): Promise<{ lines: string[]; raw: Buffer }> {
  const dump = spawnInNamespace(underlay.switchNs, [
    'tcpdump',
    '--immediate-mode',
    '-i',
    'br0',
    '-n',
    '-U',
    '-w',
    file,
    filter,
  ]);
  const deadline = Date.now() + 10_000;
  while (!dump.lines.some((l) => l.includes('listening on'))) {
    if (Date.now() > deadline) throw new Error(`tcpdump did not start: ${dump.lines.join('\n')}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  try {
    await during();
  } finally {
    await new Promise((r) => setTimeout(r, 200));
    await dump.stop();
  }
  const text = await run(['tcpdump', '-r', file, '-n']);
  return { lines: text.split('\n').filter((l) => l.trim() !== ''), raw: readFileSync(file) };
}

// ---- host loopback port → the same 127.0.0.1 port inside namespaces ----------------------------

export interface LoopbackRelay {
  /** Makes 127.0.0.1:<port> inside `ns` reach the host's 127.0.0.1:<port>. */
  expose(ns: string): Promise<NsProcess>;
  close(): Promise<void>;
}

/**
 * The host half listens on a Unix socket (reachable from any namespace through the file system)
 * and connects to 127.0.0.1:<port> in the host namespace; the namespace half (this file run as a
 * program) listens on 127.0.0.1:<port> in the namespace and connects to the socket.
 */
export async function startLoopbackRelay(port: number, socketPath: string): Promise<LoopbackRelay> {
  rmSync(socketPath, { force: true });
  const server = await listenUnix(socketPath, () => connect({ host: '127.0.0.1', port }));
  cleanupPathAtExit(socketPath);
  return {
    async expose(ns) {
      const proc = spawnInNamespace(ns, [process.execPath, '-e', NAMESPACE_RELAY, String(port), socketPath]);
      const deadline = Date.now() + 30_000;
      while (!proc.lines.some((l) => l.includes('relay listening'))) {
        if (Date.now() > deadline || proc.child.exitCode !== null)
          throw new Error(`relay in ${ns} did not start: ${proc.lines.join('\n')}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      return proc;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function listenUnix(path: string, dial: () => Socket): Promise<Server> {
  const server = createServer((inbound) => pipeBoth(inbound, dial()));
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve(server));
  });
}

function pipeBoth(a: Socket, b: Socket): void {
  a.pipe(b);
  b.pipe(a);
  const end = (): void => {
    a.destroy();
    b.destroy();
  };
  a.on('error', end);
  b.on('error', end);
  a.on('close', end);
  b.on('close', end);
}

function onPath(tool: string): boolean {
  return (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin')
    .split(':')
    .some((dir) => existsSync(`${dir}/${tool}`));
}

// The namespace half of the relay, run with `node -e` so it needs no build: 127.0.0.1:<port>
// inside the namespace → the Unix socket.
const NAMESPACE_RELAY = `
const net = require('node:net');
const [port, socketPath] = process.argv.slice(1);
net.createServer((a) => {
  const b = net.connect(socketPath);
  a.pipe(b); b.pipe(a);
  const end = () => { a.destroy(); b.destroy(); };
  for (const s of [a, b]) { s.on('error', end); s.on('close', end); }
}).listen({ host: '127.0.0.1', port: Number(port) }, () => console.log('relay listening on 127.0.0.1:' + port));
process.on('SIGTERM', () => process.exit(0));
`;
