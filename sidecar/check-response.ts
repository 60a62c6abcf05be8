// Verdict → ext_authz CheckResponse. Allowed requests carry only status OK, as with Dikastes.
// Unlike Dikastes, every other answer also carries a DeniedHttpResponse (403, a short body and an
// `x-alp-decision` header) so a policy deny and an error can be told apart in Envoy's access log;
// the reason is only put in the body when --deny-details is on.
import type { CheckResponse } from '../proto/gen/envoy/service/auth/v3/CheckResponse.js';
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
