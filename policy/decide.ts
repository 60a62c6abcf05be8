// The ext_authz decision: Calico's Dikastes semantics (spec §4, §5), ingress only, with the
// deliberate differences listed in the README (Differences from Calico's Dikastes), plus a shadow evaluation of staged policies.
import type { PolicyStore } from './policy-store.js';
import { evaluateEndpoint } from './evaluate.js';
import type { Flow } from './flow.js';
import { buildRequestContext } from './request-context.js';
import { INTERNAL, PERMISSION_DENIED } from './verdict.js';
import type { Outcome, Verdict } from './verdict.js';

export type { Decision, StatusCode, Verdict, VerdictReason } from './verdict.js';
export { describeDecision } from './verdict.js';

// Dikastes answers INTERNAL with an empty message here (spec §4.1); we say why.
const NO_ENDPOINT_MESSAGE =
  "no workload endpoint in the policy store: Felix has not sent this pod's endpoint, or removed it";

function verdict(outcome: Outcome, staged: Verdict['staged']): Verdict {
  return {
    code: outcome.code,
    message: outcome.message,
    reason: outcome.reason,
    decidedBy: outcome.decidedBy,
    staged,
  };
}

function decideOrThrow(store: PolicyStore, flow: Flow): Verdict {
  const endpoint = store.endpoint;
  if (endpoint === null) {
    return {
      code: INTERNAL,
      message: NO_ENDPOINT_MESSAGE,
      reason: 'no-endpoint',
      decidedBy: null,
      staged: null,
    };
  }
  const built = buildRequestContext(flow, store);
  if (!built.ok) {
    return {
      code: PERMISSION_DENIED,
      message: built.message,
      reason: 'invalid-principal',
      decidedBy: null,
      staged: null,
    };
  }
  const enforced = evaluateEndpoint(store, endpoint, built.ctx, 'enforced');
  if (!endpoint.hasStaged) return verdict(enforced, null);
  const pending = evaluateEndpoint(store, endpoint, built.ctx, 'staged-as-enforced');
  return verdict(
    enforced,
    pending.code === enforced.code ? null : { code: pending.code, decidedBy: pending.decidedBy },
  );
}

/** Decides one Check against the store's current contents; never throws. */
export function decide(store: PolicyStore, flow: Flow): Verdict {
  try {
    return decideOrThrow(store, flow);
  } catch (err: unknown) {
    // Only a bug gets here. Fail closed with a reason rather than crash the server.
    const detail = err instanceof Error ? err.message : String(err);
    return {
      code: INTERNAL,
      message: `internal error while deciding: ${detail}`,
      reason: 'internal-error',
      decidedBy: null,
      staged: null,
    };
  }
}
