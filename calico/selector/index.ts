// Public API of Calico's label-selector language: parse once, then match labels quickly.

import type { Labels } from '../labels.js';
import type { SelectorNode } from './ast.js';
import { renderSelector } from './ast.js';
import { compileSelector } from './evaluate.js';
import { parseSelectorTree } from './parse.js';

export type { LabelSetOp, LabelValueOp, SelectorNode } from './ast.js';
export { compareCodePoints, renderSelector } from './ast.js';
export { compileSelector, evaluateSelector } from './evaluate.js';
export type { LabelPredicate } from './evaluate.js';
export { MAX_NESTING_DEPTH, parseSelectorTree } from './parse.js';
export { MAX_LABEL_LENGTH } from './tokenize.js';

export interface Selector {
  matches(labels: Labels): boolean;
  /** The text as given. */
  readonly source: string;
  /** Calico's canonical String() form; equal selectors render equally. */
  toString(): string;
  /** True for an empty selector or all() (also `(all())`, `!!all()`). */
  readonly isAll: boolean;
  readonly root: SelectorNode;
}

export type SelectorParseResult = { ok: true; selector: Selector } | { ok: false; error: string };

/** Parses a selector. Never throws; a malformed selector gives `ok: false` with Calico-like reasons. */
export function parseSelector(text: string): SelectorParseResult {
  const parsed = parseSelectorTree(text);
  if (!parsed.ok) return parsed;
  return { ok: true, selector: selectorFromTree(text, parsed.root) };
}

/** Wraps an already parsed tree; `source` defaults to the canonical rendering. */
export function selectorFromTree(source: string | null, root: SelectorNode): Selector {
  const canonical = renderSelector(root);
  const matches = compileSelector(root);
  return {
    matches,
    source: source ?? canonical,
    toString: () => canonical,
    isAll: root.kind === 'all',
    root,
  };
}

export interface SelectorCache {
  parse(text: string): SelectorParseResult;
  readonly size: number;
}

/**
 * A bounded cache of parse results (failures too, since they are as deterministic), evicting the
 * least recently used entry. For hot callers that see the same few selectors on every request.
 */
export function createSelectorCache(maxEntries: number): SelectorCache {
  const entries = new Map<string, SelectorParseResult>();
  return {
    parse(text: string): SelectorParseResult {
      const hit = entries.get(text);
      if (hit !== undefined) {
        // Re-insert so Map order tracks recency.
        entries.delete(text);
        entries.set(text, hit);
        return hit;
      }
      const result = parseSelector(text);
      if (maxEntries <= 0) return result;
      if (entries.size >= maxEntries) {
        const oldest = entries.keys().next();
        if (oldest.done !== true) entries.delete(oldest.value);
      }
      entries.set(text, result);
      return result;
    },
    get size() {
      return entries.size;
    },
  };
}

export const DEFAULT_SELECTOR_CACHE_ENTRIES = 1024;

let sharedCache: SelectorCache | null = null;

/** parseSelector through a process-wide cache of DEFAULT_SELECTOR_CACHE_ENTRIES entries. */
export function parseSelectorCached(text: string): SelectorParseResult {
  sharedCache ??= createSelectorCache(DEFAULT_SELECTOR_CACHE_ENTRIES);
  return sharedCache.parse(text);
}
