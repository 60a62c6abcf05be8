// The long-lived `ip -force -batch -` channel against the real iproute2, in a scratch network
// namespace: many changes through one child, per-line errors in ip's words, a child that dies
// (killed from outside, or by a line that makes ip exit) failing only what was in flight, and
// the one-process-per-batch fallback. Needs root.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { silentLogger } from '../../daemon/log.js';
import { CommandError } from '../../wireguard/shell/command-error.js';
import { IpBatch } from '../../wireguard/shell/ip-batch.js';
import { createRunner, type Runner } from '../../wireguard/shell/runner.js';
import { createNamespace, deleteNamespace, describeAsRoot, run } from '../harness/netns.js';

describeAsRoot('ip batch channel (root, network namespace)', () => {
  let ns: string | undefined;
  let dir: string | undefined;
  let runner: Runner;

  /** The real runner, with batch children started inside the test's namespace. */
  const runnerInNamespace = (base: Runner): Runner => ({
    ...base,
    spawnCommandReader: (argv) =>
      spawn('ip', ['netns', 'exec', ns as string, ...argv], { stdio: ['pipe', 'ignore', 'pipe'] }),
  });

  const routes = async (): Promise<string[]> =>
    (await run(['ip', '-n', ns as string, '-4', 'route', 'show', 'table', '7']))
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean)
      .sort();

  const killBatchChildren = async (): Promise<void> => {
    const pids = (await run(['ip', 'netns', 'pids', ns as string]))
      .split('\n')
      .filter((p) => /^\d+$/.test(p));
    for (const pid of pids) process.kill(Number(pid), 'SIGKILL');
  };

  beforeAll(async () => {
    const created = await createNamespace('ipb');
    ns = created;
    // A veth pair: this kernel may lack the dummy module, never veth (the underlay uses it).
    await run(['ip', '-n', created, 'link', 'add', 'dummy0', 'type', 'veth', 'peer', 'name', 'dummy1']);
    await run(['ip', '-n', created, 'link', 'set', 'dummy0', 'up']);
    await run(['ip', '-n', created, 'link', 'set', 'dummy1', 'up']);
    const secretDir = await mkdtemp(join(tmpdir(), 'alp-ipb-'));
    dir = secretDir;
    runner = runnerInNamespace(createRunner({ log: silentLogger(), secretDir }));
  });

  afterAll(async () => {
    if (ns !== undefined) await deleteNamespace(ns);
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('applies many changes, pipelined, through a single ip child', async () => {
    const batch = new IpBatch(runner, silentLogger(), '-4');
    try {
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          batch.run([`route replace 198.51.100.${i * 4}/30 dev dummy0 table 7 proto 3 scope link`]),
        ),
      );
      expect(results.every((errors) => errors.length === 0)).toBe(true);
      expect(await routes()).toHaveLength(20);
      expect(
        await batch.run(Array.from({ length: 20 }, (_, i) => `route del 198.51.100.${i * 4}/30 table 7`)),
      ).toEqual([]);
      expect(await routes()).toEqual([]);
      expect(batch.childrenStarted).toBe(1);
    } finally {
      await batch.close();
    }
  });

  it('reports each refused line with ip’s own message and carries on with the rest', async () => {
    const batch = new IpBatch(runner, silentLogger(), '-4');
    try {
      const errors = await batch.run([
        'route del 203.0.113.0/24 table 7',
        'route replace 198.51.100.0/26 dev nonexistent0 table 7',
        'route replace throw 198.51.100.64/26 table 7 proto 3',
      ]);
      expect(errors).toEqual([
        {
          index: 0,
          line: 'route del 203.0.113.0/24 table 7',
          message: 'RTNETLINK answers: No such process',
        },
        {
          index: 1,
          line: 'route replace 198.51.100.0/26 dev nonexistent0 table 7',
          message: 'Cannot find device "nonexistent0"',
        },
      ]);
      expect(await routes()).toEqual(['throw 198.51.100.64/26']);
      expect(await batch.run(['route del throw 198.51.100.64/26 table 7'])).toEqual([]);
    } finally {
      await batch.close();
    }
  });

  it('fails the batch in flight when ip dies, and starts a new child for the next one', async () => {
    const batch = new IpBatch(runner, silentLogger(), '-4');
    try {
      // An IPv6 prefix on the -4 child is a parse error, and ip's parser exits on those.
      const dying = batch.run([
        'route replace throw 198.51.100.0/26 table 7 proto 3',
        'route replace throw 2001:db8::/64 table 7 proto 3',
        'route replace throw 198.51.100.128/26 table 7 proto 3',
      ]);
      const err: unknown = await dying.catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CommandError);
      expect((err as CommandError).stderrTail).toMatch(
        /ip exited before confirming[\s\S]*inet prefix is expected/,
      );

      expect(await batch.run(['route del throw 198.51.100.0/26 table 7'])).toEqual([]);
      expect(batch.childrenStarted).toBe(2);

      // Killed from outside while idle: the next batch simply gets a new child.
      await killBatchChildren();
      await new Promise((r) => setTimeout(r, 100));
      expect(await batch.run(['route replace throw 198.51.100.0/26 table 7 proto 3'])).toEqual([]);
      expect(batch.childrenStarted).toBe(3);
      expect(await routes()).toEqual(['throw 198.51.100.0/26']);
      expect(await batch.run(['route del throw 198.51.100.0/26 table 7'])).toEqual([]);
    } finally {
      await batch.close();
    }
  });

  it('falls back to one ip process per batch when the child keeps dying, still reporting per line', async () => {
    const batch = new IpBatch(runner, silentLogger(), '-4');
    try {
      for (let i = 0; i < 3; i++) {
        await expect(batch.run(['route replace throw 2001:db8::/64 table 7'])).rejects.toBeInstanceOf(
          CommandError,
        );
      }
      const before = batch.childrenStarted;
      expect(await batch.run(['route replace throw 198.51.100.0/26 table 7 proto 3'])).toEqual([]);
      const errors = await batch.run([
        'route del 203.0.113.0/24 table 7',
        'route del throw 198.51.100.0/26 table 7',
      ]);
      expect(errors.map((e) => e.index)).toEqual([0]);
      expect(batch.childrenStarted).toBe(before + 2);
      expect(await routes()).toEqual([]);
    } finally {
      await batch.close();
    }
  });

  it('reaches a link recreated under the same name once recycled (ip caches indexes by name)', async () => {
    const netns = ns as string;
    const createLink = async (): Promise<void> => {
      await run(['ip', '-n', netns, 'link', 'add', 'recr0', 'type', 'veth', 'peer', 'name', 'recr1']);
    };
    const batch = new IpBatch(runner, silentLogger(), '-4');
    try {
      await createLink();
      expect(await batch.run(['link set dev recr0 mtu 1400', 'addr add 192.0.2.9/32 dev recr0'])).toEqual([]);
      await run(['ip', '-n', netns, 'link', 'del', 'recr0']);
      await createLink();
      // The same child still holds the deleted link's index: this is why the dataplane recycles.
      const stale = await batch.run(['link set dev recr0 mtu 1300']);
      expect(stale.map((e) => e.message)).toEqual(['RTNETLINK answers: No such device']);
      batch.recycle();
      expect(await batch.run(['link set dev recr0 mtu 1300'])).toEqual([]);
      expect(await run(['ip', '-n', netns, 'link', 'show', 'dev', 'recr0'])).toMatch(/mtu 1300/);
      expect(batch.childrenStarted).toBe(2);
    } finally {
      await batch.close();
      await run(['ip', '-n', netns, 'link', 'del', 'recr0']).catch(() => undefined);
    }
  });

  it('refuses a line that would shift ip’s line numbering, without sending anything', async () => {
    const batch = new IpBatch(runner, silentLogger(), '-4');
    try {
      await expect(batch.run(['route del 198.51.100.0/26 table 7\nroute flush table main'])).rejects.toThrow(
        /refusing ip batch line/,
      );
      expect(batch.childrenStarted).toBe(0);
    } finally {
      await batch.close();
    }
  });
});
