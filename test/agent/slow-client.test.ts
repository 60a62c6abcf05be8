// Unlike Felix, a client that stops reading its PolicySync stream must not hold up anyone else:
// its updates are coalesced while it is stalled, and other pods' sidecars keep getting theirs.
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileDatastore } from '../../agent/datastore/file.js';
import { socketPath } from '../../agent/pod-sockets.js';
import { waitFor } from '../harness/process.js';
import { makeTempDir } from '../harness/temp-dirs.js';
import type { AgentUnderTest } from './agent-fixture.js';
import { Sidecar, StalledClient, startAgent, testLogger } from './agent-fixture.js';
import { gnpObject, namespaceObject, podObject, ResourceDir } from './file-resources.js';

const NODE = 'node-slow';
const slow = {
  name: 'slow',
  uid: '51000000-0000-4000-8000-000000000001',
  ip: '192.0.2.41',
  nodeName: NODE,
  labels: { app: 'slow' },
};
const fast = {
  name: 'fast',
  uid: '51000000-0000-4000-8000-000000000002',
  ip: '192.0.2.42',
  nodeName: NODE,
  labels: { app: 'fast' },
};
const NETS = 20_000;

/** A network set of NETS host routes; `round` shifts them so every edit changes every member. */
function bigSet(round: number): Record<string, unknown> {
  const nets = Array.from({ length: NETS }, (_, i) => `10.${round}.${i >> 8}.${i & 255}/32`);
  return {
    apiVersion: 'projectcalico.org/v3',
    kind: 'GlobalNetworkSet',
    metadata: { name: 'big', labels: { big: 'yes' } },
    spec: { nets },
  };
}

const fastPolicy = (role: string) =>
  gnpObject('fast', {
    selector: "app == 'fast'",
    ingress: [{ action: 'Allow', source: { nets: [role === 'open' ? '192.0.2.0/24' : '203.0.113.0/24'] } }],
  });

let dir: string;
let files: ResourceDir;
let agent: AgentUnderTest;
let sidecar: Sidecar;
let stalled: StalledClient;

beforeAll(async () => {
  dir = makeTempDir('alp-slow');
  files = new ResourceDir(dir);
  files.write('00-pods.yaml', [namespaceObject('demo'), podObject(slow), podObject(fast)]);
  files.write('10-slow-policy.yaml', [
    gnpObject('slow', {
      selector: "app == 'slow'",
      ingress: [{ action: 'Deny', source: { selector: "big == 'yes'" } }],
    }),
  ]);
  files.write('20-big.yaml', [bigSet(0)]);
  files.write('30-fast-policy.yaml', [fastPolicy('closed')]);
  agent = await startAgent({
    nodeName: NODE,
    datastore: new FileDatastore({ paths: [dir], log: testLogger(), pollIntervalMs: 100, debounceMs: 20 }),
    layout: 'driverless',
  });
  // Connects, then never reads.
  stalled = new StalledClient(socketPath(agent.prefix, slow.uid));
  sidecar = new Sidecar(agent.dir, 'fast', socketPath(agent.prefix, fast.uid));
  await sidecar.waitReady();
});

afterAll(async () => {
  stalled?.close();
  await sidecar?.stop();
  await agent?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('a slow PolicySync client', () => {
  let edits = 0;
  const inView = (round: number) =>
    [...(agent.agent.calculator.endpointView('demo/slow')?.ipSets.values() ?? [])].some((s) =>
      s.members.has(`10.${round}.0.0/32`),
    );

  it('stalls only its own stream', async () => {
    const stream = () => agent.agent.server?.streamFor('demo/slow');
    // One revision at a time, each taken in before the next, until the unread stream backs up.
    for (let round = 1; round < 40 && stream()?.isStalled !== true; round++) {
      files.write('20-big.yaml', [bigSet(round)]);
      edits = round;
      await waitFor(`revision ${round} in the slow pod's view`, () => inView(round));
    }
    expect(stream()?.isStalled).toBe(true);
  });

  it('meanwhile keeps computing its view without queueing messages', async () => {
    const backlog = agent.agent.server?.streamFor('demo/slow')?.backlog;
    for (let i = 0; i < 3; i++) {
      edits++;
      files.write('20-big.yaml', [bigSet(edits)]);
      await waitFor(`revision ${edits} in the slow pod's view`, () => inView(edits));
    }
    expect(agent.agent.server?.streamFor('demo/slow')?.backlog).toBe(backlog);
  });

  it('does not delay another pod’s sidecar', async () => {
    expect(await sidecar.check({ sourceIp: '192.0.2.50' })).toBe(7);
    files.write('30-fast-policy.yaml', [fastPolicy('open')]);
    await sidecar.waitForCode({ sourceIp: '192.0.2.50' }, 0, 'the fast sidecar to see its policy change');
    expect(agent.agent.server?.streamFor('demo/slow')?.isStalled).toBe(true);
  });

  it('catches up with the latest state, coalesced, once it reads again', async () => {
    stalled.resume();
    const latest = `10.${edits}.0.0/32`;
    const hasLatest = () =>
      stalled.messages.some(
        (m) =>
          m.ipset_update?.members.includes(latest) === true ||
          m.ipset_delta_update?.added_members.includes(latest) === true,
      );
    await waitFor('the latest network set', hasLatest);
    const fullSets = stalled.messages.filter((m) => m.payload === 'ipset_update').length;
    // Revisions made while it was stalled were skipped, not queued one by one.
    expect(fullSets).toBeLessThan(edits + 1);
    expect(agent.agent.server?.streamFor('demo/slow')?.isStalled).toBe(false);
  });
});
