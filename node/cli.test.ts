import { describe, expect, it } from 'vitest';
import { DEFAULT_STATE_DIR, parseAlpNodeArgs, USAGE } from './cli.js';

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
        wireguardKeyRotationIntervalMs: 0,
        wireguardStrict: false,
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
        '--wireguard-key-rotation-interval',
        '1h30m',
        '--wireguard-strict',
        '--metrics-addr',
        ':9091',
        '--log-level',
        'debug',
        '--log-format',
        'text',
      ],
      { NODENAME: 'n1', ALP_WIREGUARD_KEY_ROTATION_INTERVAL: '24h' },
    );
    expect(r).toEqual({
      kind: 'run',
      options: {
        nodeName: 'n2',
        kubeconfig: '/k',
        stateDir: '/s',
        wgSocketDir: '/w',
        wireguardDevice: 'userspace',
        wireguardKeyRotationIntervalMs: 5_400_000,
        wireguardStrict: true,
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
    {
      rule: 'a key rotation interval is a Go duration',
      argv: ['--wireguard-key-rotation-interval', '24'],
      env: { NODENAME: 'n' },
      says: 'invalid WireGuard key rotation interval "24"',
    },
    {
      rule: 'a key rotation interval under a second would rotate without pause',
      argv: [],
      env: { NODENAME: 'n', ALP_WIREGUARD_KEY_ROTATION_INTERVAL: '10ms' },
      says: 'at least 1s',
    },
    {
      rule: 'a negative key rotation interval is refused',
      argv: ['--wireguard-key-rotation-interval=-1h'],
      env: { NODENAME: 'n' },
      says: 'invalid WireGuard key rotation interval',
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

  it('takes the key rotation interval from the environment when the flag is absent', () => {
    const r = parseAlpNodeArgs([], { NODENAME: 'n', ALP_WIREGUARD_KEY_ROTATION_INTERVAL: '12h' });
    expect(r.kind === 'run' && r.options.wireguardKeyRotationIntervalMs).toBe(43_200_000);
  });

  it('turns WireGuard strict mode on from the flag or ALP_WIREGUARD_STRICT=true only', () => {
    const strict = (argv: string[], value?: string) => {
      const r = parseAlpNodeArgs(argv, { NODENAME: 'n', ALP_WIREGUARD_STRICT: value });
      return r.kind === 'run' ? r.options.wireguardStrict : r.kind;
    };
    expect(strict([])).toBe(false);
    expect(strict([], '')).toBe(false);
    expect(strict([], 'false')).toBe(false);
    expect(strict([], 'true')).toBe(true);
    expect(strict(['--wireguard-strict'])).toBe(true);
    expect(strict(['--wireguard-strict'], 'false')).toBe(true);
    expect(strict([], 'yes')).toBe('usage-error');
    expect(parseAlpNodeArgs(['-h'], {}).kind === 'help' && USAGE.includes('--wireguard-strict')).toBe(true);
    expect(USAGE).toContain('ALP_WIREGUARD_STRICT');
  });

  it('prints help for -h', () => {
    expect(parseAlpNodeArgs(['-h'], {}).kind).toBe('help');
  });
});
