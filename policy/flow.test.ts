import { describe, expect, it } from 'vitest';
import type { CheckRequest__Output } from '../proto/gen/envoy/service/auth/v3/CheckRequest.js';
import { flowFromCheckRequest } from './flow.js';
import { request } from '../testing/wire-builders.js';
import { decodeCheckRequest } from '../testing/wire-round-trip.js';

const flowOf = (req: Parameters<typeof decodeCheckRequest>[0]) =>
  flowFromCheckRequest(decodeCheckRequest(req));

describe('flowFromCheckRequest (spec §5.1)', () => {
  it('reads addresses, ports, principals, labels and HTTP attributes', () => {
    const flow = flowOf({
      attributes: {
        source: {
          address: { socket_address: { address: '192.0.2.10', port_value: 45000 } },
          principal: 'spiffe://td/ns/a/sa/b',
          labels: { app: 'web' },
        },
        destination: {
          address: { socket_address: { address: '198.51.100.20', port_value: 8080, protocol: 'TCP' } },
        },
        request: { http: { method: 'GET', path: '/a?b' } },
      },
    });
    expect(flow.source.ip?.text).toBe('192.0.2.10');
    expect(flow.source.port).toBe(45000);
    expect(flow.source.principal).toBe('spiffe://td/ns/a/sa/b');
    expect([...flow.source.labels]).toEqual([['app', 'web']]);
    expect(flow.destination.ip?.text).toBe('198.51.100.20');
    expect(flow.destination.port).toBe(8080);
    expect(flow.destination.principal).toBe('');
    expect(flow.protocol).toBe(6);
    expect(flow.httpMethod).toBe('GET');
    expect(flow.httpPath).toBe('/a?b');
  });

  it.each([
    ['a null request gives every default', null],
    ['an undefined request gives every default', undefined],
    ['a request without attributes gives every default', { attributes: null } as CheckRequest__Output],
    ['an empty decoded request gives every default', decodeCheckRequest({})],
  ])('%s', (_why, req) => {
    const flow = flowFromCheckRequest(req);
    expect(flow).toMatchObject({ protocol: 6, httpMethod: null, httpPath: null });
    expect(flow.source).toMatchObject({ principal: '', ip: null, port: 0 });
    expect(flow.destination).toMatchObject({ principal: '', ip: null, port: 0 });
    expect(flow.source.labels.size).toBe(0);
  });

  it('a pipe address gives no IP, port 0, and TCP', () => {
    const flow = flowOf({
      attributes: {
        source: { address: { pipe: { path: '/tmp/s' } } },
        destination: { address: { pipe: { path: '/tmp/d' } } },
      },
    });
    expect(flow.source.ip).toBeNull();
    expect(flow.destination.port).toBe(0);
    expect(flow.protocol).toBe(6);
  });

  it('an Envoy internal address gives no IP', () => {
    const flow = flowOf({
      attributes: { destination: { address: { envoy_internal_address: { server_listener_name: 'x' } } } },
    });
    expect(flow.destination.ip).toBeNull();
  });

  it('a named port reads as port 0', () => {
    const flow = flowOf({
      attributes: {
        destination: { address: { socket_address: { address: '10.0.0.1', named_port: 'http' } } },
      },
    });
    expect(flow.destination.port).toBe(0);
    expect(flow.destination.ip?.text).toBe('10.0.0.1');
  });

  it.each([
    ['UDP on the destination gives 17', 'UDP', 17],
    ['TCP on the destination gives 6', 'TCP', 6],
    ['an unknown enum value gives 6', 7, 6],
  ] as const)('%s', (_why, protocol, want) => {
    expect(flowOf(request({ protocol })).protocol).toBe(want);
  });

  it('the protocol comes from the destination only', () => {
    const flow = flowOf({
      attributes: {
        source: { address: { socket_address: { address: '10.0.0.1', protocol: 'UDP' } } },
        destination: { address: { socket_address: { address: '10.0.0.2', protocol: 'TCP' } } },
      },
    });
    expect(flow.protocol).toBe(6);
  });

  it.each([
    ['a v4-mapped address reads as IPv4', '::ffff:1.2.3.4', '1.2.3.4'],
    ['IPv6 is canonicalised', '2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
    ['leading zeros are rejected as Go does', '010.0.0.1', null],
    ['a zone is rejected', 'fe80::1%eth0', null],
    ['brackets are rejected', '[::1]', null],
    ['an address with a port is rejected', '10.0.0.1:80', null],
    ['an empty address is no address', '', null],
  ])('%s', (_why, address, text) => {
    const flow = flowOf({ attributes: { source: { address: { socket_address: { address } } } } });
    expect(flow.source.ip?.text ?? null).toBe(text);
  });

  it('request.http with empty fields gives empty strings, not null', () => {
    const flow = flowOf({ attributes: { request: { http: {} } } });
    expect(flow.httpMethod).toBe('');
    expect(flow.httpPath).toBe('');
  });

  it('request without http gives null method and path', () => {
    const flow = flowOf({ attributes: { request: {} } });
    expect(flow.httpMethod).toBeNull();
    expect(flow.httpPath).toBeNull();
  });
});
