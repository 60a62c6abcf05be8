// Verdict → ext_authz CheckResponse. Allowed requests carry only status OK, as with Dikastes.
// Unlike Dikastes, every other answer also carries a DeniedHttpResponse (403, a short body and an
// `x-alp-decision` header) so a policy deny and an error can be told apart in Envoy's access log;
// the reason is only put in the body when --deny-details is on.
import type { CheckResponse } from '../proto/gen/envoy/service/auth/v3/CheckResponse.js';
import type { Verdict } from './checker/decide.js';

export const DECISION_HEADER = 'x-alp-decision';

/** One human phrase for what decided: the rule, the tier default, or the error. */
export function describeVerdict(verdict: Verdict): string {
  const d = verdict.decidedBy;
  if (d === null) return verdict.message !== '' ? verdict.message : verdict.reason;
  switch (d.kind) {
    case 'policy-rule':
      return `rule ${d.ruleIndex} of policy ${d.policy} in tier ${d.tier}`;
    case 'end-of-tier':
      return `no policy in tier ${d.tier} matched (end-of-tier default)`;
    case 'profile-rule':
      return `rule ${d.ruleIndex} of profile ${d.policy}`;
    case 'no-profiles':
      return 'no policy decided and the endpoint has no profiles';
    case 'no-profile-matched':
      return 'no policy decided and no profile rule matched';
    default: {
      const never: never = d.kind;
      return String(never);
    }
  }
}

export function checkResponseFor(verdict: Verdict, denyDetails: boolean): CheckResponse {
  if (verdict.code === 0) return { status: { code: 0, message: '' } };
  const isPolicyDeny = verdict.code === 7;
  const decision = isPolicyDeny ? 'denied' : 'error';
  const summary = isPolicyDeny ? 'access denied by policy' : 'access denied: the policy check failed';
  const body = denyDetails ? `${summary}: ${describeVerdict(verdict)}\n` : `${summary}\n`;
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
