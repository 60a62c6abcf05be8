// The CheckResponses the sidecar sends, written by check-response-wire.ts, against proto-loader:
// for every kind of verdict (with and without --deny-details, unicode and long messages) the bytes
// are protobufjs's own for checkResponseFor's object, and proto-loader decodes them back to that
// object (with its defaults filled in).
import { describe, expect, it } from 'vitest';
import { loadExtAuthz } from '../proto/load.js';
import type { CheckResponse } from '../proto/gen/envoy/service/auth/v3/CheckResponse.js';
import type { Verdict } from '../policy/decide.js';
import { seededRandom } from '../testing/seeded-random.js';
import { checkResponseFor, CheckResponseEncoder, DECISION_HEADER } from './check-response.js';
import { encodeCheckResponse } from './check-response-wire.js';

const check = () => loadExtAuthz().envoy.service.auth.v3.Authorization.service.Check;
const viaProtobufjs = (r: CheckResponse): Buffer => check().responseSerialize(r);

const WORDS = ['', 'a', 'é', '🙂', '中文', 'tier', 'x'.repeat(39), 'y'.repeat(40), 'z'.repeat(130)];

function verdict(code: Verdict['code'], message: string, decidedBy: Verdict['decidedBy']): Verdict {
  return { code, message, reason: 'denied', decidedBy, staged: null };
}

const VERDICTS: Verdict[] = [
  verdict(0, '', { kind: 'policy-rule', tier: 'default', policy: 'gnp/allow', ruleIndex: 0 }),
  verdict(7, '', { kind: 'policy-rule', tier: 'sécurité', policy: 'np/ns/拒否', ruleIndex: 3 }),
  verdict(7, '', { kind: 'end-of-tier', tier: 'default', policy: '', ruleIndex: -1 }),
  verdict(7, '', { kind: 'profile-rule', tier: '__PROFILE__', policy: 'kns.default', ruleIndex: 0 }),
  verdict(7, '', { kind: 'no-profiles', tier: '', policy: '', ruleIndex: -1 }),
  verdict(7, '', { kind: 'no-profile-matched', tier: '', policy: '', ruleIndex: -1 }),
  verdict(13, 'dikastes has not received policy yet: the PolicySync stream has not reached InSync', null),
  verdict(3, 'invalid principal "spiffe://cluster.local/ns/é/sa/🙂"', null),
  verdict(3, 'p'.repeat(300), null),
  verdict(13, '', null),
];

/** checkResponseFor's object with the defaults proto-loader's decoding fills in. */
function withDefaults(r: CheckResponse): unknown {
  const status = { code: 0, message: '', details: [], ...r.status };
  if (r.denied_response == null) return { status, dynamic_metadata: null };
  const d = r.denied_response;
  return {
    status,
    denied_response: {
      status: d.status,
      headers: (d.headers ?? []).map((h) => ({
        header: { raw_value: Buffer.alloc(0), ...h.header },
        append: null,
        append_action: h.append_action,
        keep_empty_value: false,
      })),
      body: d.body,
    },
    http_response: 'denied_response',
    dynamic_metadata: null,
  };
}

describe('encodeCheckResponse', () => {
  it('writes protobufjs’s bytes for every verdict, which proto-loader decodes to checkResponseFor’s object', () => {
    for (const v of VERDICTS) {
      for (const denyDetails of [false, true]) {
        const response = checkResponseFor(v, denyDetails);
        const bytes = encodeCheckResponse(response);
        const label = `${v.code} ${v.message} ${denyDetails}`;
        expect(bytes, label).not.toBeNull();
        expect(bytes!.toString('hex'), label).toBe(viaProtobufjs(response).toString('hex'));
        expect(check().responseDeserialize(bytes!), label).toStrictEqual(withDefaults(response));
      }
    }
  });

  it('denies with 403, the decision header and, with --deny-details, the deciding rule in the body', () => {
    const v = VERDICTS[1]!;
    const decoded = check().responseDeserialize(encodeCheckResponse(checkResponseFor(v, true))!);
    expect(decoded.status).toMatchObject({ code: 7 });
    expect(decoded.denied_response?.status?.code).toBe('Forbidden');
    expect(decoded.denied_response?.headers).toMatchObject([
      { header: { key: DECISION_HEADER, value: 'denied' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' },
    ]);
    expect(decoded.denied_response?.body).toBe(
      'access denied by policy: tier sécurité, policy np/ns/拒否, rule 3\n',
    );
  });

  it('on 2,000 verdicts with random unicode messages and rules: protobufjs’s bytes', () => {
    const rnd = seededRandom(3);
    const text = () => Array.from({ length: rnd.int(4) }, () => rnd.pick(WORDS)).join('');
    for (let i = 0; i < 2_000; i++) {
      const code = rnd.pick([0, 3, 7, 13] as const);
      const v = verdict(
        code,
        text(),
        rnd.int(3) === 0
          ? null
          : { kind: 'policy-rule', tier: text(), policy: text(), ruleIndex: rnd.int(300) },
      );
      const response = checkResponseFor(v, rnd.int(2) === 0);
      expect(encodeCheckResponse(response)?.toString('hex'), JSON.stringify(v)).toBe(
        viaProtobufjs(response).toString('hex'),
      );
    }
  });

  it('writes the other values protobufjs takes: negative codes, numbers for enums, empty lists', () => {
    const responses: CheckResponse[] = [
      { status: { code: -1, message: 'm', details: [] } },
      { status: {}, denied_response: { status: { code: 503 }, headers: [], body: '' } },
      { denied_response: { headers: [{ header: {}, append_action: 1, keep_empty_value: true }] } },
      {},
    ];
    for (const r of responses) expect(encodeCheckResponse(r)).toEqual(viaProtobufjs(r));
  });

  it('leaves to proto-loader what it does not write: lone surrogates, unknown enum names, other fields', () => {
    const loneSurrogate = checkResponseFor(verdict(3, 'bad \ud800 path', null), false);
    expect(encodeCheckResponse(loneSurrogate)).toBeNull();
    expect(encodeCheckResponse({ denied_response: { status: { code: 'Teapot' as 'OK' } } })).toBeNull();
    expect(encodeCheckResponse({ ok_response: {} })).toBeNull();
    expect(encodeCheckResponse({ status: { code: 1.5 } })).toBeNull();
    expect(
      encodeCheckResponse({ denied_response: { headers: [{ header: { raw_value: Buffer.from('x') } }] } }),
    ).toBeNull();
    // The encoder still answers, with proto-loader's bytes.
    const encoder = new CheckResponseEncoder(false);
    expect(encoder.encode(verdict(3, 'bad \ud800 path', null))).toEqual(viaProtobufjs(loneSurrogate));
  });
});

describe('CheckResponseEncoder', () => {
  it('answers each verdict with checkResponseFor’s object serialized by protobufjs', () => {
    for (const denyDetails of [false, true]) {
      const encoder = new CheckResponseEncoder(denyDetails);
      for (const v of [...VERDICTS, ...VERDICTS]) {
        expect(encoder.encode(v)).toEqual(viaProtobufjs(checkResponseFor(v, denyDetails)));
      }
    }
  });
});
