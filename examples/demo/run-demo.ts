// The demo, end to end and without a cluster: alp-node's policy-sync agent on the file
// datastore (examples/demo/resources, copied to a scratch directory), one real `dikastes server`
// per pod that runs the sidecar, and a table of requests sent as real ext_authz Checks. Each
// verdict comes from the sidecar; the "decided by" column from `alp-node explain`'s evaluation.
// Then one policy file is edited and the changed verdict is shown.
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Registry } from 'prom-client';
import { FileDatastore } from '../../agent/datastore/file.js';
import type { ExplainRequest, Explanation } from '../../agent/explain.js';
import { checkRequestFor, collectResources, describeVerdict, explainRequest } from '../../agent/explain.js';
import { socketPath } from '../../agent/pod-sockets.js';
import { startPolicySyncAgent } from '../../agent/policy-sync-agent.js';
import { createLogger } from '../../daemon/log.js';
import type { DemoRequest } from './scenario.js';
import { EDIT, REQUESTS } from './scenario.js';
import { DemoSidecar } from './sidecars.js';

export const NODE_NAME = 'demo-node';

export interface DemoResult {
  readonly requests: number;
  readonly unexpected: number;
}

/** The repository root, whether we run from source or from dist/. */
export function findRepoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) || !existsSync(join(dir, 'examples', 'demo', 'resources'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the repository root (examples/demo/resources)');
    dir = up;
  }
  return dir;
}

export async function runDemo(print: (line: string) => void): Promise<DemoResult> {
  const repo = findRepoRoot();
  const scratch = mkdtempSync(join(tmpdir(), 'alp-demo-'));
  const resources = join(scratch, 'resources');
  cpSync(join(repo, 'examples', 'demo', 'resources'), resources, { recursive: true });
  const prefix = join(scratch, 'nodeagent');
  const log = createLogger({ name: 'alp-node', level: 'warn', format: 'text' });
  const sidecars = new Map<string, DemoSidecar>();
  const agent = await startPolicySyncAgent({
    nodeName: NODE_NAME,
    datastore: new FileDatastore({ paths: [resources], log, pollIntervalMs: 200 }),
    log,
    registry: new Registry(),
    policySyncPathPrefix: prefix,
    socketLayout: 'driverless',
  });
  try {
    print(`alp-node: file datastore ${resources}`);
    print(`alp-node: PolicySync sockets under ${prefix}/mount/<pod uid>/socket (driverless layout)`);
    for (const pod of agent.calculator.localSidecarPods()) {
      const id = `${pod.namespace}/${pod.name}`;
      const sidecar = new DemoSidecar(
        id,
        repo,
        join(scratch, `${pod.name}.dikastes.sock`),
        socketPath(prefix, pod.uid),
      );
      sidecars.set(id, sidecar);
    }
    await Promise.all([...sidecars.values()].map((s) => s.waitReady(20_000)));
    for (const s of sidecars.values())
      print(`dikastes: ${s.workload} ready (pid ${s.pid}, ext_authz on ${s.listen})`);
    print('');

    let unexpected = 0;
    const run = async (n: number, r: DemoRequest, expect: 'ALLOW' | 'DENY') => {
      const row = await sendRequest(resources, sidecars, r);
      if (row.verdict !== expect) unexpected++;
      const mark = row.verdict === expect ? '' : `   <-- expected ${expect}`;
      print(`${String(n).padStart(3)}  ${row.verdict.padEnd(5)}  ${r.title}${mark}`);
      print(`       ${r.method} ${r.path} from ${describeFrom(r)} to ${r.to}:${r.port}`);
      print(`       sidecar answered ${row.status}; alp-node explain: ${row.reason}`);
    };
    print('Requests sent as ext_authz Checks to each destination pod’s sidecar:');
    for (const [i, r] of REQUESTS.entries()) await run(i + 1, r, r.expect);

    print('');
    print(`Editing ${EDIT.file}: ${EDIT.description}`);
    const file = join(resources, EDIT.file);
    writeFileSync(file, readFileSync(file, 'utf8').replace(EDIT.find, EDIT.replace));
    const started = Date.now();
    const sidecar = sidecars.get(EDIT.request.to);
    while (Date.now() - started < 15_000) {
      const row = await sendRequest(resources, sidecars, EDIT.request);
      if (row.verdict === EDIT.expectAfter || sidecar === undefined) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    print(`The sidecar's verdict changed ${Date.now() - started} ms after the file was written:`);
    await run(REQUESTS.indexOf(EDIT.request) + 1, EDIT.request, EDIT.expectAfter);
    print('');
    const total = REQUESTS.length + 1;
    print(
      unexpected === 0
        ? `All ${total} verdicts as expected.`
        : `${unexpected} of ${total} verdicts were unexpected.`,
    );
    return { requests: total, unexpected };
  } finally {
    await Promise.all([...sidecars.values()].map((s) => s.stop()));
    await agent.close();
    rmSync(scratch, { recursive: true, force: true });
  }
}

interface Row {
  readonly verdict: 'ALLOW' | 'DENY';
  readonly status: string;
  readonly reason: string;
}

const STATUS_NAMES: Readonly<Record<number, string>> = {
  0: 'OK',
  3: 'INVALID_ARGUMENT',
  7: 'PERMISSION_DENIED',
  13: 'INTERNAL',
};

async function sendRequest(
  resources: string,
  sidecars: ReadonlyMap<string, DemoSidecar>,
  r: DemoRequest,
): Promise<Row> {
  const explained = await explain(resources, r);
  const sidecar = sidecars.get(r.to);
  if (sidecar === undefined) throw new Error(`no sidecar for ${r.to}`);
  const answer = await sidecar.check(checkRequestFor(explained));
  const { reason } = describeVerdict(explained.verdict);
  return {
    verdict: answer.code === 0 ? 'ALLOW' : 'DENY',
    status: STATUS_NAMES[answer.code] ?? String(answer.code),
    reason,
  };
}

async function explain(resources: string, r: DemoRequest): Promise<Explanation> {
  const { events } = await collectResources(
    new FileDatastore({
      paths: [resources],
      log: createLogger({ name: 'explain', level: 'error', format: 'text' }),
    }),
  );
  const req: ExplainRequest = {
    from:
      'pod' in r.from
        ? { kind: 'pod', pod: r.from.pod }
        : { kind: 'identity', serviceAccount: r.from.serviceAccount, ip: r.from.ip },
    to: r.to,
    port: r.port,
    method: r.method,
    path: r.path,
    protocol: 'TCP',
    trustDomain: 'cluster.local',
  };
  const result = explainRequest(events, req);
  if (!result.ok) throw new Error(result.reason);
  return result.value;
}

function describeFrom(r: DemoRequest): string {
  return 'pod' in r.from ? r.from.pod : `${r.from.serviceAccount} identity at ${r.from.ip}`;
}
