import { describe, expect, it } from 'vitest';
import { parseRuleCounters } from './counters.js';
import { overviewState } from './states.cases.js';

// The shape `nft -j list table inet alp-mesh` prints (nftables 1.0), cut down to the rules.
function ruleJson(chain: string, comment: string | null, packets: number, bytes: number, table = 'alp-mesh') {
  const expr: unknown[] = [{ match: { op: '==', left: { meta: { key: 'l4proto' } }, right: 6 } }];
  expr.push({ counter: { packets, bytes } }, { return: null });
  return {
    rule: { family: 'inet', table, chain, handle: 7, ...(comment === null ? {} : { comment }), expr },
  };
}

const ALLOW = 'pi-knp/default/knp.default.allow-frontend';

describe('parseRuleCounters', () => {
  it('labels policy rules by tier, policy, direction, rule index and action, summing the nft rules of one Calico rule', () => {
    const json = {
      nftables: [
        { metainfo: { version: '1.0.6' } },
        ruleJson(ALLOW, '#0 allow', 3, 180),
        ruleJson(ALLOW, '#0 allow', 2, 160),
      ],
    };
    expect(parseRuleCounters(json, overviewState())).toEqual([
      {
        kind: 'rule',
        tier: 'default',
        policy: 'knp/default/knp.default.allow-frontend',
        direction: 'ingress',
        ruleIndex: 0,
        action: 'allow',
        workloadId: '',
        packets: 5,
        bytes: 340,
      },
    ]);
  });

  it('labels end-of-tier, no-profile and profile counters; ignores unknown chains, other tables and uncounted rules', () => {
    const json = {
      nftables: [
        ruleJson('tw-calib0b0b0b0b0b', 'end of tier default', 4, 240),
        ruleJson('fw-calib0b0b0b0b0b', 'no profile matched', 1, 60),
        ruleJson('pro-kns.default', '#0 allow', 9, 900),
        ruleJson('pi-gone', '#0 allow', 1, 1),
        ruleJson(ALLOW, '#0 allow', 1, 1, 'other-table'),
        ruleJson('tw-calib0b0b0b0b0b', null, 7, 7),
      ],
    };
    expect(
      parseRuleCounters(json, overviewState()).map((c) => [
        c.kind,
        c.tier,
        c.policy,
        c.direction,
        c.workloadId,
        c.packets,
      ]),
    ).toEqual([
      ['end-of-tier', 'default', '', 'ingress', 'default/backend', 4],
      ['no-profile-matched', '', '', 'egress', 'default/backend', 1],
      ['rule', '__PROFILE__', 'kns.default', 'egress', '', 9],
    ]);
  });

  it.each([
    null,
    42,
    'text',
    { nftables: 'x' },
    { nftables: [null, 1, { rule: null }, { rule: { expr: 'x' } }] },
  ])('malformed input %j gives no counters and does not throw', (json) => {
    expect(parseRuleCounters(json, overviewState())).toEqual([]);
  });
});
