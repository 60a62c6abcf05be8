// The IP-set fast path of policy-sync-wire.ts against @grpc/proto-loader on the same .proto: for
// generated messages and damaged bytes, whatever the fast path returns equals proto-loader's
// decoding, it returns null wherever proto-loader refuses, and it does take the plain messages.
import { describe, expect, it } from 'vitest';
import { loadFelix } from '../proto/load.js';
import type { ToDataplane } from '../proto/gen/felix/ToDataplane.js';
import { seededRandom, type SeededRandom } from '../testing/seeded-random.js';
import { parseIp } from '../calico/ip.js';
import { applyUpdate } from '../policy/apply-update.js';
import { StoreState } from '../policy/store-state.js';
import { decodeIpSetMessage } from './policy-sync-wire.js';

const sync = () => loadFelix().felix.PolicySync.service.Sync;

function viaProtoLoader(bytes: Buffer): unknown {
  try {
    return JSON.parse(JSON.stringify(sync().responseDeserialize(bytes))) as unknown;
  } catch {
    return 'refused';
  }
}

const MEMBERS = ['10.0.0.0/8', '192.0.2.1/32', '2001:db8::/48', '', 'é', 'x'.repeat(200), '10.1.2.3,tcp:80'];

function pick<T>(rnd: SeededRandom, xs: readonly T[]): T {
  return xs[rnd.int(xs.length)]!;
}

function members(rnd: SeededRandom): string[] {
  return Array.from({ length: rnd.int(6) }, () => pick(rnd, MEMBERS));
}

function generated(rnd: SeededRandom): ToDataplane {
  const seq = rnd.int(3) === 0 ? {} : { sequence_number: rnd.int(3) === 0 ? 2 ** 40 + 3 : rnd.int(1000) };
  switch (rnd.int(5)) {
    case 0:
    case 1:
      return {
        ...seq,
        ipset_update: {
          id: pick(rnd, ['', 's:1', 'é']),
          members: members(rnd),
          type: pick(rnd, ['IP', 'IP_AND_PORT', 'NET'] as const),
        },
      };
    case 2:
      return {
        ...seq,
        ipset_delta_update: { id: 's:2', added_members: members(rnd), removed_members: members(rnd) },
      };
    case 3:
      return { ...seq, ipset_remove: { id: 's:3' } };
    default:
      return { ...seq, in_sync: {} };
  }
}

function damaged(rnd: SeededRandom, bytes: Buffer): Buffer {
  const out = Buffer.from(bytes);
  switch (rnd.int(3)) {
    case 0:
      return out.subarray(0, rnd.int(out.length + 1));
    case 1:
      if (out.length > 0) out[rnd.int(out.length)] = rnd.int(256);
      return out;
    default:
      return Buffer.concat([out, Buffer.from([rnd.int(256), rnd.int(256), rnd.int(256)])]);
  }
}

describe('decodeIpSetMessage', () => {
  it('takes plain IP-set updates and deltas, and gives what proto-loader gives', () => {
    const update = sync().responseSerialize({
      sequence_number: 7,
      ipset_update: { id: 's:a', members: ['10.0.0.0/8', '2001:db8::/32'], type: 'NET' },
    });
    const fast = decodeIpSetMessage(update);
    expect(fast).not.toBeNull();
    expect(JSON.parse(JSON.stringify(fast))).toEqual(viaProtoLoader(update));
    const delta = sync().responseSerialize({
      ipset_delta_update: { id: 's:a', added_members: ['10.1.0.0/16'], removed_members: ['10.0.0.0/8'] },
    });
    expect(JSON.parse(JSON.stringify(decodeIpSetMessage(delta)))).toEqual(viaProtoLoader(delta));
  });

  it('leaves other payloads, undeclared enum values and long varints to proto-loader', () => {
    expect(decodeIpSetMessage(sync().responseSerialize({ in_sync: {} }))).toBeNull();
    expect(decodeIpSetMessage(sync().responseSerialize({ ipset_remove: { id: 'x' } }))).toBeNull();
    // IPSetUpdate{type = 5}: a number proto-loader passes through.
    expect(decodeIpSetMessage(Buffer.from([0x12, 0x02, 0x18, 0x05]))).toBeNull();
    // sequence_number = 2^63 - 1 needs ten varint bytes.
    const big = Buffer.from([0x78, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0x12, 0x00]);
    expect(decodeIpSetMessage(big)).toBeNull();
    expect(decodeIpSetMessage(Buffer.alloc(0))).toBeNull();
  });

  it('on 20,000 generated and damaged messages: equal to proto-loader whenever it answers', () => {
    const rnd = seededRandom(12);
    let taken = 0;
    for (let i = 0; i < 20_000; i++) {
      const bytes = sync().responseSerialize(generated(rnd));
      const input = i % 2 === 0 ? bytes : damaged(rnd, bytes);
      const fast = decodeIpSetMessage(input);
      if (fast === null) continue;
      taken++;
      expect(JSON.parse(JSON.stringify(fast)), `message ${i}: ${input.toString('hex')}`).toEqual(
        viaProtoLoader(input),
      );
    }
    expect(taken).toBeGreaterThan(5_000);
  });
});

describe('a store fed by decodeIpSetMessage', () => {
  it('holds the same sets, members and warnings as one fed by proto-loader', () => {
    const rnd = seededRandom(5);
    const odd = ['2001:db8::/48', '::ffff:10.0.0.0/104', '010.0.0.1/32', 'not-a-cidr', 'é/8', '10.0.0.1', ''];
    const member = () =>
      rnd.int(4) === 0
        ? pick(rnd, odd)
        : `10.${rnd.int(4)}.${rnd.int(256)}.${rnd.int(256)}/${24 + rnd.int(9)}`;
    const messages: ToDataplane[] = [];
    for (let i = 0; i < 60; i++) {
      const type = pick(rnd, ['NET', 'NET', 'IP', 'IP_AND_PORT'] as const);
      const members = Array.from({ length: rnd.int(40) }, () =>
        type === 'IP_AND_PORT' ? '10.0.0.1,tcp:80' : member(),
      );
      messages.push({ ipset_update: { id: `s:${i}`, type, members } });
      messages.push({
        ipset_delta_update: {
          id: `s:${i}`,
          added_members: [member(), member()],
          removed_members: [member()],
        },
      });
    }
    const viaProto = new StoreState();
    const viaWire = new StoreState();
    for (const msg of messages) {
      const bytes = sync().responseSerialize(msg);
      const fast = decodeIpSetMessage(bytes);
      expect(fast).not.toBeNull();
      expect(applyUpdate(viaWire, fast!)).toEqual(applyUpdate(viaProto, sync().responseDeserialize(bytes)));
    }
    const probes = ['10.0.0.1', '10.1.2.3', '10.3.255.254', '192.0.2.1', '2001:db8::1'].map((t) =>
      parseIp(t)!,
    );
    for (let i = 0; i < 60; i++) {
      const a = viaProto.ipSets.get(`s:${i}`)!;
      const b = viaWire.ipSets.get(`s:${i}`)!;
      expect(b.size).toBe(a.size);
      for (const ip of probes) expect(b.containsIp(ip)).toBe(a.containsIp(ip));
    }
  });
});
