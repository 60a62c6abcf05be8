// TCP probes from inside a pod: one long-lived `netbench probe` in the pod's namespace dials on
// request, so a probe costs a goroutine, not a process. A probe "reached" its destination when the
// connection was accepted or refused (either way the SYN got through the node), and is "blocked"
// when nothing answered within its timeout (the node dropped it).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, waitFor } from '../../harness/process.js';

const TOOL_SRC = join(REPO_ROOT, 'test', 'bench', 'dataplane', 'netbench');

/** Builds test/bench/dataplane/netbench (Go, standard library only) into .cache, once per source version. */
export function netbenchBinary(): string {
  const dir = join(REPO_ROOT, '.cache', 'bench-tools');
  const source = readFileSync(join(TOOL_SRC, 'main.go'));
  const bin = join(dir, `netbench-${createHash('sha256').update(source).digest('hex').slice(0, 12)}`);
  if (!existsSync(bin)) {
    mkdirSync(dir, { recursive: true });
    execFileSync('go', ['build', '-o', bin, '.'], { cwd: TOOL_SRC, stdio: 'inherit' });
  }
  return bin;
}

export type Verdict = 'reached' | 'blocked';

export interface ProbeResult {
  readonly verdict: Verdict;
  /** performance.now() when the probe was sent. */
  readonly sentAt: number;
}

export class Prober {
  private readonly child: ChildProcess;
  private readonly waiting = new Map<string, (v: Verdict) => void>();
  private nextId = 0;
  private isReady = false;

  private constructor(ns: string, binary: string) {
    // Its own spawn (not spawnInNamespace): requests go in on stdin.
    this.child = spawn('ip', ['netns', 'exec', ns, binary, 'probe'], { stdio: ['pipe', 'pipe', 'inherit'] });
    const kill = () => this.child.kill('SIGKILL');
    process.on('exit', kill);
    this.child.on('exit', () => process.off('exit', kill));
    let buf = '';
    this.child.stdout?.setEncoding('utf8');
    this.child.stdout?.on('data', (chunk: string) => {
      buf += chunk;
      const lines = buf.split('\n');
      buf = lines.pop() ?? '';
      for (const line of lines) this.onLine(line);
    });
  }

  private onLine(line: string): void {
    if (line === 'ready') this.isReady = true;
    const [id, verdict] = line.split(' ');
    const done = id === undefined ? undefined : this.waiting.get(id);
    if (done === undefined) return;
    this.waiting.delete(id as string);
    done(verdict === 'reached' ? 'reached' : 'blocked');
  }

  static async start(ns: string, binary: string): Promise<Prober> {
    const p = new Prober(ns, binary);
    await waitFor('the prober', () => p.isReady, 30_000);
    return p;
  }

  probe(address: string, timeoutMs: number): Promise<ProbeResult> {
    const id = String(this.nextId++);
    const sentAt = performance.now();
    return new Promise((resolve) => {
      this.waiting.set(id, (verdict) => resolve({ verdict, sentAt }));
      this.child.stdin?.write(`${id} ${address} ${timeoutMs}\n`);
    });
  }

  /**
   * Probes `address` every `periodMs` until a probe sees `want` (for "blocked", `confirm` probes
   * in a row, since a slow answer on a loaded machine also looks blocked); resolves with the send
   * time of the first probe of that run. Throws after `giveUpMs`.
   */
  async until(
    address: string,
    want: Verdict,
    { periodMs = 5, timeoutMs = 100, confirm = 1, giveUpMs = 30_000 } = {},
  ): Promise<number> {
    const results: (ProbeResult | undefined)[] = [];
    const start = performance.now();
    const found = (): number | null => {
      for (let i = 0; i + confirm <= results.length; i++) {
        let ok = true;
        for (let j = i; j < i + confirm; j++) if (results[j]?.verdict !== want) ok = false;
        if (ok) return results[i]!.sentAt;
        if (results[i] === undefined) return null; // wait for answers in send order
      }
      return null;
    };
    for (;;) {
      const at = found();
      if (at !== null) return at;
      if (performance.now() - start > giveUpMs)
        throw new Error(`${address} not ${want} after ${giveUpMs} ms`);
      const i = results.length;
      results.push(undefined);
      void this.probe(address, timeoutMs).then((r) => (results[i] = r));
      await new Promise((r) => setTimeout(r, periodMs));
    }
  }

  /** Ends it by pid (closing stdin ends `netbench probe`; SIGKILL if it lingers). */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.stdin?.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 2_000);
    await exited;
    clearTimeout(timer);
  }
}
