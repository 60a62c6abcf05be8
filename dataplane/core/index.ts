// The pure nftables renderer for alp-node's L3/L4 enforcement: see model.ts for the contract.
import { buildProgram } from './build-program.js';
import { diffPrograms } from './diff-program.js';
import type { DataplaneState } from './model.js';
import type { Program } from './program.js';
import { removeTableText, renderProgram } from './render-text.js';

export * from './model.js';
export type { Program } from './program.js';

// States are immutable, so the program built for one can be reused (renderChanges is usually
// called with the state the previous call produced).
const programs = new WeakMap<DataplaneState, Program>();

/** The program (chains, sets, maps) a state renders to; cached per state object. */
export function programOf(state: DataplaneState): Program {
  let p = programs.get(state);
  if (p === undefined) {
    p = buildProgram(state);
    programs.set(state, p);
  }
  return p;
}

/** One `nft -f` transaction that replaces our whole table atomically (whether or not it exists). */
export function renderFull(state: DataplaneState): string {
  return renderProgram(programOf(state));
}

/** One incremental transaction taking the kernel from `prev`'s table to `next`'s; '' if none needed. */
export function renderChanges(prev: DataplaneState, next: DataplaneState): string {
  if (prev === next) return '';
  return diffPrograms(programOf(prev), programOf(next));
}

/** One transaction that removes our table if it exists (and does nothing otherwise). */
export function renderRemoveTable(tableName: string): string {
  return removeTableText(tableName);
}

/** Input the renderer skipped or failed closed on, for the shell to log once per change. */
export function renderProblems(state: DataplaneState): readonly string[] {
  return programOf(state).problems;
}
