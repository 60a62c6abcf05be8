// bin/dikastes as a real process: PolicySync over a real Unix socket, Checks from a real gRPC
// client playing Envoy, the health and client sub-commands, shutdown paths.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../harness/free-port.js';
import { EnvoyStandIn, httpCheckRequest } from '../harness/ext-authz-client.js';
import {
  denyAdminSnapshot,
  endpoint,
  endpointRemove,
  gnpPolicy,
  policyRemove,
  profile,
} from '../harness/felix-messages.js';
import { fileExists, REPO_ROOT, runToEnd, waitFor } from '../harness/process.js';
import { startSidecarFixture, type SidecarFixture } from '../harness/sidecar-fixture.js';

const OK = 0;
const PERMISSION_DENIED = 7;
const INTERNAL = 13;

let fixture: SidecarFixture | null = null;
afterEach(async () => {
  await fixture?.close();
  fixture = null;
});

describe('dikastes server', () => {
  it('answers INTERNAL with a reason and a 403 until the first InSync, then decides', async () => {
    fixture = await startSidecarFixture({ snapshot: denyAdminSnapshot(), sendInSyncOnJoin: false });
    await fixture.felix.waitForConnections(1);
    const before = await fixture.envoy.check(httpCheckRequest({ path: '/' }));
    expect(before.status?.code).toBe(INTERNAL);
    expect(before.status?.message).toMatch(/InSync/);
    expect(before.denied_response?.status?.code).toBe('Forbidden');
    expect(before.denied_response?.headers[0]?.header?.value).toBe('error');

    fixture.felix.send({ in_sync: {} });
    await fixture.waitForInSyncCount(1);
    expect((await fixture.envoy.check(httpCheckRequest({ path: '/' }))).status?.code).toBe(OK);
    const denied = await fixture.envoy.check(httpCheckRequest({ path: '/admin/users' }));
    expect(denied.status?.code).toBe(PERMISSION_DENIED);
    expect(denied.denied_response?.headers[0]?.header?.value).toBe('denied');
    expect(denied.denied_response?.body).not.toMatch(/deny-admin/); // no policy internals by default
  });

  it('logs one decision line per denied Check, naming the deciding policy and rule', async () => {
    fixture = await startSidecarFixture({ snapshot: denyAdminSnapshot() });
    await fixture.waitForInSyncCount(1);
    await fixture.envoy.check(
      httpCheckRequest({
        sourcePrincipal: 'spiffe://cluster.local/ns/web/sa/frontend',
        path: '/admin?token=secret',
      }),
    );
    await waitFor('the decision log line', () =>
      fixture!.dikastes.logs().some((l) => l.msg === 'request denied'),
    );
    const line = fixture.dikastes.logs().find((l) => l.msg === 'request denied')!;
    expect(line).toMatchObject({
      code: PERMISSION_DENIED,
      source: { principal: 'spiffe://cluster.local/ns/web/sa/frontend', ip: '192.0.2.10', port: 45000 },
      destination: { ip: '198.51.100.20', port: 8080 },
      method: 'GET',
      path: '/admin',
      tier: 'default',
      policy: 'gnp/deny-admin',
      rule: 0,
    });
    expect(JSON.stringify(fixture.dikastes.logs())).not.toContain('token=secret');
  });

  it('puts the reason in the 403 body only with --deny-details', async () => {
    fixture = await startSidecarFixture({ extraArgs: ['--deny-details'], snapshot: denyAdminSnapshot() });
    await fixture.waitForInSyncCount(1);
    const denied = await fixture.envoy.check(httpCheckRequest({ path: '/admin' }));
    expect(denied.denied_response?.body).toMatch(/gnp\/deny-admin/);
  });

  it('is ready only when in sync with an endpoint, and not ready while Felix is away', async () => {
    fixture = await startSidecarFixture({ snapshot: [profile('kns.default', [{ action: 'allow' }])] });
    await fixture.waitForInSyncCount(1);
    expect(await fixture.envoy.ready()).toBe(false); // in sync, but no endpoint: Checks cannot be decided
    fixture.felix.send(...denyAdminSnapshot());
    await waitFor('readiness', () => fixture!.envoy.ready());
    await fixture.felix.stop();
    fixture.felix.snapshot = denyAdminSnapshot();
    await waitFor('readiness to drop', async () => !(await fixture!.envoy.ready()));
    // The last-known policy is still enforced while disconnected.
    expect((await fixture.envoy.check(httpCheckRequest({ path: '/admin' }))).status?.code).toBe(
      PERMISSION_DENIED,
    );
    await fixture.felix.start();
    await waitFor('readiness after Felix returns', () => fixture!.envoy.ready());
  });

  it('after a reconnect, objects deleted during the outage disappear at InSync, not before', async () => {
    fixture = await startSidecarFixture({ snapshot: denyAdminSnapshot() });
    await fixture.waitForInSyncCount(1);
    expect((await fixture.envoy.check(httpCheckRequest({ path: '/admin' }))).status?.code).toBe(
      PERMISSION_DENIED,
    );

    // Felix restarts; meanwhile the deny policy was deleted and the endpoint no longer lists it.
    await fixture.felix.stop();
    fixture.felix.sendInSyncOnJoin = false;
    fixture.felix.snapshot = [
      profile('kns.default', [{ action: 'allow' }]),
      {
        workload_endpoint_update: {
          id: { workload_id: 'default/app' },
          endpoint: { profile_ids: ['kns.default'] },
        },
      },
    ];
    const seen = fixture.felix.connections;
    await fixture.felix.start();
    await fixture.felix.waitForConnections(seen + 1);
    // Snapshot received but no InSync yet: the old policy is still enforced.
    expect((await fixture.envoy.check(httpCheckRequest({ path: '/admin' }))).status?.code).toBe(
      PERMISSION_DENIED,
    );
    fixture.felix.send({ in_sync: {} });
    await fixture.waitForInSyncCount(2);
    expect((await fixture.envoy.check(httpCheckRequest({ path: '/admin' }))).status?.code).toBe(OK);
  });

  it('applies updates after InSync live, and endpoint removal makes Checks fail closed', async () => {
    fixture = await startSidecarFixture({ snapshot: denyAdminSnapshot() });
    await fixture.waitForInSyncCount(1);
    fixture.felix.send(gnpPolicy('deny-admin', [{ action: 'deny', http_match: { methods: ['POST'] } }]));
    await waitFor(
      'the policy edit',
      async () => (await fixture!.envoy.check(httpCheckRequest({ path: '/admin' }))).status?.code === OK,
    );
    expect((await fixture.envoy.check(httpCheckRequest({ method: 'POST', path: '/' }))).status?.code).toBe(
      PERMISSION_DENIED,
    );
    fixture.felix.send(endpointRemove());
    await waitFor(
      'the endpoint removal',
      async () => (await fixture!.envoy.check(httpCheckRequest({}))).status?.code === INTERNAL,
    );
    // A removed policy referenced by a new endpoint is an INTERNAL error naming it (Calico's message).
    fixture.felix.send(policyRemove('deny-admin'), ...denyAdminSnapshot().slice(1));
    await waitFor('the missing-policy error', async () => {
      const res = await fixture!.envoy.check(httpCheckRequest({}));
      return res.status?.message === 'policy gnp/deny-admin of tier default is missing from the policy store';
    });
  });

  it('serves the same Check on TCP with --listen-tcp and Prometheus metrics with --metrics-addr', async () => {
    fixture = await startSidecarFixture({
      snapshot: denyAdminSnapshot(),
      extraArgs: ['--listen-tcp', '127.0.0.1:0', '--metrics-addr', '127.0.0.1:0'],
    });
    await fixture.waitForInSyncCount(1);
    const logged = (msg: string) => fixture!.dikastes.logs().find((l) => l.msg === msg);
    await waitFor('the metrics server', () => logged('serving metrics') !== undefined);
    const tcp = new EnvoyStandIn(`127.0.0.1:${String(logged('dikastes serving')!.tcpPort)}`, 'tcp');
    try {
      expect((await tcp.check(httpCheckRequest({ path: '/admin' }))).status?.code).toBe(PERMISSION_DENIED);
    } finally {
      tcp.close();
    }
    const metrics = await (
      await fetch(`http://127.0.0.1:${String(logged('serving metrics')!.port)}/metrics`)
    ).text();
    expect(metrics).toMatch(/^dikastes_checks_total\{result="denied"\} 1$/m);
    expect(metrics).toMatch(/^dikastes_policy_sync_in_sync 1$/m);
    expect(metrics).toMatch(/^dikastes_store_objects\{kind="policies"\} 1$/m);
  });

  it('stops on SIGTERM with Checks in flight: accepted ones are answered, the socket is removed, exit 0', async () => {
    fixture = await startSidecarFixture({ snapshot: denyAdminSnapshot() });
    await fixture.waitForInSyncCount(1);
    await fixture.envoy.check(httpCheckRequest({})); // connection established
    const inFlight = Array.from({ length: 200 }, (_, i) =>
      fixture!.envoy.check(httpCheckRequest({ path: `/p/${i}` })).then(
        (res): { code?: number; grpcError?: number } => ({ code: res.status?.code }),
        (err: { code?: number }): { code?: number; grpcError?: number } => ({ grpcError: err.code }),
      ),
    );
    await Promise.race(inFlight); // the server is answering the batch
    fixture.dikastes.signal('SIGTERM');
    const outcomes = await Promise.all(inFlight);
    // Calls the server had accepted complete with a verdict; calls it never accepted (refused by
    // the GOAWAY of a graceful stop) fail UNAVAILABLE, never CANCELLED or a half-written answer.
    expect(outcomes.filter((o) => o.code === OK).length).toBeGreaterThan(0);
    expect(outcomes.filter((o) => o.code !== OK).every((o) => o.grpcError === 14)).toBe(true);
    expect(await fixture.dikastes.exited).toBe(0);
    expect(fileExists(fixture.listen)).toBe(false);
  });

  it('stops on GET /terminate when DIKASTES_HTTP_BIND_PORT is set (on 127.0.0.1 unless told otherwise)', async () => {
    const port = await freePort();
    fixture = await startSidecarFixture({ env: { DIKASTES_HTTP_BIND_PORT: String(port) } });
    await waitFor('the terminate endpoint log line', () =>
      fixture!.dikastes.logs().some((l) => l.msg === 'serving /terminate'),
    );
    expect(fixture.dikastes.logs().find((l) => l.msg === 'serving /terminate')).toMatchObject({
      address: '127.0.0.1',
      port,
    });
    await waitFor(
      'the terminate endpoint',
      async () => (await fetch(`http://127.0.0.1:${port}/other`)).status === 404,
    );
    const res = await fetch(`http://127.0.0.1:${port}/terminate`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('terminating Dikastes\n');
    expect(await fixture.dikastes.exited).toBe(0);
    expect(fileExists(fixture.listen)).toBe(false);
  });

  it('refuses an invalid DIKASTES_HTTP_BIND_ADDR at start-up with exit 1', async () => {
    const run = await runToEnd('dikastes', ['server', '-l', '/tmp/alp-never.sock'], {
      DIKASTES_HTTP_BIND_PORT: '8080',
      DIKASTES_HTTP_BIND_ADDR: 'localhost',
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('invalid HTTP bind address \\"localhost\\"');
  });
});

describe('dikastes health and client sub-commands', () => {
  it('health readiness exits 3 until ready and 0 after; liveness 0; a dead socket 2; a bad word 1', async () => {
    fixture = await startSidecarFixture({ sendInSyncOnJoin: false });
    await fixture.felix.waitForConnections(1);
    const ready = () => runToEnd('dikastes', ['health', 'readiness', '--dial-path', fixture!.listen]);
    const notReady = await ready();
    expect(notReady.code).toBe(3);
    expect(notReady.stderr).toBe('healthz endpoint returned unhealthy');
    expect((await runToEnd('dikastes', ['health', 'liveness', '--dial-path', fixture.listen])).code).toBe(0);
    fixture.felix.send(...denyAdminSnapshot(), { in_sync: {} });
    await waitFor('readiness', async () => (await ready()).code === 0);

    const dead = await runToEnd('dikastes', [
      'health',
      'liveness',
      '--dial-path',
      `${fixture.dir}/none.sock`,
    ]);
    expect(dead.code).toBe(2);
    expect(dead.stderr).toMatch(/^Error getting healthz liveness: /);
    const bad = await runToEnd('dikastes', ['health', 'sideways']);
    expect(bad).toMatchObject({
      code: 1,
      stderr: 'Invalid check type "sideways", expected "liveness" or "readiness"',
    });
  });

  it('client prints the verdict and exits 0 allowed, 3 denied, 4 error; --json gives the clean CheckResponse', async () => {
    fixture = await startSidecarFixture({
      snapshot: [
        profile('kns.default', [{ action: 'allow', src_service_account_match: { names: ['frontend'] } }]),
        endpoint([], ['kns.default']),
      ],
      sendInSyncOnJoin: false,
    });
    await fixture.felix.waitForConnections(1);
    const client = (...args: string[]) =>
      runToEnd('dikastes', ['client', 'web', ...args, '-d', fixture!.listen]);

    const notYet = await client('frontend');
    expect(notYet.code).toBe(4);
    expect(notYet.stdout).toMatch(/^error \(INTERNAL\): dikastes has not received policy yet/);
    expect(notYet.stdout).toContain('\nHTTP 403 Forbidden\nx-alp-decision: error\n');

    fixture.felix.send({ in_sync: {} });
    await fixture.waitForInSyncCount(1);
    const allowed = await client('frontend', '--method', 'GET');
    expect(allowed).toMatchObject({ code: 0, stdout: 'allowed' });

    const denied = await client('intruder');
    expect(denied.code).toBe(3);
    expect(denied.stdout).toBe(
      'denied (PERMISSION_DENIED)\n\nHTTP 403 Forbidden\nx-alp-decision: denied\n\naccess denied by policy',
    );

    const json = await client('intruder', '--json');
    expect(json.code).toBe(3);
    expect(json.stdout).not.toContain('"type":"Buffer"');
    expect(JSON.parse(json.stdout)).toMatchObject({
      status: { code: PERMISSION_DENIED },
      denied_response: {
        status: { code: 'Forbidden' },
        headers: [{ header: { key: 'x-alp-decision', value: 'denied', raw_value: '' } }],
        body: 'access denied by policy\n',
      },
    });

    const unreachable = await runToEnd('dikastes', [
      'client',
      'web',
      'frontend',
      '-d',
      `${fixture.dir}/none.sock`,
    ]);
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toMatch(/^Error: check failed: /);
  });

  it('--version and -v print the package version, and --help mentions them', async () => {
    const { version } = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
      version: string;
    };
    for (const flag of ['--version', '-v']) {
      expect(await runToEnd('dikastes', [flag])).toMatchObject({
        code: 0,
        stdout: `dikastes version ${version}`,
      });
    }
    expect((await runToEnd('dikastes', ['--help'])).stdout).toContain('-v, --version');
  });

  it('names an unknown flag the way Calico (cobra) does, with balanced quotes', async () => {
    const run = await runToEnd('dikastes', ['server', '--bogus']);
    expect(run.stderr).toBe("Error: unknown flag: --bogus\nRun 'dikastes --help' for usage.");
  });

  it.each([
    [['server', '--bogus']],
    [['serve']],
    [['client', 'only-one']],
    [['health']],
    [['server', 'extra']],
    [['health', 'liveness', '--method', 'GET']],
  ])('rejects bad usage %j with a message and exit 2', async (args) => {
    const run = await runToEnd('dikastes', args);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^Error: .+\nRun 'dikastes --help' for usage\.$/);
  });
});
