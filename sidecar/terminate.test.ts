import { describe, expect, it } from 'vitest';
import { terminateConfigFromEnv } from './terminate.js';

describe('terminateConfigFromEnv', () => {
  const cases: [string, Record<string, string>, unknown][] = [
    ['no port: no endpoint', {}, { ok: true, bind: null }],
    ['empty port: no endpoint', { DIKASTES_HTTP_BIND_PORT: '' }, { ok: true, bind: null }],
    [
      'a port binds all interfaces',
      { DIKASTES_HTTP_BIND_PORT: '7777' },
      { ok: true, bind: { port: 7777, address: '' } },
    ],
    [
      'leading zeros and + parse as Go Atoi does',
      { DIKASTES_HTTP_BIND_PORT: '+0080' },
      { ok: true, bind: { port: 80, address: '' } },
    ],
    [
      'an IPv6 literal is a valid bind address',
      { DIKASTES_HTTP_BIND_PORT: '1', DIKASTES_HTTP_BIND_ADDR: '::1' },
      { ok: true, bind: { port: 1, address: '::1' } },
    ],
  ];
  it.each(cases)('%s', (_name, env, expected) => {
    expect(terminateConfigFromEnv(env)).toEqual(expected);
  });

  const errors: [string, Record<string, string>, RegExp][] = [
    [
      'a non-number port is a parse error',
      { DIKASTES_HTTP_BIND_PORT: '80a' },
      /error parsing provided HTTP listen port/,
    ],
    ['port 0 is rejected', { DIKASTES_HTTP_BIND_PORT: '0' }, /non-zero, non-negative/],
    ['a negative port is rejected', { DIKASTES_HTTP_BIND_PORT: '-5' }, /non-zero, non-negative/],
    ['a port above 65535 is rejected at start-up', { DIKASTES_HTTP_BIND_PORT: '70000' }, /above 65535/],
    [
      'a hostname is not a bind address',
      { DIKASTES_HTTP_BIND_PORT: '80', DIKASTES_HTTP_BIND_ADDR: 'localhost' },
      /invalid HTTP bind address "localhost"/,
    ],
  ];
  it.each(errors)('%s', (_name, env, message) => {
    const result = terminateConfigFromEnv(env);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error).toMatch(message);
  });
});
