import { describe, expect, it } from 'vitest';
import { startTerminateServer, terminateConfigFromEnv } from './terminate.js';

describe('terminateConfigFromEnv', () => {
  const cases: [string, Record<string, string>, unknown][] = [
    ['no port: no endpoint', {}, { ok: true, bind: null }],
    ['empty port: no endpoint', { DIKASTES_HTTP_BIND_PORT: '' }, { ok: true, bind: null }],
    [
      'unlike Calico, a port alone binds 127.0.0.1 only',
      { DIKASTES_HTTP_BIND_PORT: '7777' },
      { ok: true, bind: { port: 7777, address: '127.0.0.1' } },
    ],
    [
      'an empty address is the same default',
      { DIKASTES_HTTP_BIND_PORT: '7777', DIKASTES_HTTP_BIND_ADDR: '' },
      { ok: true, bind: { port: 7777, address: '127.0.0.1' } },
    ],
    [
      'every interface only when asked for',
      { DIKASTES_HTTP_BIND_PORT: '7777', DIKASTES_HTTP_BIND_ADDR: '0.0.0.0' },
      { ok: true, bind: { port: 7777, address: '0.0.0.0' } },
    ],
    [
      'leading zeros and + parse as Go Atoi does',
      { DIKASTES_HTTP_BIND_PORT: '+0080' },
      { ok: true, bind: { port: 80, address: '127.0.0.1' } },
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

describe('startTerminateServer', () => {
  /** Whether an HTTP request to `host` reaches the endpoint (any answer counts). */
  async function answersOn(host: string, port: number): Promise<boolean> {
    try {
      return (await fetch(`http://${host}:${port}/other`)).status === 404;
    } catch {
      return false;
    }
  }

  it.each([
    ['by default listens on 127.0.0.1 only, not on other local addresses', {}, '127.0.0.1', false],
    [
      'listens on every IPv4 interface with DIKASTES_HTTP_BIND_ADDR=0.0.0.0',
      { DIKASTES_HTTP_BIND_ADDR: '0.0.0.0' },
      '0.0.0.0',
      true,
    ],
  ])('%s', async (_rule, env, address, reachableOnOtherAddress) => {
    const config = terminateConfigFromEnv({ DIKASTES_HTTP_BIND_PORT: '1', ...env });
    if (!config.ok || config.bind === null) throw new Error('expected an endpoint');
    // The address as configured, on a port the kernel picks.
    const server = await startTerminateServer({ ...config.bind, port: 0 }, () => undefined);
    try {
      expect(server.address).toBe(address);
      expect(await answersOn('127.0.0.1', server.port)).toBe(true);
      // 127.0.0.2 is just as local, but a listener bound to 127.0.0.1 does not take its connections.
      expect(await answersOn('127.0.0.2', server.port)).toBe(reachableOnOtherAddress);
    } finally {
      await server.close();
    }
  });
});
