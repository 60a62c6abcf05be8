// Small builders shared by the chain builders.
import { quoteSafe } from './names.js';
import { DROP_LOG_RATE_PER_SECOND } from './policy-rules.js';
import type { Match, Rule, RuleOrigin } from './program.js';

export const PLUMBING: RuleOrigin = { kind: 'plumbing' };

export function rule(
  matches: readonly Match[],
  statements: Rule['statements'],
  verdict: Rule['verdict'],
  origin: RuleOrigin = PLUMBING,
  comment: string | null = null,
): Rule {
  return { matches, statements, verdict, comment, origin };
}

/** A rate-limited log rule followed by a counted drop, both under the same matches. */
export function loggedDrop(
  matches: readonly Match[],
  prefix: string,
  origin: RuleOrigin,
  comment: string,
): Rule[] {
  return [
    rule(
      [...matches, { kind: 'limit', perSecond: DROP_LOG_RATE_PER_SECOND }],
      [{ kind: 'log', prefix: quoteSafe(`alp-drop ${prefix} `, 120) }],
      null,
      origin,
    ),
    rule(matches, [{ kind: 'counter' }], { kind: 'drop' }, origin, quoteSafe(comment, 120)),
  ];
}
