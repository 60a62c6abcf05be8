import { describe, expect, it } from 'vitest';
import { parseExplainArgs, unreadableResources } from './explain-command.js';

describe('parseExplainArgs', () => {
  it('reads a pod-to-pod HTTP request against files', () => {
    const r = parseExplainArgs(
      ['--from', 'a/b', '--to', 'c/d', '--method', 'POST', '--path', '/x', '--port', '8080', '--files', '/r'],
      {},
    );
    expect(r).toEqual({
      kind: 'run',
      request: {
        from: { kind: 'pod', pod: 'a/b' },
        to: 'c/d',
        port: 8080,
        method: 'POST',
        path: '/x',
        protocol: 'TCP',
        trustDomain: 'cluster.local',
      },
      resources: { type: 'file', paths: ['/r'] },
    });
  });

  it('a TCP check has no method; the live cluster is the default', () => {
    const r = parseExplainArgs(['--from-sa', 'a/sa', '--from-ip', '192.0.2.1', '--to', 'c/d', '--tcp'], {});
    expect(r.kind === 'run' && [r.request.method, r.request.from, r.resources]).toEqual([
      null,
      { kind: 'identity', serviceAccount: 'a/sa', ip: '192.0.2.1' },
      { type: 'kubernetes', kubeconfig: null },
    ]);
  });

  it.each([
    ['no destination', ['--from', 'a/b']],
    ['a destination without a namespace', ['--to', 'd']],
    ['--from together with --from-ip', ['--to', 'c/d', '--from', 'a/b', '--from-ip', '192.0.2.1']],
    ['a port out of range', ['--to', 'c/d', '--port', '70000']],
    ['--tcp with a method', ['--to', 'c/d', '--tcp', '--method', 'GET']],
    ['an unknown flag', ['--to', 'c/d', '--nope']],
  ])('refuses %s', (_rule, argv) => {
    expect(parseExplainArgs(argv, {}).kind).toBe('usage-error');
  });
});

describe('unreadableResources', () => {
  const files = new Set(['/r', '/home/u/.kube/config', '/k']);
  const exists = (p: string) => files.has(p);
  it.each([
    ['files that exist are readable', { type: 'file', paths: ['/r'] }, {}, null],
    [
      'a missing file is named',
      { type: 'file', paths: ['/r', '/gone'] },
      {},
      'no such file or directory: /gone',
    ],
    [
      'an explicit kubeconfig must exist',
      { type: 'kubernetes', kubeconfig: '/nope' },
      {},
      'no such kubeconfig: /nope',
    ],
    ['KUBECONFIG counts as a cluster', { type: 'kubernetes', kubeconfig: null }, { KUBECONFIG: '/k' }, null],
    [
      'in a pod, the in-cluster config',
      { type: 'kubernetes', kubeconfig: null },
      { KUBERNETES_SERVICE_HOST: '10.0.0.1' },
      null,
    ],
    [
      '~/.kube/config counts as a cluster',
      { type: 'kubernetes', kubeconfig: null },
      { HOME: '/home/u' },
      null,
    ],
  ] as const)('%s', (_rule, resources, env, want) => {
    expect(unreadableResources(resources, env, exists)).toBe(want);
  });

  it('with no files and no cluster configuration, says what to pass', () => {
    expect(
      unreadableResources({ type: 'kubernetes', kubeconfig: null }, { HOME: '/nobody' }, exists),
    ).toContain('no resources to read: pass --files');
  });
});
