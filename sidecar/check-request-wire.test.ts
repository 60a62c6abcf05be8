// The wire decoder of check-request-wire.ts against @grpc/proto-loader on the same .proto: on
// generated CheckRequests and on damaged bytes, a message proto-loader decodes gives the same
// Flow, and the decoder refuses only what proto-loader refuses too.
import { describe, expect, it } from 'vitest';
import { loadExtAuthz } from '../proto/load.js';
import type { CheckRequest } from '../proto/gen/envoy/service/auth/v3/CheckRequest.js';
import { flowFromCheckRequest, type Flow } from '../policy/flow.js';
import { seededRandom, type SeededRandom } from '../testing/seeded-random.js';
import { flowFromCheckRequestBytes } from './check-request-wire.js';

const method = () => loadExtAuthz().envoy.service.auth.v3.Authorization.service.Check;

function comparable(flow: Flow): unknown {
  const peer = (p: Flow['source']) => ({
    principal: p.principal,
    ip: p.ip?.text ?? null,
    port: p.port,
    labels: [...p.labels.entries()],
  });
  return { ...flow, source: peer(flow.source), destination: peer(flow.destination) };
}

type Outcome = { ok: true; flow: unknown } | { ok: false };

function viaProtoLoader(bytes: Buffer): Outcome {
  try {
    return { ok: true, flow: comparable(flowFromCheckRequest(method().requestDeserialize(bytes))) };
  } catch {
    return { ok: false };
  }
}

function viaWire(bytes: Buffer): Outcome {
  try {
    return { ok: true, flow: comparable(flowFromCheckRequestBytes(bytes)) };
  } catch {
    return { ok: false };
  }
}

const WORDS = [
  '',
  'a',
  'app',
  'é',
  '/admin',
  '/x?y=1',
  'GET',
  'POST',
  '__proto__',
  'constructor',
  '10.0.0.1',
];
const ADDRESSES = [
  '10.1.2.3',
  '2001:db8::1',
  '::ffff:10.0.0.1',
  '',
  'not-an-ip',
  '010.0.0.1',
  '1.2.3.4%eth0',
];

function maybe<T>(rand: SeededRandom, make: () => T): T | undefined {
  return rand.int(3) === 0 ? undefined : make();
}

function randomPeer(rand: SeededRandom): Record<string, unknown> {
  const labels: Record<string, string> = {};
  for (let i = rand.int(4); i > 0; i--) labels[rand.pick(WORDS)] = rand.pick(WORDS);
  const address = rand.int(5);
  return {
    principal: maybe(rand, () => rand.pick(['spiffe://cluster.local/ns/a/sa/b', 'x', ''])),
    service: maybe(rand, () => rand.pick(WORDS)),
    certificate: maybe(rand, () => rand.pick(WORDS)),
    labels,
    address:
      address === 0
        ? undefined
        : address === 1
          ? { pipe: { path: '/tmp/x', mode: 7 } }
          : address === 2
            ? { envoy_internal_address: { server_listener_name: 'l' } }
            : {
                socket_address: {
                  address: maybe(rand, () => rand.pick(ADDRESSES)),
                  protocol: maybe(rand, () => rand.pick(['TCP', 'UDP'])),
                  ...(rand.int(3) === 0
                    ? { named_port: 'http' }
                    : { port_value: maybe(rand, () => rand.int(70000)) }),
                  resolver_name: maybe(rand, () => 'r'),
                },
              },
  };
}

function randomRequest(rand: SeededRandom): CheckRequest {
  const headers: Record<string, string> = {};
  for (let i = rand.int(6); i > 0; i--) headers[rand.pick(WORDS)] = rand.pick(WORDS);
  return {
    attributes: maybe(rand, () => ({
      source: maybe(rand, () => randomPeer(rand)),
      destination: maybe(rand, () => randomPeer(rand)),
      request: maybe(rand, () => ({
        time: { seconds: 1, nanos: 2 },
        http: maybe(rand, () => ({
          id: 'id',
          method: maybe(rand, () => rand.pick(WORDS)),
          path: maybe(rand, () => rand.pick(WORDS)),
          headers,
          host: 'h',
          size: rand.int(1000),
          raw_body: Buffer.from('body'),
        })),
      })),
      context_extensions: { k: rand.pick(WORDS) },
      tls_session: maybe(rand, () => ({ sni: 'sni' })),
    })),
  } as CheckRequest;
}

function damage(bytes: Buffer, rand: SeededRandom): Buffer {
  const out = [...bytes];
  for (let e = 1 + rand.int(3); e > 0; e--) {
    const at = rand.int(out.length + 1);
    switch (rand.int(4)) {
      case 0:
        out.splice(at, 1 + rand.int(4));
        break;
      case 1:
        out.splice(at, 0, rand.int(256));
        break;
      case 2:
        if (at < out.length) out[at] = rand.int(256);
        break;
      default:
        out.length = at; // truncation
    }
  }
  return Buffer.from(out);
}

describe('flowFromCheckRequestBytes', () => {
  it('gives the Flow proto-loader gives, on 3,000 generated CheckRequests', () => {
    const rand = seededRandom(11);
    for (let n = 0; n < 3_000; n++) {
      const bytes = method().requestSerialize(randomRequest(rand));
      const want = viaProtoLoader(bytes);
      expect(want.ok).toBe(true);
      expect(viaWire(bytes), `request ${n}: ${bytes.toString('hex')}`).toEqual(want);
    }
  });

  it('on 20,000 damaged messages: same Flow whenever proto-loader decodes, refuses only what it refuses', () => {
    const rand = seededRandom(12);
    let refusedByBoth = 0;
    for (let n = 0; n < 20_000; n++) {
      const bytes = damage(method().requestSerialize(randomRequest(rand)), rand);
      const want = viaProtoLoader(bytes);
      const got = viaWire(bytes);
      const hex = bytes.toString('hex');
      if (want.ok) expect(got, `message ${n}: ${hex}`).toEqual(want);
      else if (!got.ok) refusedByBoth++;
      // (proto-loader refusing what the decoder accepts is allowed: a damaged field it skips.)
    }
    expect(refusedByBoth).toBeGreaterThan(1_000); // the damage did reach the fields we read
  });

  it('reads repeated fields and oneofs as proto-loader: last peer wins, a named port means port 0', () => {
    const enc = method().requestSerialize;
    const a = enc({ attributes: { source: { principal: 'first' } } });
    const b = enc({
      attributes: {
        source: {
          principal: 'second',
          address: { socket_address: { address: '10.0.0.1', port_value: 80, named_port: 'http' } },
        },
      },
    });
    const both = Buffer.concat([a, b]);
    expect(viaWire(both)).toEqual(viaProtoLoader(both));
    const flow = flowFromCheckRequestBytes(both);
    expect(flow.source.principal).toBe('second');
    expect(flow.source.port).toBe(0);
  });

  it('reads UDP from the destination socket address and TCP otherwise, as flowFromCheckRequest does', () => {
    const enc = method().requestSerialize;
    const udp = enc({ attributes: { destination: { address: { socket_address: { protocol: 'UDP' } } } } });
    expect(flowFromCheckRequestBytes(udp).protocol).toBe(17);
    expect(flowFromCheckRequestBytes(Buffer.alloc(0)).protocol).toBe(6);
    expect(flowFromCheckRequestBytes(Buffer.alloc(0)).httpMethod).toBeNull();
  });
});
