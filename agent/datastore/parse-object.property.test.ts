// Property: whatever a datastore hands us, parsing never throws, and anything accepted as a
// policy compiles into rules (so a bad object can never take the calculation down).
import { describe, expect, it } from 'vitest';
import { seededRandom, type SeededRandom } from '../../testing/seeded-random.js';
import { compilePolicy } from '../calc/compiled-policy.js';
import { parseClusterObject } from './parse-object.js';

const STRINGS = [
  '',
  'all()',
  "app == 'a'",
  '&&',
  'TCP',
  'udp',
  '80',
  '80:90',
  'http',
  '10.0.0.0/8',
  '::1',
  'Allow',
  'Deny',
  'Pass',
  '/p',
  'x?y',
  'global()',
  '😀',
];
const KEYS = [
  'selector',
  'namespaceSelector',
  'notSelector',
  'action',
  'protocol',
  'ports',
  'nets',
  'http',
  'methods',
  'paths',
  'exact',
  'prefix',
  'serviceAccounts',
  'names',
  'source',
  'destination',
  'ingress',
  'egress',
  'order',
  'tier',
  'types',
  'icmp',
  'type',
  'code',
];

function value(r: SeededRandom, depth: number): unknown {
  switch (r.int(depth > 3 ? 4 : 7)) {
    case 0:
      return r.pick(STRINGS);
    case 1:
      return r.int(70000) - 5;
    case 2:
      return r.next() < 0.5;
    case 3:
      return null;
    case 4:
      return Array.from({ length: r.int(3) }, () => value(r, depth + 1));
    default:
      return Object.fromEntries(Array.from({ length: r.int(4) }, () => [r.pick(KEYS), value(r, depth + 1)]));
  }
}

const KINDS: [string, string][] = [
  ['projectcalico.org/v3', 'GlobalNetworkPolicy'],
  ['crd.projectcalico.org/v1', 'NetworkPolicy'],
  ['crd.projectcalico.org/v1', 'StagedKubernetesNetworkPolicy'],
  ['networking.k8s.io/v1', 'NetworkPolicy'],
  ['projectcalico.org/v3', 'Tier'],
  ['v1', 'Pod'],
];

describe('parseClusterObject (property)', () => {
  it('never throws, and accepted policies always compile', () => {
    const r = seededRandom(6);
    let accepted = 0;
    for (let i = 0; i < 400; i++) {
      const [apiVersion, kind] = r.pick(KINDS);
      const raw = {
        apiVersion,
        kind,
        metadata: { name: 'n', namespace: r.next() < 0.8 ? 'ns' : undefined },
        spec: value(r, 0),
      };
      const parsed = parseClusterObject(raw);
      if (parsed.kind === 'resource' && parsed.resource.kind === 'Policy') {
        accepted++;
        expect(compilePolicy(parsed.resource.policy).ok).toBe(true);
      }
    }
    expect(accepted).toBeGreaterThan(20);
  });
});
