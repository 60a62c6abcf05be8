// The enforcement controller against the real nftables, in a scratch namespace, with a tiny
// stand-in renderer (a set of allowed ports): the first apply replaces a table left by an earlier
// run in one transaction, changes go in as incremental transactions, a burst is coalesced, a table
// flushed, a chain deleted, or a rule or set element swapped behind our back is found and
// replaced (our own changes are not mistaken for such edits), a refused incremental
// transaction is followed by a full replace (and no tamper alarm is raised while it is pending),
// close() leaves the rules, disable() removes them, and a missing nft is one clear error with
// nothing programmed. Needs root.
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it, onTestFinished } from 'vitest';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { silentLogger, type Logger } from '../../daemon/log.js';
import {
  Enforcement,
  EnforcementUnavailableError,
  type Renderer,
} from '../../dataplane/shell/enforcement.js';
import { NftChannel } from '../../dataplane/shell/nft-channel.js';
import { createNamespace, deleteNamespace, nsRun } from '../harness/netns.js';
import { makeTempDir } from '../harness/temp-dirs.js';
import { waitFor } from '../harness/process.js';
import { describeWithNft } from './nft-gate.js';

const TABLE = 'alp-test';

interface PortsState {
  readonly ports: readonly number[];
  /** Extra `tcp dport N drop` rules in chain input (ports 60000 + i), to change its shape. */
  readonly extraRules?: number;
  /** Text an incremental transaction appends (to make one fail on purpose). */
  readonly poison?: string;
}

const baseRules = ['\t\ttcp dport @ports accept', '\t\ttcp dport 1-1000 drop'];

function extraRules(s: PortsState): string[] {
  return Array.from({ length: s.extraRules ?? 0 }, (_, i) => `\t\ttcp dport ${60000 + i} drop`);
}

const renderer: Renderer<PortsState> = {
  renderFull: (s) =>
    [
      `table inet ${TABLE} {}`,
      `delete table inet ${TABLE}`,
      `table inet ${TABLE} {`,
      '\tset ports {',
      '\t\ttype inet_service',
      ...(s.ports.length > 0 ? [`\t\telements = { ${s.ports.join(',\n\t\t\t')} }`] : []),
      '\t}',
      '\tchain input {',
      '\t\ttype filter hook input priority 0; policy accept;',
      ...baseRules,
      ...extraRules(s),
      '\t}',
      '}',
    ].join('\n'),
  renderChanges: (prev, next) => {
    const added = next.ports.filter((p) => !prev.ports.includes(p));
    const removed = prev.ports.filter((p) => !next.ports.includes(p));
    const out: string[] = [];
    if (added.length > 0) out.push(`add element inet ${TABLE} ports { ${added.join(', ')} }`);
    if (removed.length > 0) out.push(`delete element inet ${TABLE} ports { ${removed.join(', ')} }`);
    if ((next.extraRules ?? 0) !== (prev.extraRules ?? 0)) {
      const rules = [...baseRules, ...extraRules(next)];
      out.push(
        `flush chain inet ${TABLE} input`,
        `table inet ${TABLE} {`,
        '\tchain input {',
        ...rules,
        '\t}',
        '}',
      );
    }
    if (next.poison !== undefined) out.push(next.poison);
    return out.join('\n');
  },
  renderRemoveTable: () => `table inet ${TABLE} {}\ndelete table inet ${TABLE}`,
};

describeWithNft('enforcement controller (root, network namespace)', () => {
  let ns: string;
  const nft = (): string[] => ['ip', 'netns', 'exec', ns, 'nft'];
  const transactions: string[] = [];
  /** A controller on its own nft channel, with no periodic check unless a test asks. */
  const controller = (
    nftCommand: string[],
    extra: {
      renderer?: Renderer<PortsState>;
      coalesceMs?: number;
      now?: () => number;
      registry?: Registry;
      log?: Logger;
      resyncIntervalMs?: number;
    } = {},
  ): Enforcement<PortsState> =>
    new Enforcement({
      channel: new NftChannel({ log: silentLogger(), nftCommand }),
      renderer,
      tableName: TABLE,
      log: silentLogger(),
      registry: new Registry(),
      resyncIntervalMs: 0,
      ...extra,
    });
  const start = async (
    initial: PortsState,
    timing: { coalesceMs?: number; now?: () => number; registry?: Registry } = {},
  ): Promise<Enforcement<PortsState>> => {
    const counting: Renderer<PortsState> = {
      renderFull: (s) => renderer.renderFull(s),
      renderChanges: (a, b) => {
        const text = renderer.renderChanges(a, b);
        if (text !== '') transactions.push(text);
        return text;
      },
      renderRemoveTable: renderer.renderRemoveTable,
    };
    const e = controller(nft(), { renderer: counting, ...timing });
    await e.start(initial, nft());
    return e;
  };
  const ports = async (): Promise<number[]> => {
    const json = await nsRun(ns, ['nft', '-j', 'list', 'set', 'inet', TABLE, 'ports']);
    const set = (JSON.parse(json) as { nftables: { set?: { elem?: number[] } }[] }).nftables.find(
      (i) => i.set,
    );
    return [...(set?.set?.elem ?? [])].sort((a, b) => a - b);
  };
  const tableExists = async (): Promise<boolean> =>
    (await nsRun(ns, ['nft', 'list', 'tables'])).includes(`table inet ${TABLE}`);

  beforeAll(async () => {
    ns = await createNamespace('enf');
  });
  afterAll(async () => {
    await deleteNamespace(ns);
  });

  it('replaces an earlier table in one go, then applies a burst of changes as few transactions', async () => {
    await nsRun(ns, ['nft', '-f', '-'], renderer.renderFull({ ports: [9] }));
    const e = await start({ ports: [80] });
    expect(await ports()).toEqual([80]);
    transactions.length = 0;
    for (let i = 1; i <= 30; i++) e.update({ ports: [80, ...Array.from({ length: i }, (_, j) => 100 + j)] });
    await e.settled();
    expect(await ports()).toEqual([80, ...Array.from({ length: 30 }, (_, j) => 100 + j)]);
    expect(transactions.length).toBeLessThan(10);
    await e.close();
    // close() leaves the rules in force for the next run.
    expect(await ports()).toHaveLength(31);
  });

  it('applies a lone change after a quiet spell at once, without waiting out the coalescing window', async () => {
    // A clock moved by hand: the window is ten minutes, and ten minutes pass after the first apply.
    let clock = 0;
    const e = await start({ ports: [80] }, { coalesceMs: 600_000, now: () => clock });
    clock += 600_000;
    e.update({ ports: [80, 8080] });
    await e.settled();
    expect(await ports()).toEqual([80, 8080]);
    await e.close();
  });

  it('finds a flushed table or a deleted chain and replaces the table', async () => {
    const e = await start({ ports: [80, 443] });
    expect(await e.checkNow()).toBeNull();
    await nsRun(ns, ['nft', 'flush', 'table', 'inet', TABLE]);
    expect(await e.checkNow()).toMatch(/chain input has 0 rules/);
    expect(await ports()).toEqual([80, 443]);
    expect(await e.checkNow()).toBeNull();
    await nsRun(ns, ['nft', 'delete', 'table', 'inet', TABLE]);
    expect(await e.checkNow()).toBe('table missing');
    expect(await ports()).toEqual([80, 443]);
    await e.close();
  });

  it('finds a rule or an element swapped behind our back, but not its own changes, and replaces the table', async () => {
    const registry = new Registry();
    const e = await start({ ports: [80, 443] }, { registry });
    expect(await e.checkNow()).toBeNull(); // the first check learns the table as applied
    e.update({ ports: [80, 443, 8443] });
    await e.settled();
    e.update({ ports: [80, 8443], extraRules: 1 });
    await e.settled();
    expect(await e.checkNow()).toBeNull();

    // Same number of elements, one swapped.
    await nsRun(ns, [
      'nft',
      `delete element inet ${TABLE} ports { 8443 }; add element inet ${TABLE} ports { 22 }`,
    ]);
    expect(await e.checkNow()).toBe('set ports elements changed');
    expect(await ports()).toEqual([80, 8443]);
    expect(await e.checkNow()).toBeNull();

    // Same number of rules, one replaced by another.
    const listing = await nsRun(ns, ['nft', '-a', 'list', 'chain', 'inet', TABLE, 'input']);
    const handle = /tcp dport 1-1000 drop # handle (\d+)/.exec(listing)?.[1];
    expect(handle).toBeDefined();
    await nsRun(ns, ['nft', `replace rule inet ${TABLE} input handle ${handle} tcp dport 1-1000 accept`]);
    expect(await e.checkNow()).toBe('chain input edited');
    expect(await nsRun(ns, ['nft', 'list', 'chain', 'inet', TABLE, 'input'])).toMatch(
      /tcp dport 1-1000 drop/,
    );
    expect(await e.checkNow()).toBeNull();
    expect(await registry.metrics()).toContain('alp_dataplane_resyncs_total{reason="tampered"} 2');
    await e.close();
  });

  it('checks the table right after a full replace, so an edit made just after it is found', async () => {
    const lines: string[] = [];
    const log = pino({ level: 'debug' }, { write: (line: string) => void lines.push(line) });
    // No periodic check within the test: only the one a full replace asks for.
    const e = controller(nft(), { log, resyncIntervalMs: 3_600_000 });
    await e.start({ ports: [80] }, nft());
    await waitFor(
      'the check after the first transaction',
      () => lines.some((l) => l.includes('nftables table checked')),
      10_000,
    );
    await nsRun(ns, [
      'nft',
      `add element inet ${TABLE} ports { 22 }; delete element inet ${TABLE} ports { 80 }`,
    ]);
    expect(await e.checkNow()).toBe('set ports elements changed');
    expect(await ports()).toEqual([80]);
    await e.close();
  });

  it('follows a refused incremental transaction with a full replace, and counts both', async () => {
    const registry = new Registry();
    const e = await start({ ports: [80] }, { registry });
    e.update({ ports: [80, 81], poison: `delete chain inet ${TABLE} no-such-chain` });
    await e.settled();
    expect(await ports()).toEqual([80, 81]);
    const metrics = await registry.metrics();
    expect(metrics).toContain('alp_dataplane_programming_errors_total{kind="incremental"} 1');
    expect(metrics).toContain('alp_dataplane_resyncs_total{reason="error"} 1');
    await e.close();
  });

  it('no tamper alarm while a full replace is pending after a transaction nft applied but reported as failed', async () => {
    // nft wrapped so that, while `failing` exists, every `nft -f -` (the path of transactions
    // over 16 KiB) applies its input and then exits 1: the table holds the new state while the
    // controller has to assume nothing and retry a full replace, with back-off.
    const dir = makeTempDir('alp-enf');
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const failing = join(dir, 'failing');
    const script = `ip netns exec ${ns} nft "$@"; rc=$?; [ -e ${failing} ] && [ "$1" = "-f" ] && exit 1; exit $rc`;
    const wrapped = ['sh', '-c', script, 'nft'];
    const e = controller(wrapped);
    await e.start({ ports: [80] }, wrapped);
    writeFileSync(failing, '');
    const many = Array.from({ length: 4000 }, (_, i) => 20000 + i); // > 16 KiB of elements
    e.update({ ports: [80, ...many], extraRules: 3 });
    const inputRules = async (): Promise<number> =>
      (await nsRun(ns, ['nft', 'list', 'chain', 'inet', TABLE, 'input']))
        .split('\n')
        .filter((l) => /dport/.test(l)).length;
    await waitFor(
      'the failed transaction to reach the kernel',
      async () => (await inputRules()) === 5,
      30_000,
    );
    const started = Date.now();
    while (Date.now() - started < 1_500) {
      // An alarm would start a full replace and wait for it, which keeps failing meanwhile.
      const alarmed = new Promise((r) =>
        setTimeout(() => r('alarm: waiting on a full replace'), 10_000).unref(),
      );
      expect(await Promise.race([e.checkNow(), alarmed])).toBeNull();
      await new Promise((r) => setTimeout(r, 50));
    }
    rmSync(failing);
    await waitFor(
      'a full replace to succeed',
      async () => (await e.checkNow()) === null && e.appliedState?.extraRules === 3,
      60_000,
    );
    expect(await ports()).toHaveLength(4001);
    await e.close();
  });

  it('removes the table only when enforcement is switched off', async () => {
    const e = await start({ ports: [80] });
    await e.disable();
    expect(await tableExists()).toBe(false);
  });

  it('refuses to start without nft, programming nothing', async () => {
    const e = controller(['/nonexistent/nft']);
    await expect(e.start({ ports: [80] }, ['/nonexistent/nft'])).rejects.toThrow(EnforcementUnavailableError);
    await expect(e.start({ ports: [80] }, ['/nonexistent/nft'])).rejects.toThrow(/apt-get install nftables/);
    expect(await tableExists()).toBe(false);
  });
});
