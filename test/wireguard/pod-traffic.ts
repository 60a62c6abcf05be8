// Steady traffic between two pods of a mesh, to see what a change does to it: a UDP stream of
// numbered datagrams (how many arrived, and the longest silence at the receiver) and a TCP
// stream of a known byte pattern (every byte checked in order; the connection must survive).
// Each end is a small `node -e` program inside the pod's namespace, stopped by SIGTERM, that
// prints one JSON line with its counts.
import { spawnInNamespace, type NsProcess } from '../harness/netns.js';

const UDP_SINK = `
const s = require('dgram').createSocket('udp4');
const seen = new Set(); let last = 0, maxGapMs = 0, highest = -1;
s.on('message', (m) => {
  const now = Date.now(); if (last !== 0) maxGapMs = Math.max(maxGapMs, now - last); last = now;
  const seq = m.readUInt32BE(0); seen.add(seq); highest = Math.max(highest, seq);
});
s.bind(Number(process.argv[2]), process.argv[1], () => console.log('ready'));
process.on('SIGTERM', () => { console.log(JSON.stringify({ received: seen.size, highest, maxGapMs })); process.exit(0); });
`;

const UDP_SOURCE = `
const s = require('dgram').createSocket('udp4');
const [host, port, perTick] = [process.argv[1], Number(process.argv[2]), Number(process.argv[3])];
let seq = 0;
const timer = setInterval(() => {
  for (let i = 0; i < perTick; i++) { const b = Buffer.alloc(200); b.writeUInt32BE(seq++, 0); s.send(b, port, host); }
}, 5);
console.log('ready');
process.on('SIGTERM', () => { clearInterval(timer); setTimeout(() => { console.log(JSON.stringify({ sent: seq })); process.exit(0); }, 50); });
`;

const TCP_SINK = `
let bytes = 0, corrupt = false, ended = false, error = null, last = 0, maxGapMs = 0;
const srv = require('net').createServer((c) => {
  c.on('data', (d) => {
    const now = Date.now(); if (last !== 0) maxGapMs = Math.max(maxGapMs, now - last); last = now;
    for (let i = 0; i < d.length; i++) if (d[i] !== (bytes + i) % 251) corrupt = true;
    bytes += d.length;
  });
  c.on('end', () => { ended = true; });
  c.on('error', (e) => { error = e.message; });
});
srv.listen(Number(process.argv[2]), process.argv[1], () => console.log('ready'));
process.on('SIGTERM', () => { console.log(JSON.stringify({ bytes, corrupt, ended, error, maxGapMs })); process.exit(0); });
`;

const TCP_SOURCE = `
const [host, port] = [process.argv[1], Number(process.argv[2])];
const chunk = Buffer.alloc(4096); let sent = 0, error = null, stopping = false;
const c = require('net').connect(port, host, () => { console.log('ready'); pump(); });
function pump() {
  if (stopping) return;
  const b = Buffer.alloc(chunk.length);
  for (let i = 0; i < b.length; i++) b[i] = (sent + i) % 251;
  sent += b.length;
  if (c.write(b)) setTimeout(pump, 5); else c.once('drain', pump);
}
c.on('error', (e) => { error = e.message; });
process.on('SIGTERM', () => {
  stopping = true;
  c.end(() => { console.log(JSON.stringify({ sent, error })); process.exit(0); });
  setTimeout(() => { console.log(JSON.stringify({ sent, error: error ?? 'could not finish in 20 s' })); process.exit(0); }, 20000);
});
`;

export interface UdpResult {
  readonly sent: number;
  readonly received: number;
  readonly lost: number;
  /** The longest time the receiver heard nothing, once the stream had started. */
  readonly maxGapMs: number;
}

export interface TcpResult {
  readonly sent: number;
  readonly received: number;
  readonly isIntact: boolean;
  readonly error: string | null;
  readonly maxGapMs: number;
}

export interface Stream<T> {
  readonly receiver: NsProcess;
  stop(): Promise<T>;
}

async function started(p: NsProcess, what: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!p.lines.includes('ready')) {
    if (Date.now() > deadline || p.child.exitCode !== null)
      throw new Error(`${what} did not start: ${p.lines.join('\n')}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Stops a stream end and reads its summary; a TCP source may need a while to flush what it queued. */
async function summary(p: NsProcess, graceMs = 5_000): Promise<Record<string, unknown>> {
  await p.stop(graceMs);
  const line = [...p.lines].reverse().find((l) => l.startsWith('{'));
  if (line === undefined) throw new Error(`no summary: ${p.lines.join('\n')}`);
  return JSON.parse(line) as Record<string, unknown>;
}

/** `perTick` datagrams of 200 bytes every 5 ms from one pod to another. */
export async function startUdpStream(
  fromNs: string,
  toNs: string,
  toIp: string,
  port: number,
  perTick = 2,
): Promise<Stream<UdpResult>> {
  const sink = spawnInNamespace(toNs, [process.execPath, '-e', UDP_SINK, toIp, String(port)]);
  await started(sink, 'UDP sink');
  const source = spawnInNamespace(fromNs, [
    process.execPath,
    '-e',
    UDP_SOURCE,
    toIp,
    String(port),
    String(perTick),
  ]);
  await started(source, 'UDP source');
  return {
    receiver: sink,
    async stop() {
      const { sent } = (await summary(source)) as { sent: number };
      // Let the last datagrams land.
      await new Promise((r) => setTimeout(r, 300));
      const { received, maxGapMs } = (await summary(sink)) as { received: number; maxGapMs: number };
      return { sent, received, lost: sent - received, maxGapMs };
    },
  };
}

/** A TCP connection from one pod to another carrying 4 KiB every 5 ms (or as fast as it drains). */
export async function startTcpStream(
  fromNs: string,
  toNs: string,
  toIp: string,
  port: number,
): Promise<Stream<TcpResult>> {
  const sink = spawnInNamespace(toNs, [process.execPath, '-e', TCP_SINK, toIp, String(port)]);
  await started(sink, 'TCP sink');
  const source = spawnInNamespace(fromNs, [process.execPath, '-e', TCP_SOURCE, toIp, String(port)]);
  await started(source, 'TCP source');
  return {
    receiver: sink,
    async stop() {
      const { sent, error } = (await summary(source, 25_000)) as { sent: number; error: string | null };
      await new Promise((r) => setTimeout(r, 300));
      const r = (await summary(sink)) as {
        bytes: number;
        corrupt: boolean;
        ended: boolean;
        error: string | null;
        maxGapMs: number;
      };
      return {
        sent,
        received: r.bytes,
        isIntact: !r.corrupt && r.ended && r.bytes === sent,
        error: error ?? r.error,
        maxGapMs: r.maxGapMs,
      };
    },
  };
}
