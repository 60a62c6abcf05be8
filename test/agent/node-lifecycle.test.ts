// bin/alp-node starting, failing and stopping as a real process. In a network namespace of its
// own, so "no process left behind" is checked exactly: after alp-node exits, nothing of it may
// remain in the namespace (its WireGuard manager starts `ip monitor` at once, and wireguard-go
// once the mesh is configured). The API server is a stand-in that accepts connections and never
// answers, or the envtest API server where WireGuard must really come up.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeWithApiServer } from '../harness/envtest/api-server-gate.js';
import { waitFor as waitForValue } from '../harness/kube.js';
import {
  createNamespace,
  deleteNamespace,
  describeAsRoot,
  run,
  spawnInNamespace,
  type NsProcess,
} from '../harness/netns.js';
import { REPO_ROOT, runToEnd, waitFor } from '../harness/process.js';
import { Mesh } from '../wireguard/mesh-fixture.js';
import { namespaceObject, podObject, ResourceDir } from './file-resources.js';

const API_PORT = 6443;

/** Listens on 127.0.0.1:<port>, accepts every connection, never sends a byte. */
const SILENT_API_SERVER = `
const net = require('node:net');
const held = [];
net.createServer((c) => { held.push(c); c.on('error', () => {}); console.log('connection'); })
  .listen(Number(process.argv[1]), '127.0.0.1', () => console.log('listening'));
`;

/** Command names (comm) of the processes inside `ns`. */
async function processesIn(ns: string): Promise<Map<number, string>> {
  const pids = (await run(['ip', 'netns', 'pids', ns])).split('\n').filter((p) => /^\d+$/.test(p));
  const out = new Map<number, string>();
  for (const pid of pids) {
    try {
      out.set(Number(pid), readFileSync(`/proc/${pid}/comm`, 'utf8').trim());
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

describe('alp-node start-up checks', () => {
  it('says the policySyncPathPrefix directory is missing, not "permission denied", and exits 1', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'alp-life-'));
    try {
      const resources = new ResourceDir(dir);
      resources.write('all.yaml', [
        namespaceObject('demo'),
        podObject({
          name: 'a',
          uid: 'a1000000-0000-4000-8000-00000000000a',
          ip: '192.0.2.5',
          nodeName: 'n1',
        }),
      ]);
      const prefix = join(dir, 'nodeagent');
      const result = await runToEnd('alp-node', ['--node-name', 'n1', '--log-format', 'text'], {
        DATASTORE_TYPE: 'file',
        ALP_DATASTORE_PATH: join(dir, 'all.yaml'),
        FELIX_POLICYSYNCPATHPREFIX: prefix,
        ALP_POLICY_SYNC_LAYOUT: 'csi',
      });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`policySyncPathPrefix ${prefix}: the directory is missing`);
      expect(result.stderr.toLowerCase()).not.toContain('permission denied');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describeAsRoot('alp-node start-up and shutdown (network namespace)', () => {
  let ns: string;
  let dir: string;
  let apiServer: NsProcess;
  let kubeconfig: string;

  beforeAll(async () => {
    ns = await createNamespace('life');
    dir = mkdtempSync(join(tmpdir(), 'alp-life-'));
    apiServer = spawnInNamespace(ns, [process.execPath, '-e', SILENT_API_SERVER, String(API_PORT)]);
    await waitFor('the silent API server', () => apiServer.lines.includes('listening'));
    kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(
      kubeconfig,
      [
        'apiVersion: v1',
        'kind: Config',
        `clusters: [{name: c, cluster: {server: "https://127.0.0.1:${API_PORT}", insecure-skip-tls-verify: true}}]`,
        'users: [{name: u, user: {token: t}}]',
        'contexts: [{name: x, context: {cluster: c, user: u}}]',
        'current-context: x',
      ].join('\n'),
    );
  });

  afterAll(async () => {
    if (ns !== undefined) await deleteNamespace(ns);
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  const startNode = (env: Record<string, string> = {}): NsProcess =>
    spawnInNamespace(
      ns,
      [
        process.execPath,
        join(REPO_ROOT, 'bin', 'alp-node'),
        '--node-name',
        'n1',
        '--kubeconfig',
        kubeconfig,
        '--state-dir',
        join(dir, 'state'),
        '--wg-socket-dir',
        join(dir, 'wg'),
        '--log-level',
        'debug',
      ],
      // Enforcement off by the environment: with a PolicySync prefix from the environment too, no
      // FelixConfiguration needs reading, so start-up gets as far as the agent.
      {
        KUBECONFIG: '',
        NODENAME: '',
        FELIX_POLICYSYNCPATHPREFIX: '',
        FELIX_NFTABLESMODE: 'Disabled',
        ...env,
      },
    );

  /** Everything in the namespace but the stand-in API server. */
  const leftovers = async (): Promise<string[]> =>
    [...(await processesIn(ns))]
      .filter(([pid]) => pid !== apiServer.child.pid)
      .map(([pid, comm]) => `${pid} ${comm}`);

  it('SIGTERM while start-up waits on an API server that never answers: exits 0, leaving nothing behind', async () => {
    const connectionsBefore = apiServer.lines.filter((l) => l === 'connection').length;
    const node = startNode();
    try {
      await waitFor(
        'alp-node to be waiting on the API server',
        () => apiServer.lines.filter((l) => l === 'connection').length > connectionsBefore,
        20_000,
      );
      // stop() sends SIGTERM and only SIGKILLs (exit code null) after the grace period.
      expect(await node.stop(5_000), node.lines.slice(-20).join('\n')).toBe(0);
      expect(node.lines.some((l) => l.includes('shutting down'))).toBe(true);
      expect(await leftovers()).toEqual([]);
    } finally {
      await node.stop(1_000);
    }
  });

  it('a start-up failure after WireGuard started: exits 1 with the reason, leaving nothing behind', async () => {
    const prefix = join(dir, 'no-such-dir');
    const node = startNode({ FELIX_POLICYSYNCPATHPREFIX: prefix });
    try {
      const code = await node.exited;
      const log = node.lines.join('\n');
      expect(log).toContain('WireGuard key ready');
      expect(log).toContain('ip -o monitor link'); // the child that used to be orphaned
      expect(code, log).toBe(1);
      expect(log).toContain(`policySyncPathPrefix ${prefix}: the directory is missing`);
      expect(await leftovers()).toEqual([]);
    } finally {
      await node.stop(1_000);
    }
  });
});

describeAsRoot('alp-node stops its wireguard-go (network namespace)', () => {
  describeWithApiServer('against the API server', (api) => {
    let mesh: Mesh;

    beforeAll(async () => {
      mesh = new Mesh(api.kubeConfig(), api.kubeconfigPath, Number(new URL(api.server).port));
      await mesh.build(1, () => ['--wireguard-device', 'userspace']);
    });

    afterAll(async () => {
      await mesh?.destroy();
    });

    it('on SIGTERM: exits 0, and no wireguard-go or ip monitor outlives it', async () => {
      const node = mesh.startAgent(1);
      const ns = mesh.node(1).net.ns;
      const ours = async () =>
        [...(await processesIn(ns)).values()].filter((comm) => comm === 'wireguard-go' || comm === 'ip');
      await waitForValue(
        'wireguard-go to run',
        async () => ((await ours()).includes('wireguard-go') ? true : undefined),
        { timeoutMs: 30_000, intervalMs: 100 },
      );
      expect(await node.stop(10_000), mesh.logTail(1)).toBe(0);
      expect(await ours()).toEqual([]);
    });
  });
});
