import { describe, expect, it } from 'vitest';
import { parseCalicoResource } from './resources.js';

function gnp(spec: Record<string, unknown>, name = 'p'): unknown {
  return { apiVersion: 'projectcalico.org/v3', kind: 'GlobalNetworkPolicy', metadata: { name }, spec };
}

function reason(raw: unknown): string {
  const r = parseCalicoResource(raw);
  return r.ok ? '' : r.reason;
}

describe('parseCalicoResource: rejections (alp-istio.md §2.2, §2.5 negative vectors)', () => {
  const http = (h: unknown, extra: Record<string, unknown> = {}) =>
    gnp({ selector: "app == 'x'", ingress: [{ action: 'Allow', http: h, ...extra }] });
  const cases: [string, unknown, string][] = [
    [
      'a path with both exact and prefix is rejected',
      http({ paths: [{ exact: '/a', prefix: '/b' }] }),
      "Both 'exact' and 'prefix'",
    ],
    ['an empty path entry is rejected', http({ paths: [{}] }), "Either 'exact' or 'prefix'"],
    [
      'a path without a leading slash is rejected',
      http({ paths: [{ exact: 'projects' }] }),
      'must start with "/"',
    ],
    ['a path with a query is rejected', http({ paths: [{ prefix: '/a?b' }] }), 'Invalid path /a?b'],
    ['duplicate methods are rejected', http({ methods: ['GET', 'GET'] }), 'duplicate method "GET"'],
    [
      'HTTP match on a Deny rule is rejected',
      gnp({ ingress: [{ action: 'Deny', http: { methods: ['GET'] } }] }),
      'HTTP match is only valid on Allow rules',
    ],
    [
      'HTTP match with protocol UDP is rejected',
      http({ methods: ['GET'] }, { protocol: 'UDP' }),
      'protocol TCP or unset',
    ],
    [
      'HTTP match in an egress rule is rejected',
      gnp({ egress: [{ action: 'Allow', http: { methods: ['GET'] } }] }),
      'not allowed in egress rule',
    ],
    ['an unknown action is rejected', gnp({ ingress: [{ action: 'allow' }] }), 'must be one of Allow'],
    [
      'a selector that does not parse is rejected',
      gnp({ selector: 'not.a.real.selector' }),
      'spec.selector: invalid selector',
    ],
    [
      'a numeric port without a protocol is rejected',
      gnp({ ingress: [{ action: 'Allow', destination: { ports: [80] } }] }),
      'numeric ports need protocol',
    ],
    [
      'ports with ICMP are rejected',
      gnp({ ingress: [{ action: 'Allow', protocol: 'ICMP', destination: { ports: [80] } }] }),
      'does not support ports',
    ],
    [
      'an invalid CIDR is rejected',
      gnp({ ingress: [{ action: 'Allow', source: { nets: ['10.0.0.300/8'] } }] }),
      'invalid CIDR',
    ],
    [
      'service matches are refused rather than silently matching everything',
      gnp({ ingress: [{ action: 'Allow', source: { services: { name: 'a', namespace: 'b' } } }] }),
      'not supported',
    ],
    [
      'global() inside a larger namespace selector is rejected',
      gnp({ ingress: [{ action: 'Allow', source: { namespaceSelector: "global() && a == 'b'" } }] }),
      'global() can only be used alone',
    ],
    [
      'a namespaced NetworkPolicy needs a namespace',
      { apiVersion: 'projectcalico.org/v3', kind: 'NetworkPolicy', metadata: { name: 'x' }, spec: {} },
      'metadata.namespace: required',
    ],
    [
      'a resource without a name is rejected',
      { kind: 'Tier', metadata: {}, spec: {} },
      'metadata.name: required',
    ],
    [
      'a tier default action other than Deny or Pass is rejected',
      { kind: 'Tier', metadata: { name: 't' }, spec: { defaultAction: 'Allow' } },
      'defaultAction',
    ],
  ];
  it.each(cases)('%s', (_rule, raw, expected) => {
    expect(reason(raw)).toContain(expected);
  });

  it('reports every problem of a resource at once', () => {
    const r = reason(gnp({ selector: '&&', ingress: [{ action: 'Nope' }] }));
    expect(r).toContain('spec.selector');
    expect(r).toContain('spec.ingress[0].action');
  });

  it('never throws on arbitrary input', () => {
    for (const raw of [
      null,
      3,
      'x',
      [],
      { spec: 5 },
      { kind: 'GlobalNetworkPolicy', metadata: { name: 'a' }, spec: { ingress: 'x' } },
    ]) {
      expect(() => parseCalicoResource(raw)).not.toThrow();
      expect(parseCalicoResource(raw).ok).toBe(false);
    }
  });
});

describe('parseCalicoResource: accepted resources', () => {
  it('reads example D (method + exact and prefix paths) as written', () => {
    const r = parseCalicoResource(
      gnp({
        selector: "app == 'tradingapp'",
        ingress: [
          {
            action: 'Allow',
            http: { methods: ['GET'], paths: [{ exact: '/projects/calico' }, { prefix: '/users' }] },
          },
        ],
        egress: [{ action: 'Allow' }],
      }),
    );
    expect(r.ok).toBe(true);
    if (!r.ok || r.value.kind !== 'policy') return;
    const p = r.value.policy;
    expect(p.id).toEqual({ name: 'p', namespace: '', kind: 'GlobalNetworkPolicy' });
    expect(p.tier).toBe('default');
    expect(p.types).toEqual(['Ingress', 'Egress']);
    expect(p.ingress[0]?.http?.paths).toEqual([
      { kind: 'exact', value: '/projects/calico' },
      { kind: 'prefix', value: '/users' },
    ]);
  });

  it.each([
    ['no rules default to Ingress', {}, ['Ingress']],
    ['only egress rules default to Egress', { egress: [{ action: 'Allow' }] }, ['Egress']],
    ['written types are kept', { types: ['Egress'], ingress: [{ action: 'Allow' }] }, ['Egress']],
  ])('policy types: %s', (_rule, spec, types) => {
    const r = parseCalicoResource(gnp(spec));
    expect(r.ok && r.value.kind === 'policy' ? r.value.policy.types : null).toEqual(types);
  });

  it('normalises nets and protocol names the way Calico stores them', () => {
    const r = parseCalicoResource(
      gnp({
        ingress: [
          {
            action: 'Allow',
            protocol: 'tcp',
            source: { nets: ['10.1.2.3/8', '192.0.2.1'] },
            destination: { ports: ['80:90', 'http'] },
          },
        ],
      }),
    );
    expect(r.ok).toBe(true);
    if (!r.ok || r.value.kind !== 'policy') return;
    const rule = r.value.policy.ingress[0];
    expect(rule?.protocol).toEqual({ kind: 'name', name: 'TCP' });
    expect(rule?.source.nets).toEqual(['10.0.0.0/8', '192.0.2.1/32']);
    expect(rule?.destination.ports).toEqual([
      { kind: 'range', first: 80, last: 90 },
      { kind: 'named', name: 'http' },
    ]);
  });

  it('reads a Tier, defaulting the default tier order to Calico’s 1,000,000', () => {
    expect(parseCalicoResource({ kind: 'Tier', metadata: { name: 'default' }, spec: {} })).toEqual({
      ok: true,
      value: { kind: 'tier', tier: { name: 'default', order: 1_000_000, defaultAction: 'Deny' } },
    });
  });

  it('reads a namespaced NetworkSet with its labels and nets', () => {
    const r = parseCalicoResource({
      apiVersion: 'crd.projectcalico.org/v1',
      kind: 'NetworkSet',
      metadata: { name: 'ext', namespace: 'prod', labels: { role: 'ext' } },
      spec: { nets: ['198.51.100.0/24'] },
    });
    expect(r).toEqual({
      ok: true,
      value: {
        kind: 'network-set',
        networkSet: {
          kind: 'NetworkSet',
          name: 'ext',
          namespace: 'prod',
          labels: { role: 'ext' },
          nets: ['198.51.100.0/24'],
        },
      },
    });
  });
});
