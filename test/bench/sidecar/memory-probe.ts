// Loaded into a Node.js sidecar by `bench:sidecar --memory-probe` (NODE_OPTIONS=--import=<this>),
// never shipped: where the sidecar's memory is, at the moments the benchmark asks (SIGUSR2) and at
// the highest RSS seen so far. Each SIGUSR2 appends one JSON line, { now, peak }, to the file
// named by ALP_MEMORY_PROBE_OUT. The peak is found by reading the RSS every 20 ms (a cheap call);
// the full breakdown is taken only when the RSS has grown by a MiB since the last one.
import { appendFileSync, readFileSync } from 'node:fs';
import { getHeapSpaceStatistics } from 'node:v8';

export interface MemoryBreakdown {
  readonly rss: number;
  readonly heapTotal: number;
  readonly heapUsed: number;
  readonly external: number;
  readonly arrayBuffers: number;
  /** Per V8 heap space: committed size and used bytes. */
  readonly spaces: Readonly<Record<string, { size: number; used: number }>>;
  /** /proc/self/smaps_rollup, kB: Rss, Anonymous, and the file-backed rest. */
  readonly smaps: Readonly<Record<string, number>>;
}

function smapsRollup(): Record<string, number> {
  const out: Record<string, number> = {};
  try {
    for (const m of readFileSync('/proc/self/smaps_rollup', 'utf8').matchAll(/^(\w+):\s+(\d+) kB/gm))
      out[m[1]!] = Number(m[2]);
  } catch {
    // not Linux: the rest still says a lot
  }
  return out;
}

export function memoryBreakdown(): MemoryBreakdown {
  const m = process.memoryUsage();
  const spaces: Record<string, { size: number; used: number }> = {};
  for (const s of getHeapSpaceStatistics())
    spaces[s.space_name] = { size: s.space_size, used: s.space_used_size };
  return { ...m, spaces, smaps: smapsRollup() };
}

const out = process.env['ALP_MEMORY_PROBE_OUT'];
if (out !== undefined) {
  let peak = memoryBreakdown();
  setInterval(() => {
    if (process.memoryUsage.rss() > peak.rss + (1 << 20)) peak = memoryBreakdown();
  }, 20).unref();
  process.on('SIGUSR2', () => {
    const now = memoryBreakdown();
    if (now.rss > peak.rss) peak = now;
    appendFileSync(out, `${JSON.stringify({ now, peak })}\n`);
  });
}
