import { describe, expect, it } from 'vitest';
import { invalidObjectEventName } from './kubernetes.js';
import type { ObjectRef } from './parse-object.js';

const ref: ObjectRef = {
  apiVersion: 'crd.projectcalico.org/v1',
  kind: 'NetworkPolicy',
  namespace: 'prod',
  name: 'bad',
  uid: '0f9a7d52-2f1c-4a1e-9d0e-6f3a1b2c3d4e',
  resourceVersion: '812',
};

describe('invalidObjectEventName', () => {
  it('is the same on every node for one revision and reason, so only the first create succeeds', () => {
    expect(invalidObjectEventName(ref, 'bad selector')).toBe(
      invalidObjectEventName({ ...ref }, 'bad selector'),
    );
    expect(invalidObjectEventName(ref, 'bad selector')).toMatch(/^bad\.[0-9a-f]{20}$/);
  });

  it('differs for a new revision, a new reason or another object with the same name', () => {
    const base = invalidObjectEventName(ref, 'bad selector');
    expect(invalidObjectEventName({ ...ref, resourceVersion: '813' }, 'bad selector')).not.toBe(base);
    expect(invalidObjectEventName(ref, 'bad port')).not.toBe(base);
    expect(invalidObjectEventName({ ...ref, uid: 'another' }, 'bad selector')).not.toBe(base);
  });

  it('stays a valid object name for the longest names', () => {
    const long = `${'a'.repeat(199)}.${'b'.repeat(53)}`;
    const name = invalidObjectEventName({ ...ref, name: long }, 'x');
    expect(name.length).toBeLessThanOrEqual(253);
    expect(name).toMatch(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/);
    expect(name).not.toContain('..');
  });
});
