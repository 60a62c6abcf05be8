// The IP set index against a from-scratch reference: after random entity and set changes, every
// active set holds exactly the members its selector gives over the current entities, and each
// change reports exactly the sets whose members changed, in activation order. Selectors mix
// indexed forms (==, in, && of them) with unindexed ones (has, !=, all()).
import { describe, expect, it } from 'vitest';
import type { IpSetSpec } from '../../calico/policy-to-rules.js';
import { parseSelector } from '../../calico/selector/index.js';
import { seededRandom, type SeededRandom } from '../../testing/seeded-random.js';
import type { NamedPort } from './cluster-model.js';
import { contribution, IpSetIndex, type IpSetEntity } from './ip-set-index.js';

const SELECTORS = [
  'app == "a"',
  'app == "b"',
  'app in {"a", "b"}',
  'app == "a" && tier == "1"',
  'tier in {"1", "2"} && has(app)',
  'app == "a" || app == "c"',
  'has(app)',
  'app != "a"',
  'all()',
  '!(tier == "1")',
  'app in {}',
];

function spec(i: number, selector: string, namedPort: boolean): IpSetSpec {
  const parsed = parseSelector(selector);
  if (!parsed.ok) throw new Error(parsed.error);
  return {
    id: `s${i}${namedPort ? 'p' : ''}`,
    type: namedPort ? 'IP_AND_PORT' : 'NET',
    selector: parsed.selector,
    namedPort: namedPort ? { name: 'http', protocol: 'tcp' } : null,
  };
}

function randomEntity(r: SeededRandom, ip: string): IpSetEntity {
  const labels = new Map<string, string>();
  if (r.int(5) > 0) labels.set('app', r.pick(['a', 'b', 'c']));
  if (r.int(3) > 0) labels.set('tier', r.pick(['1', '2', '3']));
  const namedPorts: NamedPort[] = r.int(2) === 0 ? [{ name: 'http', protocol: 'tcp', port: 80 }] : [];
  // Two entities may share an address, as two pods briefly can.
  return { labels, netMembers: [`${ip}/32`], ips: [ip], namedPorts };
}

/** Members of every active set, computed from scratch. */
function reference(entities: ReadonlyMap<string, IpSetEntity>, active: ReadonlyMap<string, IpSetSpec>) {
  const out = new Map<string, string[]>();
  for (const [id, s] of active) {
    const members = new Set<string>();
    for (const e of entities.values()) for (const m of contribution(s, e)) members.add(m);
    out.set(id, [...members].sort());
  }
  return out;
}

describe('IpSetIndex', () => {
  it.each([1, 2, 3, 4, 5, 6])('agrees with a from-scratch computation (seed %i)', (seed) => {
    const r = seededRandom(seed);
    const index = new IpSetIndex();
    const entities = new Map<string, IpSetEntity>();
    const active = new Map<string, IpSetSpec>();
    const refs = new Map<string, number>();
    const specs = SELECTORS.flatMap((sel, i) => [spec(i, sel, false), spec(i, sel, true)]);
    let before = reference(entities, active);
    for (let step = 0; step < 600; step++) {
      const op = r.int(10);
      let changed: string[] | null = null;
      if (op < 4) {
        const key = `e${r.int(25)}`;
        const e = randomEntity(r, `10.0.0.${r.int(20)}`);
        entities.set(key, e);
        changed = index.upsertEntity(key, e);
      } else if (op < 6) {
        const key = `e${r.int(25)}`;
        entities.delete(key);
        changed = index.deleteEntity(key);
      } else if (op < 8) {
        const s = r.pick(specs);
        index.activate(s);
        if (!active.has(s.id)) active.set(s.id, s);
        refs.set(s.id, (refs.get(s.id) ?? 0) + 1);
      } else {
        const s = r.pick(specs);
        index.deactivate(s.id);
        const n = (refs.get(s.id) ?? 0) - 1;
        if (n <= 0) {
          refs.delete(s.id);
          active.delete(s.id);
        } else refs.set(s.id, n);
      }
      const after = reference(entities, active);
      for (const id of specs.map((s) => s.id)) {
        expect(index.isActive(id)).toBe(active.has(id));
        const members = index.members(id);
        expect(members === null ? null : [...members].sort()).toEqual(after.get(id) ?? null);
      }
      if (changed !== null) {
        // Activation order is the order of `active` (a Map keeps insertion order).
        const want = [...active.keys()].filter(
          (id) => JSON.stringify(before.get(id)) !== JSON.stringify(after.get(id)),
        );
        expect(changed).toEqual(want);
      }
      before = after;
    }
  });

  it('adds a new set’s members in the order the entities first appeared', () => {
    const index = new IpSetIndex();
    const entity = (app: string, ip: string): IpSetEntity => ({
      labels: new Map([['app', app]]),
      netMembers: [`${ip}/32`],
      ips: [ip],
      namedPorts: [],
    });
    index.upsertEntity('x', entity('b', '10.0.0.1'));
    index.upsertEntity('y', entity('a', '10.0.0.2'));
    index.upsertEntity('z', entity('a', '10.0.0.3'));
    index.upsertEntity('x', entity('a', '10.0.0.1')); // relabelled: keeps its place
    index.activate(spec(0, 'app == "a"', false));
    expect([...(index.members('s0') ?? [])]).toEqual(['10.0.0.1/32', '10.0.0.2/32', '10.0.0.3/32']);
  });
});
