import { describe, expect, it } from 'vitest';
import type { Labels } from './labels.js';
import type { IpSetSpec, PolicyRules } from './policy-to-rules.js';
import {
  entitySelectorText,
  policyEndpointSelectorText,
  policyToRules,
  selectorIpSetId,
} from './policy-to-rules.js';
import type { PolicySpec } from './resources.js';
import { parseCalicoResource } from './resources.js';
import type { EntityRuleSpec } from './rule-spec.js';
import { NO_ENTITY } from './rule-spec.js';
import { parseSelector } from './selector/index.js';

function policy(kind: string, spec: Record<string, unknown>, namespace?: string): PolicySpec {
  const r = parseCalicoResource({ kind, metadata: { name: 'p', namespace }, spec });
  if (!r.ok || r.value.kind !== 'policy') throw new Error(r.ok ? 'not a policy' : r.reason);
  return r.value.policy;
}

function rules(p: PolicySpec): PolicyRules {
  const r = policyToRules(p);
  if (!r.ok) throw new Error(r.reason);
  return r.value;
}

function setById(r: PolicyRules, id: string | undefined): IpSetSpec {
  const s = r.ipSets.find((x) => x.id === id);
  if (s === undefined) throw new Error(`no set ${String(id)}`);
  return s;
}

const entity = (e: Partial<EntityRuleSpec>): EntityRuleSpec => ({ ...NO_ENTITY, ...e });

describe('entitySelectorText (Calico’s GetEntityRuleSelector)', () => {
  it.each([
    [
      'a namespaced policy pins a pod selector to its namespace',
      entity({ selector: "app == 'a'" }),
      'prod',
      "(projectcalico.org/namespace == 'prod') && (app == 'a')",
    ],
    ['a global policy leaves a pod selector alone', entity({ selector: "app == 'a'" }), '', "app == 'a'"],
    [
      'a namespace selector is prefixed pcns.',
      entity({ namespaceSelector: "team == 'x'" }),
      'prod',
      '(pcns.team == "x")'.slice(1, -1),
    ],
    [
      'namespaceSelector all() means any namespace',
      entity({ namespaceSelector: 'all()' }),
      '',
      'has(projectcalico.org/namespace)',
    ],
    [
      'namespaceSelector global() means no namespace',
      entity({ namespaceSelector: 'global()' }),
      '',
      '!has(projectcalico.org/namespace)',
    ],
    [
      'service-account names and selector combine, the selector prefixed pcsa.',
      entity({ serviceAccounts: { names: ['b', 'a'], selector: "role == 'r'" } }),
      '',
      '(pcsa.role == "r") && (projectcalico.org/serviceaccount in {"a", "b"})',
    ],
    [
      'a notSelector alone still pins a namespaced rule to the namespace',
      entity({ notSelector: "app == 'a'" }),
      'prod',
      "projectcalico.org/namespace == 'prod'",
    ],
    ['nets alone select no endpoints', entity({ nets: ['10.0.0.0/8'] }), 'prod', ''],
  ])('%s', (_rule, e, ns, expected) => {
    expect(entitySelectorText(e, ns)).toBe(expected);
  });
});

describe('policyEndpointSelectorText', () => {
  it('a namespaced policy selects only its namespace', () => {
    expect(policyEndpointSelectorText(policy('NetworkPolicy', { selector: "app == 'a'" }, 'prod'))).toBe(
      "(app == 'a') && projectcalico.org/namespace == 'prod'",
    );
  });
  it('a global policy’s namespaceSelector and serviceAccountSelector are prefixed', () => {
    expect(
      policyEndpointSelectorText(
        policy('GlobalNetworkPolicy', {
          selector: "app == 'a'",
          namespaceSelector: "env == 'prod'",
          serviceAccountSelector: 'all()',
        }),
      ),
    ).toBe('((app == \'a\') && pcns.env == "prod") && has(projectcalico.org/serviceaccount)');
  });
});

describe('policyToRules', () => {
  it('names selector IP sets exactly as Felix does (s: + SHA-224 of the canonical selector)', () => {
    const sel = parseSelector('! (has( b)||! has(a ))');
    expect(sel.ok && selectorIpSetId(sel.selector)).toBe('s:Iss0uCleLYv1GSv_pNm7hAO58kE9jAx1NKyG3Q');
  });

  it('turns a source selector into a NET set of matching endpoints and passes the original through', () => {
    const r = rules(
      policy(
        'NetworkPolicy',
        { ingress: [{ action: 'Allow', source: { selector: "app == 'web'" } }] },
        'prod',
      ),
    );
    const rule = r.inbound[0];
    expect(rule?.action).toBe('allow');
    expect(rule?.originalSrcSelector).toBe("app == 'web'");
    expect(rule?.srcIpSetIds).toHaveLength(1);
    const set = setById(r, rule?.srcIpSetIds[0]);
    expect(set.type).toBe('NET');
    const labels = (m: Record<string, string>): Labels => new Map(Object.entries(m));
    expect(set.selector.matches(labels({ app: 'web', 'projectcalico.org/namespace': 'prod' }))).toBe(true);
    expect(set.selector.matches(labels({ app: 'web', 'projectcalico.org/namespace': 'dev' }))).toBe(false);
  });

  it('folds a notSelector into the positive selector when there is one', () => {
    const r = rules(
      policy('GlobalNetworkPolicy', {
        ingress: [{ action: 'Allow', source: { selector: 'has(a)', notSelector: 'has(b)' } }],
      }),
    );
    expect(r.inbound[0]?.notSrcIpSetIds).toEqual([]);
    expect(setById(r, r.inbound[0]?.srcIpSetIds[0]).selector.toString()).toBe('(has(a) && !has(b))');
    expect(r.inbound[0]?.originalNotSrcSelector).toBe('has(b)');
  });

  it('a notSelector alone becomes a negated IP set', () => {
    const r = rules(
      policy('GlobalNetworkPolicy', { ingress: [{ action: 'Deny', source: { notSelector: 'has(b)' } }] }),
    );
    expect(r.inbound[0]?.srcIpSetIds).toEqual([]);
    expect(setById(r, r.inbound[0]?.notSrcIpSetIds[0]).selector.toString()).toBe('has(b)');
  });

  it('a named destination port becomes an IP_AND_PORT set filtered by the destination selector, replacing the selector set', () => {
    const r = rules(
      policy('GlobalNetworkPolicy', {
        ingress: [
          { action: 'Allow', protocol: 'TCP', destination: { selector: "app == 'db'", ports: ['http'] } },
        ],
      }),
    );
    const rule = r.inbound[0];
    expect(rule?.dstIpSetIds).toEqual([]);
    expect(rule?.dstNamedPortIpSetIds).toHaveLength(1);
    const set = setById(r, rule?.dstNamedPortIpSetIds[0]);
    expect(set.id.startsWith('n:')).toBe(true);
    expect(set.type).toBe('IP_AND_PORT');
    expect(set.namedPort).toEqual({ name: 'http', protocol: 'tcp' });
    expect(set.selector.toString()).toBe('app == "db"');
  });

  it('numeric and named ports together keep the selector set too', () => {
    const r = rules(
      policy('GlobalNetworkPolicy', {
        ingress: [
          { action: 'Allow', protocol: 'TCP', destination: { selector: 'has(x)', ports: [80, 'http'] } },
        ],
      }),
    );
    expect(r.inbound[0]?.dstIpSetIds).toHaveLength(1);
    expect(r.inbound[0]?.dstPorts).toEqual([{ first: 80, last: 80 }]);
  });

  it('service accounts become a match for Dikastes and an IP set of pods running as them', () => {
    const r = rules(
      policy('GlobalNetworkPolicy', {
        ingress: [{ action: 'Allow', source: { serviceAccounts: { names: ['customer'] } } }],
      }),
    );
    const rule = r.inbound[0];
    expect(rule?.srcServiceAccountMatch).toEqual({ selector: '', names: ['customer'] });
    expect(setById(r, rule?.srcIpSetIds[0]).selector.toString()).toBe(
      'projectcalico.org/serviceaccount in {"customer"}',
    );
  });

  it.each([
    ['Pass becomes next-tier', 'Pass', 'next-tier'],
    ['Log becomes log', 'Log', 'log'],
    ['Deny becomes deny', 'Deny', 'deny'],
  ])('actions: %s', (_rule, action, wire) => {
    expect(rules(policy('GlobalNetworkPolicy', { ingress: [{ action }] })).inbound[0]?.action).toBe(wire);
  });

  it('carries protocol, nets, ports, ICMP and HTTP, negations included', () => {
    const r = rules(
      policy('GlobalNetworkPolicy', {
        ingress: [
          {
            action: 'Allow',
            protocol: 'TCP',
            notProtocol: 17,
            source: { nets: ['10.0.0.0/8'], notNets: ['10.1.0.0/16'], notPorts: [1000] },
            destination: { ports: ['80:81'], notNets: ['192.0.2.0/24'] },
            http: { methods: ['GET'], paths: [{ prefix: '/users' }] },
          },
        ],
        egress: [{ action: 'Allow', protocol: 'ICMP', icmp: { type: 8, code: 0 } }],
      }),
    );
    const rule = r.inbound[0];
    expect(rule?.protocol).toEqual({ kind: 'name', name: 'tcp' });
    expect(rule?.notProtocol).toEqual({ kind: 'number', number: 17 });
    expect(rule?.srcNet).toEqual(['10.0.0.0/8']);
    expect(rule?.notSrcNet).toEqual(['10.1.0.0/16']);
    expect(rule?.notSrcPorts).toEqual([{ first: 1000, last: 1000 }]);
    expect(rule?.dstPorts).toEqual([{ first: 80, last: 81 }]);
    expect(rule?.notDstNet).toEqual(['192.0.2.0/24']);
    expect(rule?.httpMatch).toEqual({ methods: ['GET'], paths: [{ kind: 'prefix', value: '/users' }] });
    expect(r.outbound[0]?.icmp).toEqual({ type: 8, code: 0 });
    expect(r.outbound[0]?.ipVersion).toBe(4);
  });

  it('lists each referenced IP set once', () => {
    const r = rules(
      policy('GlobalNetworkPolicy', {
        ingress: [
          { action: 'Allow', source: { selector: 'has(a)' } },
          { action: 'Deny', source: { selector: 'has(a)' } },
        ],
      }),
    );
    expect(r.ipSets).toHaveLength(1);
  });
});
