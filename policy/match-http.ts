// HTTP method and path clauses of a rule (spec §5.8). Paths are compared as normalised byte
// strings (the UTF-8 bytes Go would compare): rule paths are normalised once at compile time,
// the request path at most once per Check.
import type { MethodClause, PathEntry } from './compiled.js';

/** A request without HTTP attributes (null method) passes any method list. */
export function matchMethods(clause: MethodClause, method: string | null): boolean {
  if (method === null || clause.any) return true;
  const methods = clause.methods;
  for (let i = 0; i < methods.length; i++) if (methods[i] === method) return true;
  return false;
}

/**
 * Matches a normalised request path against the entries: exact equality, or a segment-aligned
 * prefix (`/pub` covers `/pub` and `/pub/x`, not `/public`). A null path matches nothing.
 */
export function matchPaths(entries: readonly PathEntry[], path: string | null): boolean {
  if (path === null) return false;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    if (!e.prefix) {
      if (path === e.path) return true;
    } else if (
      e.path === '/' ||
      path === e.path ||
      (path.startsWith(e.path) && path.charCodeAt(e.path.length) === 0x2f)
    ) {
      return true;
    }
  }
  return false;
}
