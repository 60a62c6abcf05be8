// Splits selector text into tokens, following libcalico-go's selector tokenizer rule for rule.

export type TokenKind =
  | 'label'
  | 'string'
  | 'lbrace'
  | 'rbrace'
  | 'comma'
  | 'eq'
  | 'ne'
  | 'in'
  | 'not'
  | 'notIn'
  | 'contains'
  | 'startsWith'
  | 'endsWith'
  | 'all'
  | 'has'
  | 'global'
  | 'lparen'
  | 'rparen'
  | 'and'
  | 'or'
  | 'eof';

/** `value` is the label name (label, has) or the literal's text (string); '' otherwise. */
export interface Token {
  readonly kind: TokenKind;
  readonly value: string;
}

export type TokenizeResult = { ok: true; tokens: Token[] } | { ok: false; error: string };

export const MAX_LABEL_LENGTH = 512;

const SINGLE_CHAR: ReadonlyMap<string, TokenKind> = new Map([
  ['(', 'lparen'],
  [')', 'rparen'],
  ['{', 'lbrace'],
  ['}', 'rbrace'],
  [',', 'comma'],
]);

// Operator words allowed straight after a label. Order matters only for "not in" before "in".
const OPERATOR_WORDS: readonly (readonly [TokenKind, readonly string[]])[] = [
  ['contains', ['contains']],
  ['startsWith', ['starts', 'with']],
  ['endsWith', ['ends', 'with']],
  ['notIn', ['not', 'in']],
  ['in', ['in']],
];

// Only these three words take "(" directly; "has (" is a label called "has" and fails later.
const CALL_WORDS: readonly (readonly [TokenKind, string])[] = [
  ['has', 'has('],
  ['all', 'all('],
  ['global', 'global('],
];

export function isIdentifierChar(c: number): boolean {
  return (
    (c >= 0x61 && c <= 0x7a) || // a-z
    (c >= 0x41 && c <= 0x5a) || // A-Z
    (c >= 0x30 && c <= 0x39) || // 0-9
    c === 0x5f || // _
    c === 0x2e || // .
    c === 0x2f || // /
    c === 0x2d // -
  );
}

/** Whitespace is space and tab only; newlines are bad characters. */
function skipWhitespace(s: string, i: number): number {
  while (i < s.length && (s[i] === ' ' || s[i] === '\t')) i++;
  return i;
}

function identifierEnd(s: string, i: number): number {
  while (i < s.length && isIdentifierChar(s.charCodeAt(i))) i++;
  return i;
}

/** The end of an input is a word boundary too. */
function isWordBoundary(s: string, i: number): boolean {
  return i >= s.length || !isIdentifierChar(s.charCodeAt(i));
}

/**
 * Matches a (possibly multi-word) operator at i. Spaces or tabs may separate the words, or none
 * ("notin", "startswith"). As in Calico, a multi-word operator skips whitespace after each word
 * before the boundary check, a single word does not. Returns the index after the operator, or -1.
 */
function matchOperatorWords(s: string, i: number, words: readonly string[]): number {
  let j = i;
  for (const word of words) {
    if (!s.startsWith(word, j)) return -1;
    j += word.length;
    if (words.length > 1) j = skipWhitespace(s, j);
  }
  return isWordBoundary(s, j) ? j : -1;
}

type Identifier = { ok: true; name: string; end: number } | { ok: false; error: string };

function readIdentifier(s: string, i: number): Identifier {
  const end = identifierEnd(s, i);
  if (end === i) return { ok: false, error: `expected identifier at offset ${i}` };
  if (end - i > MAX_LABEL_LENGTH) return { ok: false, error: `label too long at offset ${i}` };
  return { ok: true, name: s.slice(i, end), end };
}

export function tokenizeSelector(input: string): TokenizeResult {
  const tokens: Token[] = [];
  const push = (kind: TokenKind, value = ''): void => {
    tokens.push({ kind, value });
  };
  let i = 0;
  for (;;) {
    i = skipWhitespace(input, i);
    if (i >= input.length) {
      push('eof');
      return { ok: true, tokens };
    }
    const c = input[i] as string;
    const single = SINGLE_CHAR.get(c);
    if (single !== undefined) {
      push(single);
      i++;
      continue;
    }
    switch (c) {
      case '"':
      case "'": {
        const close = input.indexOf(c, i + 1);
        if (close < 0) return { ok: false, error: 'unterminated string' };
        push('string', input.slice(i + 1, close));
        i = close + 1;
        continue;
      }
      case '=':
        if (!input.startsWith('==', i)) return { ok: false, error: `expected == at offset ${i}` };
        push('eq');
        i += 2;
        continue;
      case '!':
        if (input.startsWith('!=', i)) {
          push('ne');
          i += 2;
        } else {
          push('not');
          i++;
        }
        continue;
      case '&':
      case '|':
        if (input[i + 1] !== c) return { ok: false, error: `expected ${c}${c} at offset ${i}` };
        push(c === '&' ? 'and' : 'or');
        i += 2;
        continue;
    }
    const next = readWordToken(input, i, tokens[tokens.length - 1]?.kind, push);
    if (typeof next === 'string') return { ok: false, error: next };
    i = next;
  }
}

/** Operators after a label; has(…), all(), global() or a label elsewhere. Returns the new offset. */
function readWordToken(
  s: string,
  i: number,
  previous: TokenKind | undefined,
  push: (kind: TokenKind, value?: string) => void,
): number | string {
  if (previous === 'label') {
    for (const [kind, words] of OPERATOR_WORDS) {
      const end = matchOperatorWords(s, i, words);
      if (end >= 0) {
        push(kind);
        return end;
      }
    }
    return `expected operator after label at offset ${i}`;
  }
  for (const [kind, opening] of CALL_WORDS) {
    if (!s.startsWith(opening, i)) continue;
    let j = skipWhitespace(s, i + opening.length);
    let label = '';
    if (kind === 'has') {
      const ident = readIdentifier(s, j);
      if (!ident.ok) return ident.error;
      label = ident.name;
      j = skipWhitespace(s, ident.end);
    }
    if (s[j] !== ')') return `no closing ')' after ${opening}`;
    push(kind, label);
    return j + 1;
  }
  const ident = readIdentifier(s, i);
  if (!ident.ok) return ident.error;
  push('label', ident.name);
  return ident.end;
}
