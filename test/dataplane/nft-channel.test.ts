// The long-lived `nft -i` channel against the real nftables, in a scratch network namespace: many
// transactions through one child, a refused transaction applying nothing and saying why in nft's
// words, transactions after a failure still working, a child killed from outside failing only
// what was in flight, nft run at a raised priority, the one-process-per-transaction mode, and
// one clear reason when nft cannot run (not installed, no CAP_NET_ADMIN, no nf_tables).
// Needs root.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it, onTestFinished } from 'vitest';
import { silentLogger } from '../../daemon/log.js';
import {
  LARGE_TRANSACTION_BYTES,
  NFT_NICE,
  NftChannel,
  NftError,
  nftUnavailableReason,
} from '../../dataplane/shell/nft-channel.js';
import { createNamespace, deleteNamespace, nsRun, run } from '../harness/netns.js';
import { makeTempDir } from '../harness/temp-dirs.js';
import { describeWithNft } from './nft-gate.js';

describeWithNft('nft channel (root, network namespace)', () => {
  let ns: string;
  const channels: NftChannel[] = [];
  const open = (mode: 'channel' | 'process' = 'channel'): NftChannel => {
    const c = new NftChannel({ log: silentLogger(), mode, nftCommand: ['ip', 'netns', 'exec', ns, 'nft'] });
    channels.push(c);
    return c;
  };
  const tables = async (): Promise<string[]> =>
    (await nsRun(ns, ['nft', 'list', 'tables'])).split('\n').filter(Boolean).sort();

  beforeAll(async () => {
    ns = await createNamespace('nftch');
  });
  afterAll(async () => {
    for (const c of channels) await c.close();
    await deleteNamespace(ns);
  });

  it('applies many multi-line transactions through one nft child', async () => {
    const ch = open();
    await ch.apply(
      [
        'table inet t {',
        '  set s { type ipv4_addr; flags interval; }',
        '  chain c {',
        '    type filter hook input priority 0; policy accept;',
        '    ip saddr @s counter comment "from s"',
        '  }',
        '}',
      ].join('\n'),
    );
    await Promise.all(
      Array.from({ length: 50 }, (_, i) => ch.apply(`add element inet t s { 10.0.${i}.0/24 }`)),
    );
    const set = await nsRun(ns, ['nft', '-j', 'list', 'set', 'inet', 't', 's']);
    expect(set).toContain('"10.0.49.0"');
    expect(ch.childrenStarted).toBe(1);
  });

  it('runs nft ahead of ordinary work (nice -10), so that a change is not kept waiting on a busy node', async () => {
    const ch = open();
    await ch.apply('add table inet nice');
    const pid = ch.childPid;
    expect(pid).toBeDefined();
    // /proc/<pid>/stat: field 19 is the nice value (after the command name in parentheses).
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    expect(Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16])).toBe(NFT_NICE);
  });

  it('refuses a whole transaction when one command fails, and keeps working after it', async () => {
    const ch = open();
    const failing = ch.apply('add table inet half\nadd chain inet half c\ndelete chain inet half nothere');
    await expect(failing).rejects.toBeInstanceOf(NftError);
    await expect(failing).rejects.toThrow(/No such file or directory/);
    expect(await tables()).not.toContain('table inet half');
    await expect(
      ch.apply('add table inet bad-syntax\nadd rule inet bad-syntax nonsense here'),
    ).rejects.toThrow(/Error/);
    await ch.apply('add table inet after');
    expect(await tables()).toContain('table inet after');
    expect(ch.childrenStarted).toBe(1);
  });

  it('fails what was in flight when nft dies, then starts a new child', async () => {
    const ch = open();
    await ch.apply('add table inet before-kill');
    const pids = (await run(['ip', 'netns', 'pids', ns])).split('\n').filter((p) => /^\d+$/.test(p));
    for (const pid of pids) process.kill(Number(pid), 'SIGKILL');
    // A transaction sent before the exit is noticed fails (the caller resyncs); later ones work.
    await expect
      .poll(
        () =>
          ch.apply('add table inet after-kill').then(
            () => 'applied',
            (e: Error) => e.message,
          ),
        {
          timeout: 10_000,
        },
      )
      .toBe('applied');
    expect(await tables()).toContain('table inet after-kill');
    expect(ch.childrenStarted).toBe(2);
  });

  it('runs one nft process per transaction in process mode, with the same errors', async () => {
    const ch = open('process');
    await ch.apply('add table inet by-process');
    await expect(ch.apply('delete table inet never-there')).rejects.toThrow(/No such file or directory/);
    expect(await tables()).toContain('table inet by-process');
    expect(ch.childrenStarted).toBe(0);
  });

  it('keeps order when a large transaction runs in its own process between small ones', async () => {
    const ch = open();
    const big = Array.from({ length: 2000 }, (_, i) => `10.9.${i >> 8}.${i & 255}`).join(', ');
    const results = await Promise.all([
      ch.apply('add table inet order\nadd set inet order s { type ipv4_addr; }'),
      ch.apply(`add element inet order s { ${big} }`),
      ch.apply('delete element inet order s { 10.9.0.1 }'),
      ch.apply('add element inet order s { 10.8.0.1 }'),
    ]);
    expect(results).toHaveLength(4);
    const set = await nsRun(ns, ['nft', '-j', 'list', 'set', 'inet', 'order', 's']);
    expect(set).not.toContain('"10.9.0.1"');
    expect(set).toContain('"10.9.7.207"');
    expect(set).toContain('"10.8.0.1"');
    expect(ch.childrenStarted).toBe(1);
  });

  it('has its child read the ruleset right after a large transaction, before the next small one', async () => {
    // nft -i reads the ruleset at its first command: started and asked now, the next policy edit
    // does not wait for that read (BENCHMARKS.md, the first edit after a start).
    const ch = open();
    const elements = Array.from({ length: 2000 }, (_, i) => `10.6.${i >> 8}.${i & 255}`).join(', ');
    await ch.apply(
      `add table inet warmed\nadd set inet warmed s { type ipv4_addr; elements = { ${elements} } }`,
    );
    await expect.poll(() => ch.childrenStarted, { timeout: 10_000 }).toBe(1);
    await ch.apply('delete element inet warmed s { 10.6.0.1 }');
    const set = await nsRun(ns, ['nft', '-j', 'list', 'set', 'inet', 'warmed', 's']);
    expect(set).not.toContain('"10.6.0.1"');
    expect(set).toContain('"10.6.7.207"');
    expect(ch.childrenStarted).toBe(1);
  });

  it('applies a large transaction as nft file text, even what the channel could not carry', async () => {
    const ch = open();
    // A `#` after a statement is a comment to `nft -f` but would hide the rest of a channel line.
    const elements = Array.from({ length: 2000 }, (_, i) => `10.7.${i >> 8}.${i & 255}`).join(',\n');
    const big = `add table inet carried # not a line\nadd set inet carried s { type ipv4_addr; elements = { ${elements} } }`;
    expect(big.length).toBeGreaterThan(LARGE_TRANSACTION_BYTES);
    await ch.apply(big);
    const set = await nsRun(ns, ['nft', '-j', 'list', 'set', 'inet', 'carried', 's']);
    expect(set).toContain('"10.7.7.207"');
    // A small one still goes through the channel, which refuses it rather than cut it short.
    await expect(ch.apply('add table inet small-carried # not a line')).rejects.toThrow(/cannot carry/);
    expect(await tables()).not.toContain('table inet small-carried');
  });

  it('says clearly when nft cannot run', async () => {
    expect(await nftUnavailableReason(['/nonexistent/nft'])).toMatch(/not installed/);
    expect(await nftUnavailableReason(['ip', 'netns', 'exec', ns, 'nft'])).toBeNull();
    // The real nft without root (CAP_NET_ADMIN).
    expect(
      await nftUnavailableReason(['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', 'nft']),
    ).toMatch(/^nft needs CAP_NET_ADMIN in this network namespace: .*Operation not permitted/);
    // A kernel without nf_tables cannot be had here: an nft that answers as nft 1.0 does on one.
    const dir = makeTempDir('alp-nft');
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const fake = join(dir, 'nft');
    writeFileSync(
      fake,
      "#!/bin/sh\necho 'netlink: Error: cache initialization failed: Protocol not supported' >&2\nexit 1\n",
      { mode: 0o755 },
    );
    expect(await nftUnavailableReason([fake])).toMatch(/^the kernel has no nf_tables support/);
  });
});
