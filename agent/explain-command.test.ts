import { describe, expect, it } from 'vitest';
import { parseExplainArgs } from './explain-command.js';

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
