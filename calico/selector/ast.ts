// The parsed form of a Calico label selector, and its canonical rendering (Calico's String()).

/** Comparisons between one label and one string literal. */
export type LabelValueOp = 'eq' | 'ne' | 'contains' | 'startsWith' | 'endsWith';

/** Set membership tests; `values` is sorted (UTF-8 byte order, as Go sorts) and deduplicated. */
export type LabelSetOp = 'in' | 'notIn';

export type SelectorNode =
  | { readonly kind: 'all' }
  | { readonly kind: 'global' }
  | { readonly kind: 'has'; readonly label: string }
  | { readonly kind: LabelValueOp; readonly label: string; readonly value: string }
  | { readonly kind: LabelSetOp; readonly label: string; readonly values: readonly string[] }
  | { readonly kind: 'not'; readonly operand: SelectorNode }
  | { readonly kind: 'and' | 'or'; readonly operands: readonly SelectorNode[] };

const OPERATOR_TEXT: Record<LabelValueOp, string> = {
  eq: ' == ',
  ne: ' != ',
  contains: ' contains ',
  startsWith: ' starts with ',
  endsWith: ' ends with ',
};

/**
 * Compares two strings in Unicode code point order, which is the byte order of their UTF-8 forms
 * (Go's string order). Plain `<` compares UTF-16 code units, which disagrees for astral characters.
 */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codeUnitRank(x) - codeUnitRank(y);
  }
  return a.length - b.length;
}

// Surrogates (astral code points) must sort after U+E000..U+FFFF.
function codeUnitRank(u: number): number {
  if (u >= 0xd800 && u <= 0xdfff) return u + 0x2000;
  if (u >= 0xe000) return u - 0x800;
  return u;
}

/** Sorts and deduplicates set-literal values the way Calico stores them. */
export function normaliseSetValues(values: readonly string[]): string[] {
  const sorted = [...values].sort(compareCodePoints);
  return sorted.filter((v, i) => i === 0 || v !== sorted[i - 1]);
}

// Calico quotes with " unless the value contains ", in which case it uses ' (a literal can never
// contain both, since there are no escapes).
function quote(value: string): string {
  return value.includes('"') ? `'${value}'` : `"${value}"`;
}

/**
 * Renders a node in Calico's canonical String() form, e.g. `(app == "foo" && has(env))`.
 * Parsing the result gives back an equal tree, so equal selectors render equally.
 */
export function renderSelector(node: SelectorNode): string {
  const parts: string[] = [];
  appendFragments(node, parts);
  return parts.join('');
}

function appendFragments(node: SelectorNode, out: string[]): void {
  switch (node.kind) {
    case 'all':
      out.push('all()');
      return;
    case 'global':
      out.push('global()');
      return;
    case 'has':
      out.push('has(', node.label, ')');
      return;
    case 'eq':
    case 'ne':
    case 'contains':
    case 'startsWith':
    case 'endsWith':
      out.push(node.label, OPERATOR_TEXT[node.kind], quote(node.value));
      return;
    case 'in':
    case 'notIn':
      out.push(
        node.label,
        node.kind === 'in' ? ' in {' : ' not in {',
        node.values.map(quote).join(', '),
        '}',
      );
      return;
    case 'not':
      out.push('!');
      appendFragments(node.operand, out);
      return;
    case 'and':
    case 'or': {
      const joiner = node.kind === 'and' ? ' && ' : ' || ';
      out.push('(');
      node.operands.forEach((operand, i) => {
        if (i > 0) out.push(joiner);
        appendFragments(operand, out);
      });
      out.push(')');
      return;
    }
    default: {
      const unreachable: never = node;
      throw new Error(`unknown selector node ${String(unreachable)}`);
    }
  }
}
