import { describe, expect, it } from 'vitest';
import { isSafeUid, parseCredentials, socketPath } from './pod-sockets.js';

describe('parseCredentials (the CSI driver’s <prefix>/creds/<uid>.json)', () => {
  it('reads UID, Workload, Namespace and ServiceAccount', () => {
    expect(
      parseCredentials('{"UID":"1d2c","Workload":"web-1","Namespace":"prod","ServiceAccount":"web"}'),
    ).toEqual({ uid: '1d2c', workload: 'web-1', namespace: 'prod', serviceAccount: 'web' });
  });
  it.each([
    ['not JSON', 'nope'],
    ['no workload', '{"UID":"a","Namespace":"ns"}'],
    ['a UID that would leave the directory', '{"UID":"../etc","Workload":"w","Namespace":"ns"}'],
    ['a UID with a slash', '{"UID":"a/b","Workload":"w","Namespace":"ns"}'],
  ])('ignores a file with %s', (_rule, text) => {
    expect(parseCredentials(text)).toBeNull();
  });
});

describe('socket layout', () => {
  it('puts the socket where the CSI driver bind-mounts the pod’s directory', () => {
    expect(socketPath('/var/run/nodeagent', 'abc')).toBe('/var/run/nodeagent/mount/abc/socket');
  });
  it.each([
    ['a Kubernetes UID is safe', '6b1d2c4e-0001-4000-8000-00000000c001', true],
    ['.. is not', '..', false],
    ['an empty string is not', '', false],
  ])('%s', (_rule, uid, safe) => {
    expect(isSafeUid(uid)).toBe(safe);
  });
});
