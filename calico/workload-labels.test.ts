import { describe, expect, it } from 'vitest';
import type { Labels } from './labels.js';
import {
  labelsWithName,
  networkSetLabels,
  serviceAccountProfileName,
  workloadLabels,
} from './workload-labels.js';

const m = (o: Record<string, string>): Labels => new Map(Object.entries(o));

describe('workloadLabels', () => {
  it('adds the Calico labels and the pcns./pcsa. labels of the pod’s namespace and service account', () => {
    const labels = workloadLabels({
      namespace: 'prod',
      podLabels: m({ app: 'web' }),
      serviceAccount: 'web-sa',
      namespaceLabels: m({ team: 'a' }),
      serviceAccountLabels: m({ role: 'front' }),
    });
    expect(Object.fromEntries(labels)).toEqual({
      app: 'web',
      'projectcalico.org/namespace': 'prod',
      'projectcalico.org/orchestrator': 'k8s',
      'projectcalico.org/serviceaccount': 'web-sa',
      'pcns.team': 'a',
      'pcns.projectcalico.org/name': 'prod',
      'pcsa.role': 'front',
      'pcsa.projectcalico.org/name': 'web-sa',
    });
  });

  it('the pod’s own labels win over inherited ones, and Calico’s labels win over the pod’s', () => {
    const labels = workloadLabels({
      namespace: 'prod',
      podLabels: m({ 'pcns.team': 'pod', 'projectcalico.org/namespace': 'spoofed' }),
      serviceAccount: '',
      namespaceLabels: m({ team: 'ns' }),
      serviceAccountLabels: null,
    });
    expect(labels.get('pcns.team')).toBe('pod');
    expect(labels.get('projectcalico.org/namespace')).toBe('prod');
  });

  it('an unknown namespace contributes no pcns. labels', () => {
    const labels = workloadLabels({
      namespace: 'x',
      podLabels: m({}),
      serviceAccount: 'sa',
      namespaceLabels: null,
      serviceAccountLabels: null,
    });
    expect([...labels.keys()].some((k) => k.startsWith('pcns.') || k.startsWith('pcsa.'))).toBe(false);
    expect(labels.get('projectcalico.org/serviceaccount')).toBe('sa');
  });

  it('a service account name of 63 characters or more gets no serviceaccount label', () => {
    const long = 'a'.repeat(63);
    const labels = workloadLabels({
      namespace: 'x',
      podLabels: m({}),
      serviceAccount: long,
      namespaceLabels: null,
      serviceAccountLabels: null,
    });
    expect(labels.has('projectcalico.org/serviceaccount')).toBe(false);
  });
});

describe('profile names and update labels', () => {
  it('ksa profile names default an empty namespace to "default"', () => {
    expect(serviceAccountProfileName('', 'sa')).toBe('ksa.default.sa');
    expect(serviceAccountProfileName('prod', 'sa')).toBe('ksa.prod.sa');
  });
  it('NamespaceUpdate labels carry projectcalico.org/name', () => {
    expect(Object.fromEntries(labelsWithName('prod', m({ a: 'b' })))).toEqual({
      a: 'b',
      'projectcalico.org/name': 'prod',
    });
  });
  it('a namespaced network set inherits its namespace’s labels; a global one has only its own', () => {
    expect(Object.fromEntries(networkSetLabels('prod', m({ r: 'x' }), m({ team: 'a' })))).toEqual({
      r: 'x',
      'projectcalico.org/namespace': 'prod',
      'pcns.team': 'a',
      'pcns.projectcalico.org/name': 'prod',
    });
    expect(Object.fromEntries(networkSetLabels('', m({ r: 'x' }), null))).toEqual({ r: 'x' });
  });
});
