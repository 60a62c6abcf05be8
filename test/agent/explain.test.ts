// `alp-node explain` logic against the demo's resource files: the file datastore, the agent's
// calculation and the sidecar's evaluator, end to end in one process.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, beforeAll } from 'vitest';
import { silentLogger } from '../../daemon/log.js';
import { FileDatastore } from '../../agent/datastore/file.js';
import type { ExplainRequest } from '../../agent/explain.js';
import {
  checkRequestFor,
  collectResources,
  describeVerdict,
  explainRequest,
  formatExplanation,
  sidecarQuestion,
} from '../../agent/explain.js';
import { runExplainCommand } from '../../agent/explain-command.js';
import type { ResourceEvent } from '../../agent/calc/cluster-model.js';
import { REPO_ROOT, runToEnd } from '../harness/process.js';

const RESOURCES = join(REPO_ROOT, 'examples', 'demo', 'resources');

let events: ResourceEvent[] = [];

beforeAll(async () => {
  const collected = await collectResources(new FileDatastore({ paths: [RESOURCES], log: silentLogger() }));
  expect(collected.refused).toEqual([]);
  events = collected.events;
});

function ask(partial: Partial<ExplainRequest> & Pick<ExplainRequest, 'from' | 'to'>) {
  const r = explainRequest(events, {
    port: 80,
    method: 'GET',
    path: '/',
    protocol: 'TCP',
    trustDomain: 'cluster.local',
    ...partial,
  });
  if (!r.ok) throw new Error(r.reason);
  return describeVerdict(r.value.verdict);
}

const pod = (p: string) => ({ kind: 'pod' as const, pod: p });

describe('explain (demo resources)', () => {
  it.each([
    [
      'the customer front end allows GET from the gateway',
      pod('istio-system/istio-ingressgateway'),
      'yaobank/customer',
      'GET',
      '/',
      'ALLOW',
      'policy gnp/customer, rule 0',
    ],
    [
      'the customer front end refuses POST (end of the default tier)',
      pod('istio-system/istio-ingressgateway'),
      'yaobank/customer',
      'POST',
      '/',
      'DENY',
      'tier default: no policy matched',
    ],
    [
      'summary answers the customer service account',
      pod('yaobank/customer'),
      'yaobank/summary',
      'GET',
      '/519940',
      'ALLOW',
      'policy gnp/summary, rule 0',
    ],
    [
      'the database refuses the customer',
      pod('yaobank/customer'),
      'yaobank/database',
      'GET',
      '/v2/keys',
      'DENY',
      'tier default',
    ],
    [
      'the database answers summary (SA label database=reader)',
      pod('yaobank/summary'),
      'yaobank/database',
      'GET',
      '/v2/keys',
      'ALLOW',
      'policy gnp/database, rule 0',
    ],
    [
      'a quarantined pod is refused in the platform tier',
      pod('sandbox/attacker'),
      'yaobank/customer',
      'GET',
      '/',
      'DENY',
      'tier platform, policy gnp/quarantine, rule 0',
    ],
    [
      'the trading app allows an exact path',
      pod('yaobank/customer'),
      'yaobank/tradingapp',
      'GET',
      '/projects/calico?x=1',
      'ALLOW',
      'np/yaobank/tradingapp',
    ],
    [
      'the trading app refuses a longer path than the exact one',
      pod('yaobank/customer'),
      'yaobank/tradingapp',
      'GET',
      '/projects/calico/extra',
      'DENY',
      'tier default',
    ],
    [
      'prefixes match whole segments only',
      pod('yaobank/customer'),
      'yaobank/tradingapp',
      'GET',
      '/usersX',
      'DENY',
      'tier default',
    ],
    [
      'dot segments are resolved before matching',
      pod('yaobank/customer'),
      'yaobank/tradingapp',
      'GET',
      '/users/../admin',
      'DENY',
      'tier default',
    ],
  ] as const)('%s', (_rule, from, to, method, path, verdict, reason) => {
    const v = ask({ from, to, method, path });
    expect(v.verdict).toBe(verdict);
    expect(v.reason).toContain(reason);
  });

  it('the second factor: a summary principal from the customer pod’s IP is refused', () => {
    const v = ask({
      from: { kind: 'identity', serviceAccount: 'yaobank/summary', ip: '192.0.2.10' },
      to: 'yaobank/database',
    });
    expect(v.verdict).toBe('DENY');
  });

  it('prints the verdict and what decided it', () => {
    const r = explainRequest(events, {
      from: pod('yaobank/customer'),
      to: 'yaobank/summary',
      port: 80,
      method: 'GET',
      path: '/',
      protocol: 'TCP',
      trustDomain: 'cluster.local',
    });
    expect(r.ok && formatExplanation(r.value)).toContain(
      'decided by: tier default, policy gnp/summary, rule 0',
    );
  });

  it('names an unknown destination', () => {
    const r = explainRequest(events, {
      from: pod('yaobank/customer'),
      to: 'yaobank/nope',
      port: 80,
      method: 'GET',
      path: '/',
      protocol: 'TCP',
      trustDomain: 'cluster.local',
    });
    expect(r).toEqual({ ok: false, reason: 'destination pod yaobank/nope not found' });
  });

  it('asks the sidecar about the pod behind an address, from the source port given', () => {
    const q = sidecarQuestion(events, {
      from: pod('yaobank/customer'),
      to: { kind: 'ip', ip: '192.0.2.12' },
      protocol: { kind: 'name', name: 'TCP' },
      port: 2379,
      fromPort: 40000,
      icmpType: null,
      icmpCode: null,
      method: null,
      path: '/',
      trustDomain: 'cluster.local',
    });
    if (q.kind !== 'request') throw new Error(q.reason);
    expect(q.request.to).toBe('yaobank/database');
    const r = explainRequest(events, q.request);
    if (!r.ok) throw new Error(r.reason);
    expect(checkRequestFor(r.value).attributes?.source?.address?.socket_address).toMatchObject({
      address: '192.0.2.10',
      port_value: 40000,
    });
  });
});

describe('alp-node explain (command)', () => {
  it('prints the verdict for a request read from files', async () => {
    const out: string[] = [];
    const code = await runExplainCommand(
      [
        '--from',
        'yaobank/customer',
        '--to',
        'yaobank/database',
        '--port',
        '2379',
        '--path',
        '/v2/keys',
        '--files',
        RESOURCES,
      ],
      {},
      { stdout: (t) => out.push(t), stderr: (t) => out.push(t) },
    );
    expect(code).toBe(0);
    expect(out.join('')).toContain('verdict:    DENY (PERMISSION_DENIED)');
  });

  it('explains a connection to an address: the pod behind it answers, or only the kernel does', async () => {
    const toPod = await runToEnd('alp-node', [
      ...['explain', '--from', 'yaobank/customer', '--to-ip', '192.0.2.12', '--port', '2379'],
      ...['--files', RESOURCES],
    ]);
    expect(toPod.code).toBe(0);
    expect(toPod.stdout).toContain('request:    GET / to yaobank/database port 2379');
    expect(toPod.stdout).toMatch(/kernel: +DROP at L3\/L4/);

    const leaving = await runToEnd('alp-node', [
      ...['explain', '--from', 'yaobank/customer', '--to-ip', '203.0.113.9', '--port', '443'],
      ...['--from-port', '40000', '--files', RESOURCES],
    ]);
    expect(leaving.code).toBe(0);
    expect(leaving.stdout).toContain('sidecar:    none sees this connection (no pod has 203.0.113.9)');
    expect(leaving.stdout).toMatch(
      /kernel: +ALLOW at L3\/L4 \(nftables, first packet of TCP 192\.0\.2\.10 port 40000 → 203\.0\.113\.9 port 443\)/,
    );
  });

  it('refuses a --files path that does not exist, naming it, with the usage exit code', async () => {
    const missing = join(REPO_ROOT, 'examples', 'demo', 'no-such-resources');
    const result = await runToEnd('alp-node', ['explain', '--to', 'yaobank/database', '--files', missing]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`no such file or directory: ${missing}`);
    expect(result.stderr).not.toContain('not found');
  });

  it('without --files and without any kubeconfig, says there is nothing to read and exits 2', async () => {
    const home = mkdtempSync(join(tmpdir(), 'alp-explain-home-'));
    try {
      const result = await runToEnd('alp-node', ['explain', '--to', 'yaobank/database'], {
        HOME: home,
        KUBECONFIG: '',
        KUBERNETES_SERVICE_HOST: '',
        DATASTORE_TYPE: '',
      });
      expect(result.code).toBe(2);
      expect(result.stderr).toContain('no resources to read: pass --files');
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  it('reports a cluster that cannot be read as an error, not as an empty answer', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'alp-explain-kc-'));
    try {
      // Port 1 on loopback: nothing listens there, so every list fails at once.
      const kubeconfig = join(dir, 'kubeconfig');
      writeFileSync(
        kubeconfig,
        [
          'apiVersion: v1',
          'kind: Config',
          'clusters: [{name: c, cluster: {server: "https://127.0.0.1:1", insecure-skip-tls-verify: true}}]',
          'users: [{name: u, user: {token: t}}]',
          'contexts: [{name: x, context: {cluster: c, user: u}}]',
          'current-context: x',
        ].join('\n'),
      );
      const result = await runToEnd('alp-node', ['explain', '--to', 'a/b', '--kubeconfig', kubeconfig]);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('Error: cannot read resources:');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('alp-node --version', () => {
  it('prints the package version', async () => {
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
    const result = await runToEnd('alp-node', ['--version'], { NODENAME: '' });
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toBe(`alp-node ${pkg.version}`);
  });
});
