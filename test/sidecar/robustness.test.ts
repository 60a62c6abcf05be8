// Bad input from either side never crashes the sidecar: malformed PolicySync payloads are logged
// and skipped, odd Check requests get answers, and decisions fail closed.
import * as grpc from '@grpc/grpc-js';
import { rmSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { loadFelix } from '../../proto/load.js';
import { httpCheckRequest } from '../harness/ext-authz-client.js';
import { endpoint, gnp, gnpPolicy, ipSet, profile, tier } from '../harness/felix-messages.js';
import { waitFor } from '../harness/process.js';
import { startSidecarFixture, type SidecarFixture } from '../harness/sidecar-fixture.js';

let fixture: SidecarFixture | null = null;
afterEach(async () => {
  await fixture?.close();
  fixture = null;
});

const allowAll = [profile('kns.default', [{ action: 'allow' }])];

function warnings(f: SidecarFixture): Record<string, unknown>[] {
  return f.dikastes.logs().filter((l) => l.level === 40);
}

describe('malformed PolicySync payloads', () => {
  it('skips bad IP-set members and messages without ids, keeps the rest, and logs each', async () => {
    fixture = await startSidecarFixture({
      snapshot: [
        ipSet('nets', ['10.0.0.1', '192.0.2.0/24', '300.1.1.1/8', 'not-a-cidr'], 'NET'),
        { active_policy_update: { policy: { inbound_rules: [{ action: 'allow' }] } } }, // no id
        { active_profile_update: { profile: { inbound_rules: [{ action: 'allow' }] } } }, // no id
        { service_account_update: { labels: { a: 'b' } } }, // no id
        gnpPolicy('from-nets', [{ action: 'allow', src_ip_set_ids: ['nets'] }]),
        ...allowAll.map(() => profile('kns.default', [])),
        endpoint([tier('default', [gnp('from-nets')])], ['kns.default']),
      ],
    });
    await fixture.waitForInSyncCount(1);
    expect((await fixture.envoy.check(httpCheckRequest({ sourceIp: '192.0.2.77' }))).status?.code).toBe(0);
    expect((await fixture.envoy.check(httpCheckRequest({ sourceIp: '10.0.0.1' }))).status?.code).toBe(7);
    await waitFor('warnings for each bad input', () => warnings(fixture!).length >= 6);
    const text = JSON.stringify(warnings(fixture));
    expect(text).toContain('not-a-cidr');
    expect(text).toContain('nets');
  });

  it('gives INVALID_ARGUMENT for an unknown action on a matching rule, without crashing', async () => {
    fixture = await startSidecarFixture({
      snapshot: [
        gnpPolicy('odd', [{ action: 'explode', http_match: { methods: ['DELETE'] } }, { action: 'allow' }]),
        endpoint([tier('default', [gnp('odd')])], []),
      ],
    });
    await fixture.waitForInSyncCount(1);
    const bad = await fixture.envoy.check(httpCheckRequest({ method: 'DELETE' }));
    expect(bad.status).toMatchObject({ code: 3, message: 'got bad action' });
    expect((await fixture.envoy.check(httpCheckRequest({ method: 'GET' }))).status?.code).toBe(0);
  });

  it('accepts a PolicySync message far above gRPC’s 4 MiB default (a 1.2M-member IP set, ~19 MiB)', async () => {
    const members = Array.from(
      { length: 1_200_000 },
      (_, i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}/32`,
    );
    fixture = await startSidecarFixture({
      snapshot: [
        ipSet('big', members, 'NET'),
        gnpPolicy('from-big', [{ action: 'allow', src_ip_set_ids: ['big'] }]),
        endpoint([tier('default', [gnp('from-big')])], []),
      ],
    });
    await fixture.waitForInSyncCount(1);
    expect((await fixture.envoy.check(httpCheckRequest({ sourceIp: '10.18.79.100' }))).status?.code).toBe(0);
    expect((await fixture.envoy.check(httpCheckRequest({ sourceIp: '10.200.0.1' }))).status?.code).toBe(7);
  });

  it('survives a stream of undecodable bytes: logs, reconnects, and keeps serving', async () => {
    fixture = await startSidecarFixture({ startFelix: false });
    const garbage = new grpc.Server();
    const service = loadFelix().felix.PolicySync.service;
    garbage.addService(
      {
        ...service,
        Sync: { ...service.Sync, responseSerialize: () => Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff]) },
      },
      {
        Sync: (call: grpc.ServerWritableStream<unknown, unknown>) => call.write({}),
        Report: () => undefined,
      },
    );
    await new Promise<void>((resolve, reject) =>
      garbage.bindAsync(`unix:${fixture!.felix.socketPath}`, grpc.ServerCredentials.createInsecure(), (e) =>
        e ? reject(e) : resolve(),
      ),
    );
    await waitFor('a logged stream failure', () =>
      fixture!.dikastes.logs().some((l) => l.msg === 'policy sync stream failed'),
    );
    garbage.forceShutdown();
    rmSync(fixture.felix.socketPath, { force: true });
    expect((await fixture.envoy.check(httpCheckRequest({}))).status?.code).toBe(13);
    fixture.felix.snapshot = [...allowAll, endpoint([], ['kns.default'])];
    await fixture.felix.start();
    await fixture.waitForInSyncCount(1);
    expect((await fixture.envoy.check(httpCheckRequest({}))).status?.code).toBe(0);
  });
});

describe('odd Check requests', () => {
  it.each([
    ['an empty CheckRequest', {}],
    ['attributes without peers or request', { attributes: {} }],
    [
      'a pipe address instead of a socket address',
      { attributes: { source: { address: { pipe: { path: '/x' } } } } },
    ],
    [
      'an unparsable IP address',
      { attributes: { source: { address: { socket_address: { address: '10.0.0.256' } } } } },
    ],
    ['a huge path', httpCheckRequest({ path: '/' + 'a/'.repeat(200_000) })],
  ])('answers %s with a status (allow-all profile → OK)', async (_name, request) => {
    fixture ??= await startSidecarFixture({ snapshot: [...allowAll, endpoint([], ['kns.default'])] });
    await fixture.waitForInSyncCount(1);
    expect((await fixture.envoy.check(request)).status?.code).toBe(0);
  });

  it.each([
    ['spiffe://malformed'],
    ['http://example.com/ns/a/sa/b'],
    ['spiffe://cluster.local/ns//sa/x'],
    ['spiffe://cluster.local/ns/a/sa/b/extra'],
    ['\u0000\u00ff garbage'],
  ])(
    'denies a garbage source principal %j (unlike Calico, which ignores it) and logs why',
    async (principal) => {
      fixture ??= await startSidecarFixture({ snapshot: [...allowAll, endpoint([], ['kns.default'])] });
      await fixture.waitForInSyncCount(1);
      const res = await fixture.envoy.check(httpCheckRequest({ sourcePrincipal: principal }));
      expect(res.status?.code).toBe(7);
      await waitFor('the decision log', () =>
        fixture!.dikastes
          .logs()
          .some((l) => l.msg === 'request denied' && JSON.stringify(l).includes('principal')),
      );
    },
  );
});
