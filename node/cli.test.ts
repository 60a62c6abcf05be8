import { describe, expect, it } from 'vitest';
import { DEFAULT_STATE_DIR, parseAlpNodeArgs } from './cli.js';

describe('parseAlpNodeArgs', () => {
  it('takes the node name from NODENAME and defaults the rest', () => {
    expect(parseAlpNodeArgs([], { NODENAME: 'n1' })).toEqual({
      kind: 'run',
      options: {
        nodeName: 'n1',
        kubeconfig: null,
        stateDir: DEFAULT_STATE_DIR,
        wgSocketDir: null,
        wireguardDevice: 'auto',
        metricsAddr: null,
        logLevel: 'info',
        logFormat: 'json',
      },
    });
  });

  it('lets flags win over the environment', () => {
    const r = parseAlpNodeArgs(
      [
        '--node-name',
        'n2',
        '--kubeconfig',
        '/k',
        '--state-dir',
        '/s',
        '--wg-socket-dir',
        '/w',
        '--wireguard-device',
        'userspace',
        '--metrics-addr',
        ':9091',
        '--log-level',
        'debug',
        '--log-format',
        'text',
      ],
      { NODENAME: 'n1' },
    );
    expect(r).toEqual({
      kind: 'run',
      options: {
        nodeName: 'n2',
        kubeconfig: '/k',
        stateDir: '/s',
        wgSocketDir: '/w',
        wireguardDevice: 'userspace',
        metricsAddr: ':9091',
        logLevel: 'debug',
        logFormat: 'text',
      },
    });
  });

  const errors: { rule: string; argv: string[]; env?: Record<string, string>; says: string }[] = [
    {
      rule: 'an unknown flag is a usage error that names it',
      argv: ['--bogus'],
      env: { NODENAME: 'n' },
      says: "'--bogus'",
    },
    { rule: 'a node name is required', argv: [], says: 'no node name' },
    {
      rule: 'log levels are a closed set',
      argv: ['--log-level', 'loud'],
      env: { NODENAME: 'n' },
      says: 'invalid --log-level',
    },
    {
      rule: 'log formats are json or text',
      argv: ['--log-format', 'xml'],
      env: { NODENAME: 'n' },
      says: 'invalid --log-format',
    },
    {
      rule: 'device modes are auto, kernel or userspace',
      argv: ['--wireguard-device', 'fast'],
      env: { NODENAME: 'n' },
      says: 'invalid --wireguard-device',
    },
    {
      rule: 'the metrics address is host:port, checked before anything starts',
      argv: ['--metrics-addr', 'nonsense'],
      env: { NODENAME: 'n' },
      says: 'invalid --metrics-addr "nonsense"',
    },
    { rule: 'positional arguments are refused', argv: ['extra'], env: { NODENAME: 'n' }, says: 'extra' },
  ];
  for (const c of errors) {
    it(c.rule, () => {
      const r = parseAlpNodeArgs(c.argv, c.env ?? {});
      expect(r.kind).toBe('usage-error');
      if (r.kind === 'usage-error') expect(r.error).toContain(c.says);
    });
  }

  it('answers --version without needing a node name', () => {
    expect(parseAlpNodeArgs(['--version'], {})).toEqual({ kind: 'version' });
  });

  it('prints help for -h', () => {
    expect(parseAlpNodeArgs(['-h'], {}).kind).toBe('help');
  });
});
