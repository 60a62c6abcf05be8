// The gate for dataplane suites: root, iproute2 and nftables (the kernel's nf_tables included).
import { execFileSync } from 'node:child_process';
import { describeWhen } from '../harness/prerequisite-gate.js';

const HINT = 'run as root after: apt-get install -y --no-install-recommends nftables iproute2';

/** Why this machine cannot run nftables tests in namespaces, or null when it can. */
export function nftUnavailable(): string | null {
  if (process.getuid?.() !== 0) return 'not running as root';
  for (const [tool, args] of [
    ['ip', ['-V']],
    ['nft', ['--version']],
  ] as const) {
    try {
      execFileSync(tool, args, { stdio: 'ignore' });
    } catch {
      return `missing ${tool}`;
    }
  }
  return null;
}

export function describeWithNft(name: string, fn: () => void): void {
  describeWhen(name, { what: 'root and nftables', missing: nftUnavailable(), hint: HINT }, fn);
}
