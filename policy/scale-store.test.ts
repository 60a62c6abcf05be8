// The production-scale store of spec §6 has the shape Calico's benchmark describes, is
// deterministic, and decides PERMISSION_DENIED at the tier's end. (Timing lives in the benchmark.)
import { describe, expect, it } from 'vitest';
import { PolicyStore } from './policy-store.js';
import { decide } from './decide.js';
import { flowFromCheckRequest } from './flow.js';
import { buildScaleBenchStore, buildScaleStore } from '../testing/scale-store.js';
import { decodeCheckRequest, decodeToDataplane } from '../testing/wire-round-trip.js';

describe('buildScaleStore', () => {
  const built = buildScaleStore();
  const sets = built.messages.filter((m) => m.ipset_update != null);
  const policies = built.messages.filter((m) => m.active_policy_update != null);
  const rules = policies.flatMap((m) => m.active_policy_update?.policy?.inbound_rules ?? []);

  it('has 3,708 NET sets from the histogram, members unique /32s in 10/8', () => {
    expect(sets).toHaveLength(3708);
    const sizes = sets.map((m) => m.ipset_update?.members?.length ?? -1);
    expect(sizes.filter((n) => n === 0)).toHaveLength(4);
    expect(sizes.filter((n) => n >= 1 && n <= 9)).toHaveLength(3035);
    expect(sizes.filter((n) => n >= 10 && n <= 99)).toHaveLength(446);
    expect(sizes.filter((n) => n >= 100 && n <= 999)).toHaveLength(64);
    expect(sizes.filter((n) => n >= 1000 && n <= 9999)).toHaveLength(158);
    expect(sizes.filter((n) => n === 54566)).toHaveLength(1);
    const members = sets.flatMap((m) => m.ipset_update?.members ?? []);
    expect(new Set(members).size).toBe(members.length);
    expect(members.every((m) => /^10\.\d+\.\d+\.\d+\/32$/.test(m))).toBe(true);
  });

  it('has 294 policies × 68 rules: 10 deny, 1 allow, the rest pass, ~24.2% on a set', () => {
    expect(policies).toHaveLength(294);
    expect(rules).toHaveLength(294 * 68);
    expect(rules.filter((r) => r.action === 'deny')).toHaveLength(10);
    expect(rules.filter((r) => r.action === 'allow')).toHaveLength(1);
    expect(rules.filter((r) => r.action === 'pass')).toHaveLength(294 * 68 - 11);
    const withSet = rules.filter(
      (r) => (r.src_ip_set_ids?.length ?? 0) + (r.dst_ip_set_ids?.length ?? 0) > 0,
    );
    expect(withSet.length / rules.length).toBeCloseTo(0.242, 1);
    for (const r of rules) {
      const guard = r.src_ip_set_ids !== undefined ? r.src_ports : r.dst_ports;
      expect(guard).toEqual([{ first: 65001, last: 65001 }]);
    }
  });

  it('is deterministic', () => {
    const again = buildScaleStore();
    const summary = (b: typeof built) => JSON.stringify(b.messages.slice(-300)) + b.messages.length;
    expect(summary(again)).toBe(summary(built));
  });

  it('ends in the perimeter tier default deny after walking every rule', () => {
    const store = new PolicyStore();
    for (const m of built.messages) expect(store.apply(decodeToDataplane(m)).ok).toBe(true);
    const v = decide(store, flowFromCheckRequest(decodeCheckRequest(built.request)));
    expect(v.code).toBe(built.expectedCode);
    expect(v.decidedBy).toEqual({
      kind: 'end-of-tier',
      tier: 'perimeter',
      policy: 'gnp/policy-000',
      ruleIndex: -1,
    });
  });
});

describe('buildScaleBenchStore', () => {
  const bench = buildScaleBenchStore();
  const store = new PolicyStore();
  for (const m of bench.messages) store.apply(decodeToDataplane(m));

  it('decides each benchmark request as named: the front tier allows, the full walks deny', () => {
    const verdicts = bench.requests.map((r) => {
      const v = decide(store, flowFromCheckRequest(decodeCheckRequest(r.request)));
      return [r.name, v.code, v.decidedBy?.tier, v.decidedBy?.kind];
    });
    expect(verdicts).toEqual([
      ['first policy allows', 0, 'front', 'policy-rule'],
      ['full walk, ports filter every rule', 7, 'perimeter', 'end-of-tier'],
      ['full walk with IP-set lookups', 7, 'perimeter', 'end-of-tier'],
    ]);
  });

  it('keeps the production store whole behind the front tier', () => {
    const policies = bench.messages.filter((m) => m.active_policy_update != null);
    expect(policies).toHaveLength(295);
    expect(bench.messages.filter((m) => m.ipset_update != null)).toHaveLength(3708);
  });
});
