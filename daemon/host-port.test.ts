import { describe, expect, it } from 'vitest';
import { grpcListenTarget, parseHostPort } from './host-port.js';

describe('parseHostPort', () => {
  it.each([
    ['an IPv4 literal and a port', '127.0.0.1:9091', { host: '127.0.0.1', port: 9091 }],
    ['a bracketed IPv6 literal', '[::1]:9091', { host: '::1', port: 9091 }],
    ['an empty host means every interface', ':9091', { host: undefined, port: 9091 }],
    [
      'a DNS name, resolved when listening',
      'metrics.example.com:80',
      { host: 'metrics.example.com', port: 80 },
    ],
    ['port 0 asks the kernel for a free port', '127.0.0.1:0', { host: '127.0.0.1', port: 0 }],
    ['the highest port', 'localhost:65535', { host: 'localhost', port: 65535 }],
  ])('accepts %s', (_rule, text, expected) => {
    expect(parseHostPort(text)).toEqual(expected);
  });

  it.each([
    ['no port at all', 'nonsense'],
    ['a port above 65535', '127.0.0.1:65536'],
    ['a port that is not a number', '127.0.0.1:http'],
    ['an empty port', '127.0.0.1:'],
    ['an unbracketed IPv6 literal', '::1:80'],
    ['brackets around something that is not IPv6', '[127.0.0.1]:80'],
    ['a host with a space', 'my host:80'],
    ['a host with a slash', 'a/b:80'],
    ['a label starting with a hyphen', '-bad.example:80'],
  ])('rejects %s', (_rule, text) => {
    expect(parseHostPort(text)).toBeNull();
  });
});

describe('grpcListenTarget', () => {
  it.each([
    ['keeps an IPv4 literal', { host: '127.0.0.1', port: 1 }, '127.0.0.1:1'],
    ['brackets IPv6', { host: '::1', port: 2 }, '[::1]:2'],
    ['listens on every interface when no host is given', { host: undefined, port: 3 }, '[::]:3'],
    ['keeps a DNS name for grpc-js to resolve', { host: 'localhost', port: 4 }, 'localhost:4'],
  ])('%s', (_rule, addr, target) => {
    expect(grpcListenTarget(addr)).toBe(target);
  });
});
