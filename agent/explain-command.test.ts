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
      query: {
        from: { kind: 'pod', pod: 'a/b' },
        to: { kind: 'pod', pod: 'c/d' },
        protocol: { kind: 'name', name: 'TCP' },
        port: 8080,
        fromPort: null,
        icmpType: null,
        icmpCode: null,
        method: 'POST',
        path: '/x',
        trustDomain: 'cluster.local',
      },
      resources: { type: 'file', paths: ['/r'] },
    });
  });

  it('a TCP check has no method; the live cluster is the default', () => {
    const r = parseExplainArgs(['--from-sa', 'a/sa', '--from-ip', '192.0.2.1', '--to', 'c/d', '--tcp'], {});
    expect(r.kind === 'run' && [r.query.method, r.query.from, r.resources]).toEqual([
      null,
      { kind: 'identity', serviceAccount: 'a/sa', ip: '192.0.2.1' },
      { type: 'kubernetes', kubeconfig: null },
    ]);
  });

  it('reads a plain 5-tuple: addresses, protocol by name or number, both ports', () => {
    const r = parseExplainArgs(
      [
        '--from-ip',
        '198.51.100.7',
        '--to-ip',
        '203.0.113.9',
        '--protocol',
        '17',
        '--from-port',
        '5353',
        '--port',
        '53',
      ],
      {},
    );
    expect(r.kind === 'run' && r.query).toMatchObject({
      from: { kind: 'identity', serviceAccount: null, ip: '198.51.100.7' },
      to: { kind: 'ip', ip: '203.0.113.9' },
      protocol: { kind: 'number', number: 17 },
      port: 53,
      fromPort: 5353,
    });
  });

  it.each([
    [
      'ICMP with a type and code: no ports, no HTTP',
      ['--protocol', 'icmp', '--icmp-type', '8', '--icmp-code', '0'],
      { protocol: { kind: 'name', name: 'ICMP' }, port: null, icmpType: 8, icmpCode: 0, method: null },
    ],
    [
      'a protocol without a name here, by number',
      ['--protocol', '47'],
      { protocol: { kind: 'number', number: 47 }, port: null, method: null },
    ],
    [
      'SCTP: a port, no HTTP',
      ['--protocol', 'SCTP', '--port', '9'],
      { protocol: { kind: 'name', name: 'SCTP' }, port: 9, method: null },
    ],
  ])('reads %s', (_what, argv, want) => {
    const r = parseExplainArgs(['--from-ip', '192.0.2.1', '--to-ip', '192.0.2.2', ...argv], {});
    expect(r.kind === 'run' && r.query).toMatchObject(want);
  });

  it.each([
    ['no destination', ['--from', 'a/b']],
    ['both --to and --to-ip', ['--to', 'c/d', '--to-ip', '192.0.2.2']],
    ['a --to-ip that is no address', ['--to-ip', '192.0.2.300']],
    ['a --from-ip that is no address', ['--to', 'c/d', '--from-ip', 'example.com']],
    ['an unknown protocol name', ['--to', 'c/d', '--protocol', 'GRE']],
    ['a protocol number out of range', ['--to', 'c/d', '--protocol', '256']],
    ['protocol 0 (Calico takes 1-255)', ['--to', 'c/d', '--protocol', '0']],
    ['a port on ICMP', ['--to', 'c/d', '--protocol', 'ICMP', '--port', '80']],
    ['an ICMP type on TCP', ['--to', 'c/d', '--icmp-type', '8']],
    ['an ICMP code without a type', ['--to', 'c/d', '--protocol', 'ICMP', '--icmp-code', '0']],
    ['an ICMP type out of range', ['--to', 'c/d', '--protocol', 'ICMP', '--icmp-type', '256']],
    ['a source port of 0', ['--to', 'c/d', '--from-port', '0']],
    ['an HTTP path on SCTP', ['--to', 'c/d', '--protocol', 'SCTP', '--path', '/x']],
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
