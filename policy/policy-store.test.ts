// PolicyStore.apply: every payload of spec §2.5, malformed ones included; apply never throws.
import { describe, expect, it } from 'vitest';
import type { ToDataplane, ToDataplane__Output } from '../proto/gen/felix/ToDataplane.js';
import { decide } from './decide.js';
import { flowFromCheckRequest } from './flow.js';
import {
  endpoint,
  gnp,
  gnpPolicy,
  ipSet,
  namespace,
  profile,
  request,
  serviceAccount,
  sgnp,
  policy,
  spiffe,
  tier,
  wrapAllow,
} from '../testing/wire-builders.js';
import { decodeCheckRequest, decodeToDataplane } from '../testing/wire-round-trip.js';
import { PolicyStore } from './policy-store.js';
import type { ApplyResult } from './policy-store.js';

function storeWith(...messages: ToDataplane[]): PolicyStore {
  const store = new PolicyStore();
  for (const m of messages) expect(store.apply(decodeToDataplane(m)).ok).toBe(true);
  return store;
}

const apply = (store: PolicyStore, m: ToDataplane): ApplyResult => store.apply(decodeToDataplane(m));
const check = (store: PolicyStore, req = request()) =>
  decide(store, flowFromCheckRequest(decodeCheckRequest(req))).code;

/** A store whose only policy allows sources in IP set `s:src`. */
const allowFromSet = (members: string[], type: 'IP' | 'NET' = 'IP') =>
  storeWith(ipSet('s:src', members, type), ...wrapAllow({ src_ip_set_ids: ['s:src'] }));

describe('IPSetUpdate', () => {
  it('stores a set whose members decide matches', () => {
    expect(check(allowFromSet(['10.0.0.1']))).toBe(0);
    expect(check(allowFromSet(['10.0.0.9']))).toBe(7);
  });

  it('replaces the whole set', () => {
    const store = allowFromSet(['10.0.0.1']);
    expect(apply(store, ipSet('s:src', ['10.0.0.9'])).ok).toBe(true);
    expect(check(store)).toBe(7);
    expect(store.stats()).toMatchObject({ ipSets: 1, ipSetMembers: 1 });
  });

  it('an unknown type is rejected and the old set is kept', () => {
    const store = allowFromSet(['10.0.0.1']);
    const result = store.apply({
      payload: 'ipset_update',
      ipset_update: { id: 's:src', members: [], type: 9 },
    } as unknown as ToDataplane__Output);
    expect(result).toEqual({ ok: false, reason: expect.stringContaining('"s:src"') });
    expect(check(store)).toBe(0);
  });

  it('skips a malformed member with a warning naming the set and applies the rest', () => {
    const store = new PolicyStore();
    const result = apply(
      store,
      ipSet('s:net', ['10.0.0.0/8', '10.0.0.1', 'nonsense/99', '192.0.2.0/24'], 'NET'),
    );
    expect(result.ok).toBe(true);
    if (result.ok) {
      expect(result.warnings).toHaveLength(2);
      expect(result.warnings[0]).toContain('"s:net"');
      expect(result.warnings[0]).toContain('"10.0.0.1"');
    }
    expect(store.stats().ipSetMembers).toBe(2);
  });

  it('caps member warnings and counts the rest', () => {
    const bad = Array.from({ length: 50 }, (_, i) => `bad-${i}`);
    const result = apply(new PolicyStore(), ipSet('s:x', bad));
    expect(result.ok && result.warnings).toHaveLength(11);
    expect(result.ok && result.warnings[10]).toContain('40 more');
  });

  it('an update without an id is rejected', () => {
    expect(apply(new PolicyStore(), ipSet('', ['10.0.0.1'])).ok).toBe(false);
  });

  it('takes a huge set (200,000 members) in one message', () => {
    const members = Array.from(
      { length: 200_000 },
      (_, i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}/32`,
    );
    const store = new PolicyStore();
    expect(apply(store, ipSet('s:huge', members, 'NET')).ok).toBe(true);
    expect(store.stats().ipSetMembers).toBe(200_000);
  });
});

describe('IPSetDeltaUpdate', () => {
  it('adds, then removes', () => {
    const store = allowFromSet(['10.0.0.5']);
    expect(
      apply(store, {
        ipset_delta_update: {
          id: 's:src',
          added_members: ['10.0.0.1', '10.0.0.7'],
          removed_members: ['10.0.0.7', '10.0.0.5'],
        },
      }).ok,
    ).toBe(true);
    expect(check(store)).toBe(0);
    expect(store.stats().ipSetMembers).toBe(1);
  });

  it('a member both added and removed ends up absent', () => {
    const store = allowFromSet(['10.0.0.5']);
    apply(store, {
      ipset_delta_update: { id: 's:src', added_members: ['10.0.0.1'], removed_members: ['10.0.0.1'] },
    });
    expect(check(store)).toBe(7);
  });

  it('removes exactly a NET prefix, not what it contains', () => {
    const store = allowFromSet(['10.0.0.0/8', '10.0.0.1/32'], 'NET');
    apply(store, { ipset_delta_update: { id: 's:src', removed_members: ['10.0.0.0/8'] } });
    expect(check(store)).toBe(0);
    apply(store, { ipset_delta_update: { id: 's:src', removed_members: ['10.0.0.1/32'] } });
    expect(check(store)).toBe(7);
  });

  it('a NET member added below or above every old member matches, and stops when removed', () => {
    // The request comes from 10.0.0.1: outside the set's addresses until the delta.
    const store = allowFromSet(['10.0.0.5/32', '10.0.1.0/24'], 'NET');
    expect(check(store)).toBe(7);
    apply(store, { ipset_delta_update: { id: 's:src', added_members: ['10.0.0.1/32'] } });
    expect(check(store)).toBe(0);
    apply(store, { ipset_delta_update: { id: 's:src', removed_members: ['10.0.0.1/32'] } });
    expect(check(store)).toBe(7);
    apply(store, { ipset_delta_update: { id: 's:src', added_members: ['0.0.0.0/0'] } });
    expect(check(store)).toBe(0);
  });

  it('a removed set that comes back with the address matches again', () => {
    const store = allowFromSet(['10.0.0.1/32'], 'NET');
    apply(store, { ipset_remove: { id: 's:src' } });
    expect(check(store)).toBe(13);
    apply(store, ipSet('s:src', ['10.0.0.9/32'], 'NET'));
    expect(check(store)).toBe(7);
    apply(store, ipSet('s:src', ['10.0.0.0/31'], 'NET'));
    expect(check(store)).toBe(0);
  });

  it('a delta for an unknown set is rejected and changes nothing', () => {
    const store = new PolicyStore();
    expect(apply(store, { ipset_delta_update: { id: 's:nope', added_members: ['10.0.0.1'] } })).toEqual({
      ok: false,
      reason: expect.stringContaining('"s:nope"'),
    });
    expect(store.stats().ipSets).toBe(0);
  });

  it('a malformed added member is skipped with a warning', () => {
    const store = allowFromSet(['10.0.0.5']);
    const result = apply(store, { ipset_delta_update: { id: 's:src', added_members: ['x.y', '10.0.0.1'] } });
    expect(result.ok && result.warnings).toHaveLength(1);
    expect(check(store)).toBe(0);
  });
});

describe('IPSetRemove', () => {
  it('deletes the set; a rule still referencing it then fails the Check', () => {
    const store = allowFromSet(['10.0.0.1']);
    expect(apply(store, { ipset_remove: { id: 's:src' } }).ok).toBe(true);
    expect(store.stats().ipSets).toBe(0);
    expect(check(store)).toBe(13);
  });

  it('an unknown id is a no-op', () => {
    expect(apply(new PolicyStore(), { ipset_remove: { id: 's:nope' } }).ok).toBe(true);
  });
});

describe('profiles', () => {
  const ep = endpoint([], ['p1']);
  it('an update stores and a remove deletes', () => {
    const store = storeWith(profile('p1', [{ action: 'allow' }]), ep);
    expect(check(store)).toBe(0);
    expect(apply(store, { active_profile_remove: { id: { name: 'p1' } } }).ok).toBe(true);
    expect(check(store)).toBe(7);
    expect(store.stats().profiles).toBe(0);
  });

  it('a null profile is stored and skipped when deciding', () => {
    const store = storeWith({ active_profile_update: { id: { name: 'p1' } } }, ep);
    expect(store.stats().profiles).toBe(1);
    expect(check(store)).toBe(7);
  });

  it('updates and removes without an id are rejected', () => {
    const store = new PolicyStore();
    expect(apply(store, { active_profile_update: { profile: {} } }).ok).toBe(false);
    expect(apply(store, { active_profile_remove: {} }).ok).toBe(false);
  });
});

describe('policies', () => {
  it('an update stores, staged kinds included, and a remove deletes', () => {
    const store = storeWith(
      gnpPolicy('a', [{ action: 'allow' }]),
      policy(sgnp('a'), [{ action: 'deny' }]),
      endpoint([tier('t', [gnp('a')])]),
    );
    expect(store.stats().policies).toBe(2);
    expect(check(store)).toBe(0);
    expect(apply(store, { active_policy_remove: { id: gnp('a') } }).ok).toBe(true);
    expect(check(store)).toBe(13);
  });

  it('a policy sent without a body counts as missing', () => {
    const store = storeWith({ active_policy_update: { id: gnp('a') } }, endpoint([tier('t', [gnp('a')])]));
    expect(check(store)).toBe(13);
  });

  it('updates and removes without an id are rejected', () => {
    const store = new PolicyStore();
    expect(apply(store, { active_policy_update: { policy: {} } }).ok).toBe(false);
    expect(apply(store, { active_policy_remove: {} }).ok).toBe(false);
    expect(store.stats().policies).toBe(0);
  });

  it('reports compile problems as warnings naming the policy and rule', () => {
    const result = apply(
      new PolicyStore(),
      gnpPolicy('a', [
        { action: 'allow' },
        { action: 'allow', src_net: ['bad'], src_service_account_match: { selector: '((' } },
      ]),
    );
    expect(result.ok).toBe(true);
    if (result.ok) {
      expect(result.warnings.length).toBe(2);
      for (const w of result.warnings) expect(w).toMatch(/^rule 1 of policy gnp\/a: /);
    }
  });

  it('one policy update recompiles only that policy', () => {
    const store = storeWith(gnpPolicy('a', [{ action: 'allow' }]), gnpPolicy('b', [{ action: 'deny' }]));
    const keyA = 'GlobalNetworkPolicy\u0000\u0000a';
    const keyB = 'GlobalNetworkPolicy\u0000\u0000b';
    const before = [store.policy(keyA), store.policy(keyB)];
    apply(store, gnpPolicy('b', [{ action: 'allow' }]));
    expect(store.policy(keyA)).toBe(before[0]);
    expect(store.policy(keyB)).not.toBe(before[1]);
  });

  it('an IP-set update recompiles no policy', () => {
    const store = allowFromSet(['10.0.0.9']);
    const key = 'GlobalNetworkPolicy\u0000\u0000policy1';
    const compiled = store.policy(key);
    apply(store, ipSet('s:src', ['10.0.0.1']));
    apply(store, { ipset_delta_update: { id: 's:src', added_members: ['10.0.0.2'] } });
    expect(store.policy(key)).toBe(compiled);
    expect(check(store)).toBe(0);
  });

  it('a set that arrives after the policy that references it is used', () => {
    const store = storeWith(...wrapAllow({ src_ip_set_ids: ['s:late'] }));
    expect(check(store)).toBe(13);
    apply(store, ipSet('s:late', ['10.0.0.1']));
    expect(check(store)).toBe(0);
  });
});

describe('workload endpoint', () => {
  it('an update sets the endpoint whatever its id, and a remove clears it whatever its id', () => {
    const store = new PolicyStore();
    expect(apply(store, { workload_endpoint_update: { endpoint: { profile_ids: [] } } }).ok).toBe(true);
    expect(store.hasEndpoint).toBe(true);
    expect(apply(store, { workload_endpoint_remove: { id: { workload_id: 'other/pod' } } }).ok).toBe(true);
    expect(store.hasEndpoint).toBe(false);
    expect(check(store)).toBe(13);
  });

  it('an update without an endpoint leaves none', () => {
    const store = storeWith(endpoint([]));
    apply(store, { workload_endpoint_update: { id: { workload_id: 'default/app' } } });
    expect(store.stats().hasEndpoint).toBe(false);
  });
});

describe('service accounts and namespaces', () => {
  const saRule = { src_service_account_match: { selector: "team == 'a'" } };
  const saReq = request({ src: { principal: spiffe('default', 'sam') } });
  it('service-account labels feed SA selectors, and a remove takes them away', () => {
    const store = storeWith(serviceAccount('default', 'sam', { team: 'a' }), ...wrapAllow(saRule));
    expect(check(store, saReq)).toBe(0);
    apply(store, { service_account_remove: { id: { namespace: 'default', name: 'sam' } } });
    expect(check(store, saReq)).toBe(7);
    expect(store.stats().serviceAccounts).toBe(0);
  });

  it('namespace labels feed namespace selectors, and a remove takes them away', () => {
    const store = storeWith(
      namespace('default', { env: 'prod' }),
      ...wrapAllow({ original_src_namespace_selector: "env == 'prod'" }),
    );
    expect(check(store, saReq)).toBe(0);
    apply(store, { namespace_remove: { id: { name: 'default' } } });
    expect(check(store, saReq)).toBe(7);
  });

  it('updates and removes without an id are rejected', () => {
    const store = new PolicyStore();
    for (const m of [
      { service_account_update: {} },
      { service_account_remove: {} },
      { namespace_update: {} },
      { namespace_remove: {} },
    ]) {
      expect(apply(store, m).ok).toBe(false);
    }
    expect(store.stats()).toMatchObject({ serviceAccounts: 0, namespaces: 0 });
  });
});

describe('other payloads', () => {
  it('InSync is not for the store', () => {
    expect(apply(new PolicyStore(), { in_sync: {} }).ok).toBe(false);
  });

  it('a message without a payload is rejected', () => {
    expect(apply(new PolicyStore(), {}).ok).toBe(false);
  });

  it('never throws on garbage shaped like a message', () => {
    const store = new PolicyStore();
    const garbage: unknown[] = [
      null,
      { payload: 'ipset_update', ipset_update: null },
      { payload: 'ipset_update', ipset_update: { id: 5, members: 'abc', type: 'NET' } },
      { payload: 'ipset_delta_update', ipset_delta_update: { id: 's', added_members: null } },
      {
        payload: 'active_policy_update',
        active_policy_update: { id: { name: 1 }, policy: { inbound_rules: [null, 5] } },
      },
      {
        payload: 'active_profile_update',
        active_profile_update: { id: {}, profile: { inbound_rules: 'x' } },
      },
      {
        payload: 'workload_endpoint_update',
        workload_endpoint_update: {
          endpoint: { tiers: [null, { ingress_policies: [null] }], profile_ids: [1] },
        },
      },
      { payload: 'service_account_update', service_account_update: { id: {}, labels: null } },
      { payload: 'bogus' },
    ];
    for (const g of garbage) expect(() => store.apply(g as ToDataplane__Output)).not.toThrow();
    expect(() => check(store)).not.toThrow();
  });
});
