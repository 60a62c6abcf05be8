// What the end-to-end tests do inside pods: the inbound capture istio-init sets up, curl as the
// client (its status, headers and body, as a user reads them), a raw TCP exchange, and waiting
// for a process to log a line.
import { nsRun, type NsProcess } from '../harness/netns.js';

/**
 * istio-init's inbound capture (`istio-iptables -z <inbound> -b '*' -d <excluded>`), with nft:
 * every new inbound TCP connection to the pod, except to the excluded ports, is redirected to the
 * proxy's inbound port; the proxy reads the original destination (SO_ORIGINAL_DST). The pod's own
 * outgoing connections (the proxy to the app) are not captured.
 */
export async function captureInbound(
  ns: string,
  inboundPort: number,
  excluded: readonly number[],
): Promise<void> {
  const skip = excluded.length > 0 ? `tcp dport { ${[...excluded, inboundPort].join(', ')} } return\n` : '';
  const ruleset = `table ip istio_inbound {
  chain prerouting {
    type nat hook prerouting priority dstnat; policy accept;
    ${skip}    meta l4proto tcp redirect to :${inboundPort}
  }
}
`;
  await nsRun(ns, ['nft', '-f', '-'], ruleset);
}

/** The ports of an injected istio-init's arguments: -z (inbound capture port) and -d (excluded). */
export function istioInitPorts(args: readonly string[]): { inbound: number; excluded: number[] } {
  const value = (flag: string) => {
    const i = args.indexOf(flag);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const inbound = Number(value('-z') ?? '15006');
  const excluded = (value('-d') ?? '')
    .split(',')
    .filter((p) => p !== '')
    .map(Number);
  return { inbound, excluded };
}

export interface CurlResult {
  /** HTTP status, or 0 when no response came (reset, closed, timed out). */
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
  /** curl's error when status is 0. */
  readonly error: string;
}

/** Splits `curl -i` output into status, headers (lower-case names) and body. */
export function parseCurl(out: string): CurlResult {
  const sep = out.indexOf('\r\n\r\n');
  const head = sep >= 0 ? out.slice(0, sep) : out;
  const body = sep >= 0 ? out.slice(sep + 4) : '';
  const [statusLine = '', ...lines] = head.split('\r\n');
  const status = Number(/^HTTP\/[\d.]+ (\d{3})/.exec(statusLine)?.[1] ?? 0);
  const headers: Record<string, string> = {};
  for (const l of lines) {
    const i = l.indexOf(':');
    if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
  }
  return { status, headers, body, error: '' };
}

export interface CurlOptions {
  readonly method?: string;
  readonly headers?: Record<string, string>;
  /** Send the path as typed (curl otherwise squashes /../ itself). */
  readonly pathAsIs?: boolean;
  /** The pod's outbound proxy port; null for a direct (plaintext, unproxied) request. */
  readonly proxy?: string | null;
  /** Runs argv in the client pod; default: plain `ip netns exec`. */
  readonly exec?: (argv: string[]) => Promise<string>;
}

/** curl in a client pod, through its outbound proxy (127.0.0.1:15001) unless told otherwise. */
export async function curlThrough(ns: string, url: string, options: CurlOptions = {}): Promise<CurlResult> {
  const argv = ['curl', '-sS', '-i', '--max-time', '10'];
  const proxy = options.proxy === undefined ? 'http://127.0.0.1:15001' : options.proxy;
  if (proxy !== null) argv.push('-x', proxy);
  if (options.method !== undefined) argv.push('-X', options.method);
  if (options.pathAsIs === true) argv.push('--path-as-is');
  for (const [k, v] of Object.entries(options.headers ?? {})) argv.push('-H', `${k}: ${v}`);
  argv.push(url);
  const exec = options.exec ?? ((a: string[]) => nsRun(ns, a));
  try {
    return parseCurl(await exec(argv));
  } catch (err) {
    return { status: 0, headers: {}, body: '', error: String(err) };
  }
}

/**
 * Opens a TCP connection from the pod, sends `text`, and returns what came back before the
 * peer closed (or 3 s passed); '' when the connection was closed without an answer.
 */
export async function tcpExchange(ns: string, host: string, port: number, text: string): Promise<string> {
  const script = `
const net = require('node:net');
const [host, port, text] = process.argv.slice(1);
const s = net.connect({ host, port: Number(port) }, () => s.write(text));
let got = '';
s.setEncoding('utf8');
s.on('data', (d) => { got += d; if (got.includes('\\n')) s.end(); });
const done = () => { process.stdout.write(got); process.exit(0); };
s.on('close', done);
s.on('error', done);
setTimeout(done, 3000);
`;
  return nsRun(ns, [process.execPath, '-e', script, host, String(port), text]);
}

/** Waits until the process logs a line matching `pattern`; returns that line. */
export async function waitForLine(proc: NsProcess, pattern: RegExp, timeoutMs = 30_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const line = proc.lines.find((l) => pattern.test(l));
    if (line !== undefined) return line;
    if (proc.child.exitCode !== null || proc.child.signalCode !== null || Date.now() > deadline) {
      throw new Error(
        `no line matching ${pattern} (${proc.child.exitCode !== null ? `exited ${proc.child.exitCode}` : 'timed out'}):\n${proc.lines.slice(-20).join('\n')}`,
      );
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
