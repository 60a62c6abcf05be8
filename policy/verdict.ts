// What a Check decides: a google.rpc status code and message, and which rule decided it.

/** OK, INVALID_ARGUMENT, PERMISSION_DENIED, INTERNAL. */
export type StatusCode = 0 | 3 | 7 | 13;

export const OK = 0;
export const INVALID_ARGUMENT = 3;
export const PERMISSION_DENIED = 7;
export const INTERNAL = 13;

/** The tier name Calico reports for profile decisions. */
export const PROFILE_TIER = '__PROFILE__';

export interface Decision {
  readonly kind: 'policy-rule' | 'profile-rule' | 'end-of-tier' | 'no-profiles' | 'no-profile-matched';
  readonly tier: string;
  /** Rendered policy id (gnp/name, np/ns/name), a profile name, or `__PROFILE__`/"" for profile outcomes. */
  readonly policy: string;
  /** −1 when no rule decided (end of tier, no profiles). */
  readonly ruleIndex: number;
}

/** The short, stable words decide() puts in Verdict.reason, for logs and metrics. */
export type VerdictReason =
  | 'allowed'
  | 'denied'
  | 'no-endpoint'
  | 'invalid-principal'
  | 'missing-policy'
  | 'missing-ip-set'
  | 'invalid-http-path'
  | 'bad-action'
  | 'internal-error';

export interface Verdict {
  readonly code: StatusCode;
  /** Goes into CheckResponse.status.message ("" for allow and deny, as in Calico). */
  readonly message: string;
  /** Short, for logs: one of VerdictReason from decide(); callers may build verdicts of their own. */
  readonly reason: string;
  /** The rule or default that decided; null for errors and refusals before evaluation. */
  readonly decidedBy: Decision | null;
  /** Set only when evaluating staged policies as enforced would give another code. */
  readonly staged: { readonly code: StatusCode; readonly decidedBy: Decision | null } | null;
}

/** One evaluation's result before staged comparison. */
export interface Outcome {
  readonly code: StatusCode;
  readonly message: string;
  readonly reason: VerdictReason;
  readonly decidedBy: Decision | null;
}

/** One human phrase for what decided a verdict: the rule, the tier default, or the error. */
export function describeDecision(v: Verdict): string {
  const d = v.decidedBy;
  if (d === null) return v.message !== '' ? v.message : v.reason;
  switch (d.kind) {
    case 'policy-rule':
      return `tier ${d.tier}, policy ${d.policy}, rule ${d.ruleIndex}`;
    case 'end-of-tier':
      return `tier ${d.tier}: no policy matched (tier default action)`;
    case 'profile-rule':
      return `profile ${d.policy}, rule ${d.ruleIndex}`;
    case 'no-profiles':
      return 'no policy matched and the endpoint has no profiles';
    case 'no-profile-matched':
      return 'no policy or profile rule matched';
    default: {
      const never: never = d.kind;
      return String(never);
    }
  }
}
