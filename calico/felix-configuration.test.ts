import { describe, expect, it } from 'vitest';
import {
  felixConfigurationFromObject,
  selectFelixConfigurations,
  type FelixConfigurationResource,
} from './felix-configuration.js';
import { labelsFromObject, type Labels } from './labels.js';

const T0 = Date.parse('2026-01-01T00:00:00Z');

function fc(name: string, spec: Record<string, unknown> = {}, createdMs = T0): FelixConfigurationResource {
  return { name, createdMs, spec };
}

const GPU = labelsFromObject({ role: 'gpu', zone: 'a' });

describe('selectFelixConfigurations', () => {
  const cases: {
    rule: string;
    resources: FelixConfigurationResource[];
    labels: Labels | null;
    want: string[];
    problems?: string[];
  }[] = [
    { rule: 'nothing configured: no layers', resources: [], labels: GPU, want: [] },
    { rule: 'default applies to every node', resources: [fc('default')], labels: GPU, want: ['default'] },
    {
      rule: 'node.<name> comes first, then default',
      resources: [fc('default'), fc('node.n1')],
      labels: GPU,
      want: ['node.n1', 'default'],
    },
    {
      rule: 'another node’s resource does not apply',
      resources: [fc('node.n2'), fc('default')],
      labels: GPU,
      want: ['default'],
    },
    {
      rule: 'a matching selector sits between node.<name> and default, whatever the input order',
      resources: [fc('default'), fc('gpus', { nodeSelector: "role == 'gpu'" }), fc('node.n1')],
      labels: GPU,
      want: ['node.n1', 'gpus', 'default'],
    },
    {
      rule: 'a selector that does not match does not apply',
      resources: [fc('storage', { nodeSelector: "role == 'storage'" }), fc('default')],
      labels: GPU,
      want: ['default'],
    },
    {
      rule: 'a resource of another name without a selector configures nobody',
      resources: [fc('extra', { wireguardEnabled: true }), fc('default')],
      labels: GPU,
      want: ['default'],
    },
    {
      rule: 'an empty selector configures nobody (it is not all())',
      resources: [fc('extra', { nodeSelector: '' })],
      labels: GPU,
      want: [],
    },
    {
      rule: 'an unparsable selector is skipped with a reason',
      resources: [fc('bad', { nodeSelector: 'role ==' }), fc('default')],
      labels: GPU,
      want: ['default'],
      problems: ['bad'],
    },
    {
      rule: 'of several matches only the oldest applies; the others are reported',
      resources: [
        fc('newer', { nodeSelector: "role == 'gpu'" }, T0 + 1000),
        fc('older', { nodeSelector: "zone == 'a'" }, T0),
      ],
      labels: GPU,
      want: ['older'],
      problems: ['newer'],
    },
    {
      rule: 'matches created in the same second: the first name wins',
      resources: [fc('b', { nodeSelector: 'all()' }), fc('a', { nodeSelector: 'all()' })],
      labels: GPU,
      want: ['a'],
      problems: ['b'],
    },
    {
      rule: 'a resource without a creation time counts as the oldest (Go’s zero time)',
      resources: [
        fc('dated', { nodeSelector: 'all()' }, T0),
        fc('undated', { nodeSelector: 'all()' }, Number.NEGATIVE_INFINITY),
      ],
      labels: GPU,
      want: ['undated'],
      problems: ['dated'],
    },
    {
      rule: 'without our Node no selector matches, not even all()',
      resources: [fc('everyone', { nodeSelector: 'all()' }), fc('default')],
      labels: null,
      want: ['default'],
    },
    {
      rule: 'a Node without labels is matched by all() and by negations',
      resources: [fc('unlabelled', { nodeSelector: '!has(role)' })],
      labels: labelsFromObject({}),
      want: ['unlabelled'],
    },
    {
      rule: 'the name decides the role: default and node.<name> ignore a nodeSelector',
      resources: [
        fc('default', { nodeSelector: "role == 'none'" }),
        fc('node.n1', { nodeSelector: "role == 'none'" }),
      ],
      labels: GPU,
      want: ['node.n1', 'default'],
    },
    {
      rule: 'another node’s resource never applies through its selector',
      resources: [fc('node.n2', { nodeSelector: 'all()' })],
      labels: GPU,
      want: [],
    },
  ];
  for (const c of cases) {
    it(c.rule, () => {
      const r = selectFelixConfigurations(c.resources, 'n1', c.labels);
      expect(r.layers.map((l) => l.name)).toEqual(c.want);
      expect(r.problems.map((p) => p.name)).toEqual(c.problems ?? []);
    });
  }

  it('labels each layer with its source', () => {
    const r = selectFelixConfigurations(
      [fc('default'), fc('gpus', { nodeSelector: 'all()' }), fc('node.n1')],
      'n1',
      GPU,
    );
    expect(r.layers.map((l) => l.source)).toEqual(['node', 'selector', 'default']);
  });
});

describe('felixConfigurationFromObject', () => {
  it('reads name, creation time and spec from API JSON', () => {
    expect(
      felixConfigurationFromObject({
        metadata: { name: 'gpus', creationTimestamp: '2026-01-01T00:00:00Z' },
        spec: { nodeSelector: 'all()' },
      }),
    ).toEqual({ name: 'gpus', createdMs: T0, spec: { nodeSelector: 'all()' } });
  });

  it.each([
    ['no metadata', { spec: {} }],
    ['an empty name', { metadata: { name: '' } }],
    ['not an object', 'default'],
  ])('refuses %s', (_rule, obj) => expect(felixConfigurationFromObject(obj)).toBeNull());

  it('treats a missing or odd spec as empty and a missing time as the oldest', () => {
    expect(felixConfigurationFromObject({ metadata: { name: 'x' }, spec: [1] })).toEqual({
      name: 'x',
      createdMs: Number.NEGATIVE_INFINITY,
      spec: {},
    });
  });
});
