// The program a state renders to, built once per state object: states are immutable, and the
// shell usually renders changes from the state the previous call produced.
import { buildProgram } from './build-program.js';
import type { DataplaneState } from './model.js';
import type { Program } from './program.js';

const programs = new WeakMap<DataplaneState, Program>();

export function programOf(state: DataplaneState): Program {
  let p = programs.get(state);
  if (p === undefined) {
    p = buildProgram(state);
    programs.set(state, p);
  }
  return p;
}
