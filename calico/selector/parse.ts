// Turns selector tokens into a SelectorNode tree, with libcalico-go's precedence and error rules.

import type { LabelValueOp, SelectorNode } from './ast.js';
import { normaliseSetValues } from './ast.js';
import type { Token, TokenKind } from './tokenize.js';
import { tokenizeSelector } from './tokenize.js';

export type ParseTreeResult = { ok: true; root: SelectorNode } | { ok: false; error: string };

/**
 * Unlike Calico, parenthesis nesting is bounded, so a hostile selector cannot exhaust the stack
 * (here or in the evaluator). Real selectors nest a handful of levels.
 */
export const MAX_NESTING_DEPTH = 256;

const VALUE_OPS: Partial<Record<TokenKind, LabelValueOp>> = {
  eq: 'eq',
  ne: 'ne',
  contains: 'contains',
  startsWith: 'startsWith',
  endsWith: 'endsWith',
};

/** Parses selector text; an empty (or all-whitespace) selector is all(). */
export function parseSelectorTree(text: string): ParseTreeResult {
  const tokenized = tokenizeSelector(text);
  if (!tokenized.ok) return tokenized;
  const tokens = tokenized.tokens;
  if (tokens[0]?.kind === 'eof') return { ok: true, root: { kind: 'all' } };
  const parser = new TokenCursor(tokens);
  const root = parser.orExpression(0);
  if (root === null) return { ok: false, error: parser.error };
  const rest = parser.peek();
  if (rest.kind !== 'eof') return { ok: false, error: `unexpected content at end of selector: ${rest.kind}` };
  return { ok: true, root };
}

// Recursive descent over the token list, which always ends with an eof token that is never
// consumed. Each method returns null after recording the first error.
class TokenCursor {
  private pos = 0;
  error = '';
  constructor(private readonly tokens: readonly Token[]) {}

  peek(offset = 0): Token {
    return this.tokens[Math.min(this.pos + offset, this.tokens.length - 1)] as Token;
  }

  private fail(message: string): null {
    this.error = message;
    return null;
  }

  private advance(count = 1): void {
    this.pos = Math.min(this.pos + count, this.tokens.length - 1);
  }

  /** One or more &&-expressions separated by ||. */
  orExpression(depth: number): SelectorNode | null {
    return this.chain('or', () => this.andExpression(depth));
  }

  /** One or more operations separated by &&. */
  private andExpression(depth: number): SelectorNode | null {
    return this.chain('and', () => this.operation(depth));
  }

  private chain(kind: 'and' | 'or', next: () => SelectorNode | null): SelectorNode | null {
    const operands: SelectorNode[] = [];
    for (;;) {
      const operand = next();
      if (operand === null) return null;
      operands.push(operand);
      if (this.peek().kind !== kind) break;
      this.advance();
    }
    return operands.length === 1 ? (operands[0] as SelectorNode) : { kind, operands };
  }

  /** A possibly negated term; repeated !s collapse by parity. */
  private operation(depth: number): SelectorNode | null {
    let negated = false;
    while (this.peek().kind === 'not') {
      negated = !negated;
      this.advance();
    }
    const term = this.term(depth);
    if (term === null || !negated) return term;
    // Unlike Calico, `!(!x)` becomes x rather than a double negation: Calico renders that as `!!x`,
    // which parses to x, so its String() would not be a fixed point. Evaluation is the same.
    if (term.kind === 'not') return term.operand;
    return { kind: 'not', operand: term };
  }

  private term(depth: number): SelectorNode | null {
    const token = this.peek();
    switch (token.kind) {
      case 'has':
        this.advance();
        return { kind: 'has', label: token.value };
      case 'all':
      case 'global':
        this.advance();
        return { kind: token.kind };
      case 'label':
        return this.labelTerm(token.value);
      case 'lparen': {
        if (depth >= MAX_NESTING_DEPTH) return this.fail('selector nested too deeply');
        this.advance();
        const inner = this.orExpression(depth + 1);
        if (inner === null) return null;
        if (this.peek().kind !== 'rparen') return this.fail('expected )');
        this.advance();
        return inner;
      }
      default:
        return this.fail(`unexpected token: ${token.kind}`);
    }
  }

  /** label OP "literal" or label [not] in {…}; the cursor is on the label. */
  private labelTerm(label: string): SelectorNode | null {
    const op = this.peek(1);
    const operand = this.peek(2);
    if (op.kind === 'eof') return this.fail('unexpected end of string looking for op');
    const valueOp = VALUE_OPS[op.kind];
    if (valueOp !== undefined) {
      if (operand.kind !== 'string') return this.fail('expected string');
      this.advance(3);
      return { kind: valueOp, label, value: operand.value };
    }
    if (op.kind !== 'in' && op.kind !== 'notIn') return this.fail(`expected operator, not ${op.kind}`);
    if (operand.kind !== 'lbrace') return this.fail('expected set literal');
    this.advance(3);
    const values: string[] = [];
    // Strings separated by commas; a trailing comma and an empty set are allowed.
    while (this.peek().kind === 'string') {
      values.push(this.peek().value);
      this.advance();
      if (this.peek().kind !== 'comma') break;
      this.advance();
    }
    if (this.peek().kind !== 'rbrace') return this.fail('expected }');
    this.advance();
    return { kind: op.kind, label, values: normaliseSetValues(values) };
  }
}
