// The program a state renders to, built once per state object (states are immutable). Built
// from the previous state's program when one is given, else from the program built last, so
// unchanged chains are reused: reuse is decided by each chain's inputs (program.ts: Chain.source and
// Chain.key), never by which program it came from, so any earlier program is a safe base.
import { buildProgram } from './build-program.js';
import type { DataplaneState } from './model.js';
import type { Program } from './program.js';

const programs = new WeakMap<DataplaneState, Program>();
let latest: Program | null = null;

export function programOf(state: DataplaneState, prev: DataplaneState | null = null): Program {
  let p = programs.get(state);
  if (p === undefined) {
    const base = (prev === null ? null : programs.get(prev)) ?? latest;
    p = buildProgram(state, base);
    programs.set(state, p);
    latest = p;
  }
  return p;
}
