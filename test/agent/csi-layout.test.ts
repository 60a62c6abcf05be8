// Calico's CSI-driver socket layout: the test plays the driver (as Felix's own FV tests do),
// writing <prefix>/creds/<uid>.json; alp-node serves <prefix>/mount/<uid>/socket, and the socket
// a stream arrives on decides which pod's policy it gets.
import { mkdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileDatastore } from '../../agent/datastore/file.js';
import { credsDir, socketPath } from '../../agent/pod-sockets.js';
import { fileExists, waitFor } from '../harness/process.js';
import { makeTempDir } from '../harness/temp-dirs.js';
import type { AgentUnderTest } from './agent-fixture.js';
import { Sidecar, startAgent, testLogger } from './agent-fixture.js';
import { gnpObject, namespaceObject, podObject, ResourceDir } from './file-resources.js';

const NODE = 'node-csi';
const podA = {
  name: 'a',
  uid: 'c5100000-0000-4000-8000-00000000000a',
  ip: '192.0.2.31',
  nodeName: NODE,
  labels: { app: 'a' },
  sidecar: false,
};
const podB = {
  name: 'b',
  uid: 'c5100000-0000-4000-8000-00000000000b',
  ip: '192.0.2.32',
  nodeName: NODE,
  labels: { app: 'b' },
  sidecar: false,
};
const client = { sourceIp: '192.0.2.33' };
/** Credentials with no pod behind them, published only to know when a scan has happened. */
const marker = { name: 'marker', uid: 'c5100000-0000-4000-8000-0000000000ff' };

let resources: string;
let agent: AgentUnderTest;
const sidecars: Sidecar[] = [];

/** What the CSI driver does on NodePublishVolume: write to a temp file, then rename. */
function publish(prefix: string, pod: { uid: string; name: string }): void {
  mkdirSync(credsDir(prefix), { recursive: true });
  const tmp = join(credsDir(prefix), `.${pod.uid}.tmp`);
  writeFileSync(
    tmp,
    JSON.stringify({ UID: pod.uid, Workload: pod.name, Namespace: 'demo', ServiceAccount: 'default' }),
    { mode: 0o644 },
  );
  renameSync(tmp, join(credsDir(prefix), `${pod.uid}.json`));
}

beforeAll(async () => {
  resources = makeTempDir('alp-csi-res');
  new ResourceDir(resources).write('all.yaml', [
    namespaceObject('demo'),
    podObject(podA),
    podObject(podB),
    gnpObject('a-open', { selector: "app == 'a'", ingress: [{ action: 'Allow' }] }),
    gnpObject('b-closed', { selector: "app == 'b'", ingress: [{ action: 'Deny' }] }),
  ]);
  agent = await startAgent({
    nodeName: NODE,
    datastore: new FileDatastore({ paths: [resources], log: testLogger() }),
    layout: 'csi',
  });
});

afterAll(async () => {
  await Promise.all(sidecars.map((s) => s.stop()));
  await agent?.close();
  rmSync(resources, { recursive: true, force: true });
});

describe('CSI socket layout', () => {
  it('serves a socket, open to every user, for each credentials file', async () => {
    publish(agent.prefix, podA);
    publish(agent.prefix, podB);
    await waitFor(
      'both sockets',
      () => fileExists(socketPath(agent.prefix, podA.uid)) && fileExists(socketPath(agent.prefix, podB.uid)),
    );
    expect(statSync(socketPath(agent.prefix, podA.uid)).mode & 0o777).toBe(0o777);
  });

  it('the socket a stream arrives on is its identity: each sidecar enforces its own pod’s policy', async () => {
    const a = new Sidecar(agent.dir, 'a', socketPath(agent.prefix, podA.uid));
    const b = new Sidecar(agent.dir, 'b', socketPath(agent.prefix, podB.uid));
    sidecars.push(a, b);
    await Promise.all([a.waitReady(), b.waitReady()]);
    expect(await a.check(client)).toBe(0);
    expect(await b.check(client)).toBe(7);
  });

  it('ignores a malformed credentials file', async () => {
    writeFileSync(join(credsDir(agent.prefix), 'zzz.json'), '{"UID": "../../etc"}');
    // A good file written after it: once its socket is served, a scan has read the malformed one.
    publish(agent.prefix, marker);
    await waitFor('the marker pod’s socket', () => fileExists(socketPath(agent.prefix, marker.uid)));
    expect(agent.agent.server?.socketPaths().sort()).toEqual(
      [podA, podB, marker].map((p) => socketPath(agent.prefix, p.uid)).sort(),
    );
    rmSync(join(credsDir(agent.prefix), `${marker.uid}.json`));
    await waitFor(
      'the marker pod’s socket to close',
      () => !fileExists(socketPath(agent.prefix, marker.uid)),
    );
  });

  it('closes the socket when the credentials file goes (NodeUnpublishVolume)', async () => {
    rmSync(join(credsDir(agent.prefix), `${podB.uid}.json`));
    await waitFor('the b socket to close', () => !fileExists(socketPath(agent.prefix, podB.uid)));
    expect(fileExists(socketPath(agent.prefix, podA.uid))).toBe(true);
    expect(await sidecars[0]?.check(client)).toBe(0);
  });
});
