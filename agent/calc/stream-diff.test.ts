import { describe, expect, it } from 'vitest';
import type { ClusterView, EndpointView, IpSetContent } from './endpoint-view.js';
import { diffStream, ipSetMessages, NOTHING_SENT } from './stream-diff.js';
import { MAX_MEMBERS_PER_MESSAGE, payloadKind } from './to-dataplane.js';

const set = (members: string[]): IpSetContent => ({ type: 'NET', members: new Set(members) });

describe('ipSetMessages', () => {
  it.each([
    ['a new set goes out in full', undefined, set(['a/32']), ['ipset_update']],
    ['an unchanged set (same object) sends nothing', null, null, []],
    [
      'a small change goes out as a delta',
      set(['a/32', 'b/32', 'c/32']),
      set(['a/32', 'b/32', 'd/32']),
      ['ipset_delta_update'],
    ],
    [
      'a change larger than the set is resent in full (resync)',
      set(['a/32', 'b/32']),
      set(['c/32']),
      ['ipset_update'],
    ],
  ] as const)('%s', (_rule, prev, next, kinds) => {
    const same = set(['x/32']);
    const msgs =
      prev === null ? ipSetMessages('s:1', same, same) : ipSetMessages('s:1', prev, next as IpSetContent);
    expect(msgs.map(payloadKind)).toEqual(kinds);
  });

  it('splits a set larger than one message into an update and added-member deltas (Felix’s 82,200)', () => {
    const members = Array.from(
      { length: MAX_MEMBERS_PER_MESSAGE + 5 },
      (_, i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}/32`,
    );
    const msgs = ipSetMessages('s:big', undefined, set(members));
    expect(msgs.map(payloadKind)).toEqual(['ipset_update', 'ipset_delta_update']);
    expect(msgs[0]?.ipset_update?.members).toHaveLength(MAX_MEMBERS_PER_MESSAGE);
    expect(msgs[1]?.ipset_delta_update?.added_members).toHaveLength(5);
  });
});

describe('diffStream', () => {
  const cluster = (inSync: boolean): ClusterView => ({
    namespaces: new Map(),
    serviceAccounts: new Map(),
    inSync,
  });

  it('an endpoint that goes away gets WorkloadEndpointRemove and the stream ends', () => {
    const view: EndpointView = {
      workloadId: 'ns/p',
      endpoint: { name: 'x' },
      endpointText: '{"name":"x"}',
      policies: [],
      profiles: new Map(),
      ipSets: new Map(),
    };
    const first = diffStream('ns/p', NOTHING_SENT, view, cluster(true));
    expect(first.messages.map(payloadKind)).toEqual(['workload_endpoint_update', 'in_sync']);
    const gone = diffStream('ns/p', first.sent, null, cluster(true));
    expect(gone.messages.map(payloadKind)).toEqual(['workload_endpoint_remove']);
    expect(gone.endStream).toBe(true);
  });

  it('an endpoint never sent and still unknown sends nothing but cluster data', () => {
    const d = diffStream('ns/p', NOTHING_SENT, null, cluster(false));
    expect(d.messages).toEqual([]);
    expect(d.endStream).toBe(false);
  });
});
