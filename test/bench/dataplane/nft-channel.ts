// How a transaction reaches the kernel: one long-lived `nft -i` fed lines (the channel) against one
// `nft -f -` process per transaction, for the small changes that dominate (one set element, one
// policy's chains) and a full ruleset, in a scratch network namespace; optionally beside a CPU hog
// (`--hog`), as on a busy node. Needs root. Run: npm run bench:nft-channel [-- --hog]
// With `--scale` it measures the renderer and nft at issue 11's scale instead (nft-scale.ts).
import { spawn } from 'node:child_process';
import { silentLogger } from '../../../daemon/log.js';
import { NftChannel, type NftMode } from '../../../dataplane/shell/nft-channel.js';
import { createNamespace, deleteNamespace } from '../../harness/netns.js';
import { percentile, report, type BenchRow } from '../bench-report.js';
import { scaleBench } from './nft-scale.js';

function fullRuleset(chains: number, rulesPerChain: number): string {
  const out = ['table inet bench {', '  set pods { type ipv4_addr; flags interval; }'];
  for (let c = 0; c < chains; c++) {
    out.push(`  chain pol-${c} {`);
    for (let r = 0; r < rulesPerChain; r++)
      out.push(`    ip saddr @pods tcp dport ${1000 + r} counter accept comment "p${c}r${r}"`);
    out.push('  }');
  }
  out.push('}');
  return out.join('\n');
}

async function timeEach(ch: NftChannel, texts: readonly string[]): Promise<number[]> {
  const ms: number[] = [];
  for (const t of texts) {
    const start = process.hrtime.bigint();
    await ch.apply(t);
    ms.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return ms.sort((a, b) => a - b);
}

async function main(): Promise<void> {
  const hog = process.argv.includes('--hog');
  const ns = await createNamespace('nftbench');
  const hogs = hog ? [0, 1].map(() => spawn(process.execPath, ['-e', 'for(;;){}'], { stdio: 'ignore' })) : [];
  const rows: BenchRow[] = [];
  try {
    for (const mode of ['channel', 'process'] as NftMode[]) {
      const ch = new NftChannel({
        log: silentLogger(),
        mode,
        nftCommand: ['ip', 'netns', 'exec', ns, 'nft'],
      });
      await ch.apply(`add table inet bench\ndelete table inet bench\n${fullRuleset(1, 1)}`);
      const elements = await timeEach(
        ch,
        Array.from({ length: 200 }, (_, i) => `add element inet bench pods { 10.1.${i >> 8}.${i & 255} }`),
      );
      const policies = await timeEach(
        ch,
        Array.from({ length: 50 }, (_, i) =>
          [
            `add chain inet bench pol-x${i}`,
            `flush chain inet bench pol-x${i}`,
            ...Array.from(
              { length: 10 },
              (_, r) => `add rule inet bench pol-x${i} tcp dport ${r + 1} accept`,
            ),
          ].join('\n'),
        ),
      );
      const full = await timeEach(
        ch,
        Array.from(
          { length: 5 },
          () => `add table inet bench\ndelete table inet bench\n${fullRuleset(500, 10)}`,
        ),
      );
      for (const [what, ms] of [
        ['one set element', elements],
        ['one policy (10 rules)', policies],
        ['full table (500 chains × 10 rules)', full],
      ] as const) {
        rows.push({
          mode: mode === 'channel' ? 'channel (over 16 KiB: own nft -f -)' : 'nft -f - per transaction',
          transaction: what,
          n: ms.length,
          'p50 ms': percentile(ms, 50),
          'p99 ms': percentile(ms, 99),
          'max ms': ms[ms.length - 1] as number,
        });
      }
      await ch.close();
    }
  } finally {
    for (const h of hogs) h.kill('SIGKILL');
    await deleteNamespace(ns);
  }
  report(hog ? 'dataplane-nft-channel-hog' : 'dataplane-nft-channel', rows, { cpuHog: hog });
}

if (process.argv.includes('--scale')) await scaleBench(process.argv.slice(2));
else await main();
