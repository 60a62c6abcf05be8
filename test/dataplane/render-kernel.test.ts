// The renderer's text against the real kernel, inside network namespaces this test makes:
// the full ruleset of a rich state passes `nft -c`, and every incremental transaction, applied
// on top of the previous state's table, leaves exactly the table a full render of the new state
// builds (compared as `nft -j` JSON without handles and counters).
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  parseRuleCounters,
  renderChanges,
  renderFull,
  renderRemoveTable,
} from '../../dataplane/core/index.js';
import type { DataplaneState } from '../../dataplane/core/index.js';
import {
  ALLOW_ALL,
  endpoint,
  ipSet,
  knp,
  overviewState,
  policy,
  randomState,
  richState,
} from '../../dataplane/core/states.cases.js';
import { seededRandom } from '../../testing/seeded-random.js';
import { createNamespace, deleteNamespace, nsRun } from '../harness/netns.js';
import { describeWhen } from '../harness/prerequisite-gate.js';

function missing(): string | null {
  if (process.getuid?.() !== 0) return 'not running as root';
  for (const tool of ['nft', 'ip']) {
    try {
      execFileSync('which', [tool], { stdio: 'ignore' });
    } catch {
      return `missing ${tool}`;
    }
  }
  return null;
}

/** Our table as `nft -j` reports it, without handles or counter values, sets sorted. */
async function tableShape(ns: string): Promise<unknown> {
  const json = JSON.parse(await nsRun(ns, ['nft', '-j', 'list', 'table', 'inet', 'alp-mesh'])) as {
    nftables: Record<string, Record<string, unknown>>[];
  };
  const sets: Record<string, unknown> = {};
  const maps: Record<string, unknown> = {};
  const chains: Record<string, unknown[]> = {};
  for (const item of json.nftables) {
    if (item.set !== undefined) {
      const s = item.set;
      sets[String(s.name)] = { type: s.type, flags: s.flags, elem: sortedJson(s.elem) };
    } else if (item.map !== undefined) {
      maps[String(item.map.name)] = sortedJson(item.map.elem);
    } else if (item.chain !== undefined) {
      const c = item.chain;
      chains[String(c.name)] ??= [];
      chains[`${String(c.name)} hook`] = [c.hook ?? null, c.prio ?? null, c.policy ?? null];
    } else if (item.rule !== undefined) {
      const r = item.rule;
      const expr = JSON.stringify(r.expr).replace(/"counter":\{"packets":\d+,"bytes":\d+\}/g, '"counter":{}');
      (chains[String(r.chain)] ??= []).push(`${expr} ${String(r.comment ?? '')}`);
    }
  }
  return { sets, maps, chains };
}

function sortedJson(v: unknown): unknown {
  return Array.isArray(v) ? v.map((e) => JSON.stringify(e)).sort() : (v ?? []);
}

function withEndpoint(s: DataplaneState, ns: string, pod: string, iface: string, ip: string): DataplaneState {
  const endpoints = new Map(s.endpoints);
  const ep = endpoint(ns, pod, iface, ip, []);
  endpoints.set(ep.workloadId, ep);
  return { ...s, endpoints };
}

function steps(): [string, DataplaneState][] {
  const s0 = overviewState();
  const s1 = withEndpoint(s0, 'default', 'extra', 'cali7777777777e', '198.51.100.7');
  const ipSets1 = new Map(s1.ipSets);
  ipSets1.set(
    's:frontend',
    ipSet('NET', ['198.51.100.2/32', '10.66.0.0/16', '10.66.1.7/32', 'fd00:66::/64']),
  );
  const s2 = { ...s1, ipSets: ipSets1 };
  const ipSets2 = new Map(s2.ipSets);
  ipSets2.set('s:frontend', ipSet('NET', ['10.66.1.7/32', '10.66.2.0/24']));
  const s3 = { ...s2, ipSets: ipSets2 };
  const policies = new Map(s3.policies);
  const [key, entry] = policy(knp('default', 'knp.default.allow-frontend'), [
    {
      action: 'allow',
      protocol: { name: 'udp' },
      src_ip_set_ids: ['s:frontend'],
      dst_ports: [{ first: 53, last: 53 }],
    },
    { action: 'deny', src_net: ['10.0.0.0/8'] },
  ]);
  policies.set(key, entry);
  const s4 = { ...s3, policies };
  const endpoints = new Map(s4.endpoints);
  endpoints.delete('default/frontend');
  const s5 = { ...s4, endpoints };
  const policies6 = new Map(s5.policies);
  policies6.delete(key);
  const profiles = new Map(s5.profiles);
  profiles.set('kns.other', ALLOW_ALL);
  const s6 = { ...s5, policies: policies6, profiles };
  return [
    ['the overview', s0],
    ['a pod added', s1],
    ['set members added, some covered by others, an IPv6 one', s2],
    ['set members removed, covered ones exposed', s3],
    ['a policy edited', s4],
    ['a pod removed', s5],
    ['a policy deleted while still referenced (fail closed), a profile added', s6],
    ['WireGuard, tiers, named ports and everything else', richState()],
    ['back to the overview', s0],
  ];
}

describeWhen(
  'nftables renderer on the real kernel',
  {
    what: 'root and nft',
    missing: missing(),
    hint: 'run as root after: apt-get install -y nftables iproute2',
  },
  () => {
    let live = '';
    let fresh = '';
    beforeAll(async () => {
      live = await createNamespace('nftlive');
      fresh = await createNamespace('nftfresh');
    });
    afterAll(async () => {
      await deleteNamespace(live);
      await deleteNamespace(fresh);
    });

    it('the rich ruleset passes nft -c', async () => {
      await nsRun(fresh, ['nft', '-c', '-f', '-'], renderFull(richState()));
    });

    it('each incremental transaction leaves the table a full render builds', async () => {
      const list = steps();
      let prev = list[0]![1];
      await nsRun(live, ['nft', '-f', '-'], renderFull(prev));
      for (const [what, next] of list.slice(1)) {
        const change = renderChanges(prev, next);
        expect(change, what).not.toBe('');
        await nsRun(live, ['nft', '-f', '-'], change).catch((err: unknown) => {
          throw new Error(`${what}: ${String(err)}\n--- transaction ---\n${change}`);
        });
        await nsRun(fresh, ['nft', '-f', '-'], renderFull(next));
        const got = await tableShape(live);
        expect(JSON.stringify(got), what).toContain('"hook-forward hook":["forward"');
        expect(got, what).toEqual(await tableShape(fresh));
        prev = next;
      }
    });

    it('random sequences of states: each transaction leaves what a full render of the next builds', async () => {
      const r = seededRandom(2024);
      let prev = randomState(r);
      await nsRun(live, ['nft', '-f', '-'], renderFull(prev));
      for (let i = 0; i < 40; i++) {
        const next = randomState(r);
        const change = renderChanges(prev, next);
        if (change !== '') {
          await nsRun(live, ['nft', '-f', '-'], change).catch((err: unknown) => {
            throw new Error(`step ${i}: ${String(err)}\n--- transaction ---\n${change}`);
          });
        }
        await nsRun(fresh, ['nft', '-f', '-'], renderFull(next));
        expect(await tableShape(live), `step ${i}`).toEqual(await tableShape(fresh));
        prev = next;
      }
    });

    it("reads every counted policy rule from the kernel's own JSON", async () => {
      const s = overviewState();
      await nsRun(fresh, ['nft', '-f', '-'], renderFull(s));
      const json: unknown = JSON.parse(
        await nsRun(fresh, ['nft', '-j', 'list', 'table', 'inet', 'alp-mesh']),
      );
      const counters = parseRuleCounters(json, s);
      expect(counters).toContainEqual({
        kind: 'rule',
        tier: 'default',
        policy: 'knp/default/knp.default.allow-frontend',
        direction: 'ingress',
        ruleIndex: 0,
        action: 'allow',
        workloadId: '',
        packets: 0,
        bytes: 0,
      });
      expect(
        counters
          .filter((c) => c.kind === 'end-of-tier')
          .map((c) => c.workloadId)
          .sort(),
      ).toEqual(['default/backend', 'default/frontend']);
    });

    it('a full render replaces an existing table, and the table can be removed twice', async () => {
      await nsRun(live, ['nft', '-f', '-'], renderFull(richState()));
      await nsRun(live, ['nft', '-f', '-'], renderFull(overviewState()));
      await nsRun(fresh, ['nft', '-f', '-'], renderFull(overviewState()));
      expect(await tableShape(live)).toEqual(await tableShape(fresh));
      await nsRun(live, ['nft', '-f', '-'], renderRemoveTable('alp-mesh'));
      await nsRun(live, ['nft', '-f', '-'], renderRemoveTable('alp-mesh'));
      expect(await nsRun(live, ['nft', 'list', 'tables'])).not.toContain('alp-mesh');
    });
  },
);
