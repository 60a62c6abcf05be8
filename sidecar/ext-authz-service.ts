// The envoy.service.auth.v3.Authorization/Check handler: flow (read from the request's bytes by
// check-request-wire.ts) → decide → the encoded CheckResponse. Never throws into the transport:
// every request gets an answer, and each denial one decision-log line.
import type { CheckRequest__Output } from '../proto/gen/envoy/service/auth/v3/CheckRequest.js';
import type { Logger } from '../daemon/log.js';
import { decide, type Verdict } from '../policy/decide.js';
import { flowFromCheckRequest, type Flow } from '../policy/flow.js';
import type { PolicyStore } from '../policy/policy-store.js';
import { CheckResponseEncoder } from './check-response.js';
import type { CheckResult, SidecarMetrics } from './metrics.js';

export interface CheckServiceOptions {
  /** The live store, or null before the first InSync. */
  readonly store: () => PolicyStore | null;
  readonly denyDetails: boolean;
  readonly log: Logger;
  readonly metrics: SidecarMetrics | null;
}

const NOT_IN_SYNC: Verdict = {
  code: 13,
  message: 'dikastes has not received policy yet: the PolicySync stream has not reached InSync',
  reason: 'not in sync with the policy source',
  decidedBy: null,
  staged: null,
};

const RESULT_BY_CODE: Readonly<Record<number, CheckResult>> = {
  0: 'allowed',
  7: 'denied',
  3: 'invalid_argument',
  13: 'internal',
};

/** Decides one request; also the in-process entry point for benchmarks. */
export function checkOnce(
  store: PolicyStore | null,
  req: CheckRequest__Output | null,
): { flow: Flow; verdict: Verdict } {
  const flow = flowFromCheckRequest(req);
  return { flow, verdict: checkFlow(store, flow) };
}

function checkFlow(store: PolicyStore | null, flow: Flow): Verdict {
  return store === null ? NOT_IN_SYNC : decide(store, flow);
}

const INTERNAL_ERROR: Verdict = {
  code: 13,
  message: 'internal error in dikastes',
  reason: 'internal error',
  decidedBy: null,
  staged: null,
};

function pathWithoutQuery(path: string | null): string | null {
  if (path === null) return null;
  const cut = path.search(/[?#]/);
  return cut === -1 ? path : path.slice(0, cut);
}

function logDecision(log: Logger, flow: Flow, verdict: Verdict): void {
  const d = verdict.decidedBy;
  log.info(
    {
      code: verdict.code,
      source: { principal: flow.source.principal, ip: flow.source.ip?.text ?? null, port: flow.source.port },
      destination: {
        principal: flow.destination.principal,
        ip: flow.destination.ip?.text ?? null,
        port: flow.destination.port,
      },
      method: flow.httpMethod,
      path: pathWithoutQuery(flow.httpPath),
      tier: d?.tier ?? null,
      policy: d?.policy ?? null,
      rule: d?.ruleIndex ?? null,
      reason: verdict.reason,
    },
    verdict.code === 7 ? 'request denied' : 'request failed',
  );
}

function logStagedDifference(log: Logger, flow: Flow, verdict: Verdict): void {
  const s = verdict.staged;
  if (s === null) return;
  log.info(
    {
      code: verdict.code,
      stagedCode: s.code,
      stagedTier: s.decidedBy?.tier ?? null,
      stagedPolicy: s.decidedBy?.policy ?? null,
      stagedRule: s.decidedBy?.ruleIndex ?? null,
      source: flow.source.principal,
      method: flow.httpMethod,
      path: pathWithoutQuery(flow.httpPath),
    },
    'staged policy would change this verdict',
  );
}

/** Answers one Check: its flow in, the serialized CheckResponse out. */
export type CheckHandler = (flow: Flow) => Buffer;

export function createCheckHandler(opts: CheckServiceOptions): CheckHandler {
  const encoder = new CheckResponseEncoder(opts.denyDetails);
  const metrics = opts.metrics;
  // Decision lines carry addresses, principals, a method and a path without its query, never a
  // credential: they skip the logger's redaction pass, which cost more than writing the line.
  const decisions = opts.log.child({}, { redact: [] });
  return (flow) => {
    const started = metrics === null ? 0 : performance.now();
    let verdict: Verdict;
    try {
      verdict = checkFlow(opts.store(), flow);
    } catch (err) {
      // A bug, not bad input: fail closed and say so.
      opts.log.error({ err }, 'check failed unexpectedly');
      verdict = INTERNAL_ERROR;
    }
    if (metrics !== null) {
      metrics.checks.record(RESULT_BY_CODE[verdict.code] ?? 'internal', (performance.now() - started) / 1000);
      if (verdict.staged !== null) metrics.stagedDifferences.inc();
    }
    if (verdict.code !== 0) logDecision(decisions, flow, verdict);
    if (verdict.staged !== null) logStagedDifference(decisions, flow, verdict);
    if (opts.log.isLevelEnabled('debug')) {
      opts.log.debug(
        { method: flow.httpMethod, path: pathWithoutQuery(flow.httpPath), code: verdict.code },
        'check',
      );
    }
    return encoder.encode(verdict);
  };
}
