// The pure nftables renderer for alp-node's L3/L4 enforcement: see model.ts for the contract.
import { diffPrograms } from './diff-program.js';
import type { DataplaneState } from './model.js';
import { programOf } from './program-of.js';
import { removeTableText, renderProgram } from './render-text.js';

export * from './model.js';
export type { Program } from './program.js';
export { programOf } from './program-of.js';
export { parseRuleCounters, PROFILE_TIER } from './counters.js';
export type { CounterKind, RuleCounter } from './counters.js';
export { explainFlow } from './explain-flow.js';
export type { Decision, EndpointStep, FlowExplanation, FlowQuery } from './explain-flow.js';

/** One `nft -f` transaction that replaces our whole table atomically (whether or not it exists). */
export function renderFull(state: DataplaneState): string {
  return renderProgram(programOf(state));
}

/** One incremental transaction taking the kernel from `prev`'s table to `next`'s; '' if none needed. */
export function renderChanges(prev: DataplaneState, next: DataplaneState): string {
  if (prev === next) return '';
  const before = programOf(prev);
  return diffPrograms(before, programOf(next, prev));
}

/** One transaction that removes our table if it exists (and does nothing otherwise). */
export function renderRemoveTable(tableName: string): string {
  return removeTableText(tableName);
}

/** Input the renderer skipped or failed closed on, for the shell to log once per change. */
export function renderProblems(state: DataplaneState): readonly string[] {
  return programOf(state).problems;
}

export { enforcementConfigProblem } from './config-check.js';
export { stateFromEndpointViews } from './from-endpoint-views.js';
export type { EndpointViewLike } from './from-endpoint-views.js';
