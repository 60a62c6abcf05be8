// Every decision case of spec §7.1/§7.2 and every deliberate difference, black-box: the case's
// messages go over a real PolicySync stream to a real `bin/dikastes`, and the request is a real
// ext_authz Check over its Unix socket. The same cases run in-process in
// sidecar/checker/decide.cases.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DecideCase } from '../../testing/decide-cases/decide-case.js';
import { decideCases } from '../../testing/decide-cases/decide.cases.js';
import { startSidecarFixture, type SidecarFixture } from '../harness/sidecar-fixture.js';

const SHARDS = 4;
const shards: { fixture: SidecarFixture | null; swaps: number; queue: Promise<void> }[] = Array.from(
  { length: SHARDS },
  () => ({ fixture: null, swaps: 0, queue: Promise.resolve() }),
);

beforeAll(async () => {
  for (const shard of shards) {
    shard.fixture = await startSidecarFixture({ extraArgs: ['--log-level', 'info'] });
    shard.swaps = 1;
    await shard.fixture.waitForInSyncCount(1);
  }
});

afterAll(async () => {
  await Promise.all(shards.map((s) => s.fixture?.close()));
});

/** Replaces the sidecar's whole store with the case's messages: a new stream, then InSync. */
async function runCase(shardIndex: number, c: DecideCase): Promise<{ code?: number; message?: string }> {
  const shard = shards[shardIndex]!;
  const run = shard.queue.then(async () => {
    const f = shard.fixture!;
    f.felix.snapshot = c.messages;
    f.felix.endStreams();
    shard.swaps += 1;
    await f.waitForInSyncCount(shard.swaps);
    const res = await f.envoy.check(c.request);
    return { code: res.status?.code, message: res.status?.message };
  });
  shard.queue = run.then(
    () => undefined,
    () => undefined,
  );
  return run;
}

describe('decision cases through real PolicySync and Check', () => {
  it.concurrent.each(decideCases.map((c, i) => [c.name, c, i % SHARDS] as const))(
    '%s',
    async (_name, c, shard) => {
      const res = await runCase(shard, c);
      expect(res.code, res.message).toBe(c.expect.code);
      if (c.expect.message !== undefined) expect(res.message).toBe(c.expect.message);
    },
  );
});
