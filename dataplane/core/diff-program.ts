// Two programs → one incremental nft transaction holding only what differs: chains whose rules
// changed are flushed and refilled, new chains added, set and map elements added and deleted one
// by one, and what is gone deleted once nothing refers to it. A change the incremental form cannot
// express safely (another table name, a set or base chain whose definition changed) falls back
// to the full replacement, which is just as atomic.
import type { Chain, Program, SetDef } from './program.js';
import {
  baseHookText,
  chainBlock,
  elementsText,
  renderProgram,
  ruleText,
  setTypeText,
  vmapElements,
} from './render-text.js';

function sameSetDef(a: SetDef, b: SetDef): boolean {
  return a.family === b.family && a.kind === b.kind && a.interval === b.interval;
}

function sameBase(a: Chain, b: Chain): boolean {
  if (a.base === null || b.base === null) return a.base === b.base;
  return baseHookText(a.base) === baseHookText(b.base);
}

const chainTexts = new WeakMap<Chain, string>();

function chainRulesText(c: Chain): string {
  let t = chainTexts.get(c);
  if (t === undefined) {
    t = c.rules.map(ruleText).join('\n');
    chainTexts.set(c, t);
  }
  return t;
}

function needsFullReplace(prev: Program, next: Program): boolean {
  if (prev.table !== next.table) return true;
  for (const [name, s] of next.sets) {
    const old = prev.sets.get(name);
    if (old !== undefined && !sameSetDef(old, s)) return true;
  }
  for (const [name, c] of next.chains) {
    const old = prev.chains.get(name);
    if (old !== undefined && !sameBase(old, c)) return true;
  }
  for (const name of next.maps.keys()) if (!prev.maps.has(name)) return true;
  return false;
}

function sortedDiff(
  prev: readonly string[],
  next: readonly string[],
): { added: string[]; removed: string[] } {
  const p = new Set(prev);
  const n = new Set(next);
  return { added: next.filter((e) => !p.has(e)), removed: prev.filter((e) => !n.has(e)) };
}

/** The incremental transaction from `prev` to `next`, or '' when they render the same. */
export function diffPrograms(prev: Program, next: Program): string {
  if (needsFullReplace(prev, next)) return renderProgram(next);
  const t = `inet ${next.table}`;
  const declare: string[] = [];
  const fill: string[] = [];
  const elementDeletes: string[] = [];
  const elements: string[] = [];
  const removals: string[] = [];

  // New sets (with their elements) and element changes of existing ones; deletions first,
  // since collapsed CIDRs may reappear as different intervals.
  for (const [name, s] of next.sets) {
    const old = prev.sets.get(name);
    if (old === undefined) {
      declare.push(`add set ${t} ${name} { type ${setTypeText(s)};${s.interval ? ' flags interval;' : ''} }`);
      if (s.elements.length > 0) elements.push(`add element ${t} ${name} ${elementsText(s.elements, '\t')}`);
      continue;
    }
    if (old.elements === s.elements) continue;
    const d = sortedDiff(old.elements, s.elements);
    if (d.removed.length > 0)
      elements.unshift(`delete element ${t} ${name} ${elementsText(d.removed, '\t')}`);
    if (d.added.length > 0) elements.push(`add element ${t} ${name} ${elementsText(d.added, '\t')}`);
  }

  // Chains: declare new ones first so every jump target exists, then refill changed ones.
  for (const [name, c] of next.chains) {
    const old = prev.chains.get(name);
    if (old === undefined) {
      declare.push(
        c.base === null ? `add chain ${t} ${name}` : `add chain ${t} ${name} { ${baseHookText(c.base)} }`,
      );
      if (c.rules.length > 0) fill.push(`table ${t} {`, ...chainBlock(c), '}');
      continue;
    }
    if (old === c || chainRulesText(old) === chainRulesText(c)) continue;
    fill.push(`flush chain ${t} ${name}`);
    if (c.rules.length > 0) fill.push(`table ${t} {`, ...chainBlock(c), '}');
  }

  // Dispatch maps: an interface whose target changed is deleted and added again.
  const mapDeletes: string[] = [];
  const mapAdds: string[] = [];
  for (const [name, m] of next.maps) {
    const old = prev.maps.get(name)!;
    const removed: string[] = [];
    const added: string[] = [];
    for (const [iface, chain] of old.elements) if (m.elements.get(iface) !== chain) removed.push(iface);
    for (const [iface, chain] of m.elements) if (old.elements.get(iface) !== chain) added.push(iface);
    if (removed.length > 0) {
      mapDeletes.push(
        `delete element ${t} ${name} ${elementsText(
          removed.sort().map((i) => `"${i}"`),
          '\t',
        )}`,
      );
    }
    if (added.length > 0)
      mapAdds.push(`add element ${t} ${name} ${elementsText(vmapElements(m, added.sort()), '\t')}`);
  }

  // What is gone: emptied first (its rules may jump elsewhere), then deleted, sets last.
  const goneChains = [...prev.chains.keys()].filter((n) => !next.chains.has(n));
  for (const name of goneChains) removals.push(`flush chain ${t} ${name}`);
  for (const name of goneChains) removals.push(`delete chain ${t} ${name}`);
  for (const name of prev.sets.keys()) if (!next.sets.has(name)) removals.push(`delete set ${t} ${name}`);
  for (const name of prev.maps.keys()) if (!next.maps.has(name)) removals.push(`delete map ${t} ${name}`);

  const all = [...declare, ...elementDeletes, ...elements, ...fill, ...mapDeletes, ...mapAdds, ...removals];
  return all.length === 0 ? '' : `${all.join('\n')}\n`;
}
