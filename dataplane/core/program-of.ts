// The program a state renders to, built once per state object (states are immutable). Built
// from the previous state's program when one is given, so unchanged chains are reused.
import { buildProgram } from './build-program.js';
import type { DataplaneState } from './model.js';
import type { Program } from './program.js';

const programs = new WeakMap<DataplaneState, Program>();

export function programOf(state: DataplaneState, prev: DataplaneState | null = null): Program {
  let p = programs.get(state);
  if (p === undefined) {
    const base = prev === null ? null : (programs.get(prev) ?? null);
    p = buildProgram(state, base);
    programs.set(state, p);
  }
  return p;
}
