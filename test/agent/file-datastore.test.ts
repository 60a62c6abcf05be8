// The file datastore end to end: YAML files → alp-node's agent → a real Dikastes sidecar over its
// driverless PolicySync socket → verdicts of real ext_authz Checks, as the files change.
import { chmodSync, lstatSync, mkdirSync, readlinkSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileDatastore } from '../../agent/datastore/file.js';
import { mountDir, socketPath } from '../../agent/pod-sockets.js';
import { fileExists, waitFor } from '../harness/process.js';
import { makeTempDir } from '../harness/temp-dirs.js';
import type { AgentUnderTest } from './agent-fixture.js';
import { RawStream, Sidecar, startAgent, testLogger } from './agent-fixture.js';
import { gnpObject, namespaceObject, podObject, ResourceDir } from './file-resources.js';

const NODE = 'node-file';
const STALE_UID = 'f0000000-0000-4000-8000-0000000000ee';
const FOREIGN_UID = 'f0000000-0000-4000-8000-0000000000ff';
const web = {
  name: 'web',
  uid: 'f0000000-0000-4000-8000-000000000001',
  ip: '192.0.2.1',
  nodeName: NODE,
  labels: { app: 'web' },
};
const client = {
  name: 'client',
  uid: 'f0000000-0000-4000-8000-000000000002',
  ip: '192.0.2.2',
  nodeName: 'elsewhere',
  labels: { role: 'client' },
  sidecar: false,
};
const fromClient = { sourceIp: client.ip };
const fromStranger = { sourceIp: '192.0.2.3' };

const allowFrom = (role: string, extra: Record<string, unknown> = {}) =>
  gnpObject('web-ingress', {
    selector: "app == 'web'",
    ingress: [{ action: 'Allow', source: { selector: `role == '${role}'` }, ...extra }],
  });

let files: ResourceDir;
let agent: AgentUnderTest;
let sidecar: Sidecar;

async function refusedCount(): Promise<number> {
  const text = await agent.registry.getSingleMetricAsString('alp_node_refused_resources_total');
  return [...text.matchAll(/^alp_node_refused_resources_total\{[^}]*\} (\d+)/gm)].reduce(
    (n, m) => n + Number(m[1]),
    0,
  );
}

beforeAll(async () => {
  files = new ResourceDir(makeTempDir('alp-files'));
  files.write('00-cluster.yaml', [namespaceObject('demo'), podObject(web), podObject(client)]);
  files.write('10-policy.yaml', [allowFrom('client')]);
  agent = await startAgent({
    nodeName: NODE,
    datastore: new FileDatastore({
      paths: [files.path],
      log: testLogger(),
      pollIntervalMs: 100,
      debounceMs: 20,
    }),
    layout: 'driverless',
    prepare: (prefix) => {
      // Left by an earlier run: a socket directory of a pod that is gone, and one we did not make.
      mkdirSync(mountDir(prefix, STALE_UID), { recursive: true });
      writeFileSync(socketPath(prefix, STALE_UID), '');
      mkdirSync(mountDir(prefix, FOREIGN_UID), { recursive: true });
      writeFileSync(join(mountDir(prefix, FOREIGN_UID), 'notes.txt'), 'not ours');
    },
  });
  sidecar = new Sidecar(agent.dir, 'web', socketPath(agent.prefix, web.uid));
  await sidecar.waitReady();
});

afterAll(async () => {
  await sidecar?.stop();
  await agent?.close();
  if (files !== undefined) (await import('node:fs')).rmSync(files.path, { recursive: true, force: true });
});

describe('file datastore → agent → real sidecar', () => {
  it('the sidecar enforces the policy in the files', async () => {
    expect(await sidecar.check(fromClient)).toBe(0);
    expect(await sidecar.check(fromStranger)).toBe(7);
  });

  it('an edited file is reloaded and the verdict changes', async () => {
    files.write('10-policy.yaml', [allowFrom('admin')]);
    await sidecar.waitForCode(fromClient, 7, 'client refused after the edit');
  });

  it('an invalid edit is refused and the last valid revision stays in force', async () => {
    const before = await refusedCount();
    // Would allow everyone if it were applied: HTTP match with both exact and prefix.
    files.write('10-policy.yaml', [
      gnpObject('web-ingress', {
        selector: "app == 'web'",
        ingress: [{ action: 'Allow', http: { paths: [{ exact: '/a', prefix: '/b' }] } }],
      }),
    ]);
    await waitFor('the refusal', async () => (await refusedCount()) > before);
    expect(await sidecar.check(fromClient)).toBe(7);
    expect(await sidecar.check({ ...fromStranger, path: '/a' })).toBe(7);
  });

  it('a document that is not YAML is skipped and the rest of the file applies', async () => {
    files.writeText(
      '10-policy.yaml',
      `key: [unclosed\n---\n${(await import('yaml')).stringify(allowFrom('client'))}`,
    );
    await sidecar.waitForCode(fromClient, 0, 'client allowed by the valid document');
  });

  it('removing the policy file removes the policy (the namespace profile then allows)', async () => {
    files.remove('10-policy.yaml');
    await sidecar.waitForCode(fromStranger, 0, 'stranger allowed without any policy');
  });
});

describe('driverless socket layout', () => {
  const web2 = { ...web, name: 'web2', uid: 'f0000000-0000-4000-8000-000000000003', ip: '192.0.2.4' };

  it('a local pod with the sidecar gets <prefix>/mount/<uid>/socket: any user may connect, none replace it', async () => {
    files.write('20-web2.yaml', [podObject(web2)]);
    const path = socketPath(agent.prefix, web2.uid);
    await waitFor('the web2 socket', () => fileExists(path));
    // Unlike the CSI driver's 0777 directories: the pod mounts this one, so it must not write it.
    expect(lstatSync(mountDir(agent.prefix, web2.uid)).mode & 0o7777).toBe(0o755);
    expect(lstatSync(path).mode & 0o777).toBe(0o777);
  });

  it('a symbolic link planted at a socket path is refused, not followed: the file it names keeps its mode', async () => {
    const web4 = { ...web, name: 'web4', uid: 'f0000000-0000-4000-8000-000000000005', ip: '192.0.2.6' };
    const web5 = { ...web, name: 'web5', uid: 'f0000000-0000-4000-8000-000000000006', ip: '192.0.2.7' };
    // A pod could do this to a directory an earlier alp-node left writable by everyone.
    const hostFile = join(agent.dir, 'host-file');
    writeFileSync(hostFile, 'not for pods', { mode: 0o600 });
    mkdirSync(mountDir(agent.prefix, web4.uid), { mode: 0o777 });
    chmodSync(mountDir(agent.prefix, web4.uid), 0o777);
    symlinkSync(hostFile, socketPath(agent.prefix, web4.uid));

    files.write('22-web4.yaml', [podObject(web4)]);
    await waitFor(
      'the web4 directory to be taken back',
      () => (lstatSync(mountDir(agent.prefix, web4.uid)).mode & 0o7777) === 0o755,
    );
    // Reconciles run one at a time, so once web5 has its socket the attempt for web4 is over.
    files.write('23-web5.yaml', [podObject(web5)]);
    await waitFor('the web5 socket', () => fileExists(socketPath(agent.prefix, web5.uid)));

    expect(readlinkSync(socketPath(agent.prefix, web4.uid))).toBe(hostFile);
    expect(statSync(hostFile).mode & 0o777).toBe(0o600);
    expect(agent.agent.server?.socketPaths()).not.toContain(socketPath(agent.prefix, web4.uid));
    files.remove('22-web4.yaml');
    files.remove('23-web5.yaml');
  });

  it('at start-up, removes socket directories of pods that are gone, and nothing else', () => {
    expect(fileExists(mountDir(agent.prefix, STALE_UID))).toBe(false);
    expect(fileExists(join(mountDir(agent.prefix, FOREIGN_UID), 'notes.txt'))).toBe(true);
  });

  it('a local pod without the sidecar gets no socket', async () => {
    const plain = {
      ...web,
      name: 'plain',
      uid: 'f0000000-0000-4000-8000-000000000004',
      ip: '192.0.2.5',
      sidecar: false,
    };
    files.write('21-plain.yaml', [podObject(plain)]);
    await waitFor('the agent to see the pod', () => agent.agent.calculator.pod('demo/plain') !== null);
    expect(fileExists(mountDir(agent.prefix, plain.uid))).toBe(false);
  });

  it('deleting the pod sends WorkloadEndpointRemove, ends the stream and removes the socket', async () => {
    const stream = new RawStream(socketPath(agent.prefix, web2.uid));
    try {
      await waitFor('InSync on the raw stream', () => stream.kinds().includes('in_sync'));
      expect(stream.kinds()).toContain('workload_endpoint_update');
      files.remove('20-web2.yaml');
      await waitFor('the stream to end', () => stream.ended || stream.error !== null);
      expect(stream.kinds().at(-1)).toBe('workload_endpoint_remove');
      await waitFor('the socket directory to go', () => !fileExists(mountDir(agent.prefix, web2.uid)));
    } finally {
      stream.close();
    }
  });
});
