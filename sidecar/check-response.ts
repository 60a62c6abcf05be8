// Verdict → ext_authz CheckResponse. Allowed requests carry only status OK, as with Dikastes.
// Unlike Dikastes, every other answer also carries a DeniedHttpResponse (403, a short body and an
// `x-alp-decision` header) so a policy deny and an error can be told apart in Envoy's access log;
// the reason is only put in the body when --deny-details is on.
import type { CheckResponse } from '../proto/gen/envoy/service/auth/v3/CheckResponse.js';
import { loadExtAuthz } from '../proto/load.js';
import { encodeCheckResponse } from './check-response-wire.js';
import { describeDecision, type Verdict } from '../policy/decide.js';

export const DECISION_HEADER = 'x-alp-decision';

export function checkResponseFor(verdict: Verdict, denyDetails: boolean): CheckResponse {
  if (verdict.code === 0) return { status: { code: 0, message: '' } };
  const isPolicyDeny = verdict.code === 7;
  const decision = isPolicyDeny ? 'denied' : 'error';
  const summary = isPolicyDeny ? 'access denied by policy' : 'access denied: the policy check failed';
  const body = denyDetails ? `${summary}: ${describeDecision(verdict)}\n` : `${summary}\n`;
  return {
    status: { code: verdict.code, message: verdict.message },
    denied_response: {
      status: { code: 'Forbidden' },
      headers: [
        { header: { key: DECISION_HEADER, value: decision }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' },
      ],
      body,
    },
  };
}

const MAX_CACHED_ANSWERS = 256;

/**
 * The answer's bytes: written by check-response-wire.ts, which covers what checkResponseFor makes
 * without making protobufjs generate code; through proto-loader for anything it leaves.
 */
function serialize(response: CheckResponse): Buffer {
  return (
    encodeCheckResponse(response) ??
    loadExtAuthz().envoy.service.auth.v3.Authorization.service.Check.responseSerialize(response)
  );
}

/**
 * Verdicts to serialized CheckResponses. The answers repeat (OK, a policy deny, a few failure
 * messages), so each distinct one is serialized once and its bytes reused; with --deny-details
 * the body names the deciding rule, so the cache is bounded and starts over when full.
 */
export class CheckResponseEncoder {
  readonly #ok: Buffer;
  readonly #answers = new Map<string, Buffer>();

  constructor(private readonly denyDetails: boolean) {
    // What checkResponseFor gives every allowed verdict.
    this.#ok = serialize({ status: { code: 0, message: '' } });
  }

  encode(verdict: Verdict): Buffer {
    if (verdict.code === 0) return this.#ok;
    const key = this.denyDetails
      ? `${verdict.code}\u0000${verdict.message}\u0000${describeDecision(verdict)}`
      : `${verdict.code}\u0000${verdict.message}`;
    let bytes = this.#answers.get(key);
    if (bytes === undefined) {
      bytes = serialize(checkResponseFor(verdict, this.denyDetails));
      if (this.#answers.size >= MAX_CACHED_ANSWERS) this.#answers.clear();
      this.#answers.set(key, bytes);
    }
    return bytes;
  }
}
