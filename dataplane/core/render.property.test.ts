// Properties over random states (seeded, so every run checks the same cases).
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../testing/seeded-random.js';
import { explainFlow } from './explain-flow.js';
import { renderChanges, renderFull } from './index.js';
import { randomState } from './states.cases.js';

const CASES = 300;

describe('renderer properties over random states', () => {
  it('renderChanges is empty exactly when the full renders are equal', () => {
    const r = seededRandom(11);
    let prev = randomState(r);
    let empties = 0;
    for (let i = 0; i < CASES; i++) {
      // Every third draw repeats the previous state as a fresh object: equal content, new identity.
      const next = i % 3 === 0 ? { ...prev, endpoints: new Map(prev.endpoints) } : randomState(r);
      const change = renderChanges(prev, next);
      if (change === '') empties++;
      expect(change === '', `case ${i}`).toBe(renderFull(prev) === renderFull(next));
      prev = next;
    }
    expect(empties).toBeGreaterThan(CASES / 4);
  });

  it('explainFlow never throws and always answers allow or deny', () => {
    const r = seededRandom(12);
    const ips = [
      '198.51.100.2',
      '198.51.100.3',
      '198.51.100.5',
      '192.0.2.9',
      '203.0.113.4',
      'fd00::2',
      'fd00:70::9',
      '10.70.0.1',
    ];
    for (let i = 0; i < CASES; i++) {
      const s = randomState(r);
      const e = explainFlow(s, {
        srcIp: r.pick(ips),
        dstIp: r.pick(ips),
        protocol: r.pick(['tcp', 'udp', 'sctp', 'icmp', 'icmpv6', 47]),
        srcPort: r.int(65536),
        dstPort: r.pick([53, 80, 81, 8080, r.int(65536)]),
        icmpType: r.int(256),
        icmpCode: r.int(16),
        toHost: r.next() < 0.2,
        ctState: r.pick(['new', 'new', 'established', 'invalid'] as const),
      });
      expect(['allow', 'deny']).toContain(e.verdict);
    }
  });
});
