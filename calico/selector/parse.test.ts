// Grammar of Calico selectors: what parses, what each form matches, canonical text, and errors.
import { describe, expect, it } from 'vitest';
import { parseSelector } from './index.js';

const labels = (obj: Record<string, string>): ReadonlyMap<string, string> => new Map(Object.entries(obj));

type MatchCase = [rule: string, selector: string, labels: Record<string, string>, expected: boolean];

const MATCH_CASES: MatchCase[] = [
  ['empty selector is all()', '', { a: 'x' }, true],
  ['whitespace-only selector is all()', ' \t ', {}, true],
  ['all() matches anything', 'all()', {}, true],
  ['all() allows inner whitespace', 'all( \t)', {}, true],
  ['global() matches anything', 'global()', { a: 'x' }, true],
  ['== needs the label present and equal', 'a == "x"', { a: 'x' }, true],
  ['== fails on a different value', 'a == "x"', { a: 'y' }, false],
  ['== fails on an absent label', 'a == "x"', {}, false],
  ['single-quoted literals work like double-quoted', "a == 'x'", { a: 'x' }, true],
  ['no whitespace is needed around ==', 'a=="x"', { a: 'x' }, true],
  ['a literal may hold the other quote', `a == 'say "hi"'`, { a: 'say "hi"' }, true],
  ['literals have no escapes', String.raw`a == "x\n"`, { a: 'x\\n' }, true],
  ['!= matches an absent label', 'a != "x"', {}, true],
  ['!= fails on an equal value', 'a != "x"', { a: 'x' }, false],
  ['!= matches a different value', 'a != "x"', { a: 'y' }, true],
  ['in needs the label present and a member', 'a in {"x","y"}', { a: 'y' }, true],
  ['in fails on a non-member', 'a in {"x","y"}', { a: 'z' }, false],
  ['in fails on an absent label', 'a in {"x"}', {}, false],
  ['in {} matches nothing', 'a in {}', { a: '' }, false],
  ['a set literal may end with a comma', 'a in {"x",}', { a: 'x' }, true],
  ['not in matches an absent label', 'a not in {"x"}', {}, true],
  ['not in fails on a member', 'a not in {"x"}', { a: 'x' }, false],
  ['not in matches a non-member', 'a not in {"x"}', { a: 'z' }, true],
  ['notin is one word too', 'a notin {"x"}', { a: 'z' }, true],
  ['not and in may be separated by tabs and spaces', 'a not \t in{"x"}', { a: 'x' }, false],
  ['not in {} matches everything', 'a not in {}', { a: 'x' }, true],
  ['contains tests a substring', 'a contains "bc"', { a: 'abcd' }, true],
  ['contains fails without the substring', 'a contains "bc"', { a: 'acb' }, false],
  ['contains needs the label present', 'a contains ""', {}, false],
  ['contains "" matches any present value', 'a contains ""', { a: '' }, true],
  ['starts with tests a prefix', 'a starts with "ab"', { a: 'abc' }, true],
  ['starts with fails on a non-prefix', 'a starts with "ab"', { a: 'cab' }, false],
  ['startswith is accepted as one word', 'a startswith "ab"', { a: 'abc' }, true],
  ['starts and with may be tab-separated', 'a starts\twith "ab"', { a: 'abc' }, true],
  ['ends with tests a suffix', 'a ends with "bc"', { a: 'abc' }, true],
  ['ends with fails on a non-suffix', 'a ends with "bc"', { a: 'bca' }, false],
  ['ends with needs the label present', 'a ends with ""', {}, false],
  ['has() matches a present label, even empty', 'has(a)', { a: '' }, true],
  ['has() fails on an absent label', 'has(a)', { b: 'a' }, false],
  ['has() allows spaces and tabs inside', 'has( \ta )', { a: 'x' }, true],
  ['! negates', '!has(a)', {}, true],
  ['!! cancels out', '!!has(a)', {}, false],
  ['!!! negates', '!!!has(a)', {}, true],
  ['! applies to the whole comparison', '!a == "x"', { a: 'y' }, true],
  ['! before parentheses negates the group', '!(a == "1" && b == "1")', { a: '1' }, true],
  ['&& binds tighter than || (left true)', 'a == "1" || b == "1" && c == "1"', { a: '1' }, true],
  ['&& binds tighter than || (right half only)', 'a == "1" || b == "1" && c == "1"', { b: '1' }, false],
  ['&& binds tighter than || (right true)', 'a == "1" || b == "1" && c == "1"', { b: '1', c: '1' }, true],
  ['parentheses override precedence', '(a == "1" || b == "1") && c == "1"', { a: '1' }, false],
  ['&& without spaces', 'a == "1"&&b == "2"', { a: '1', b: '2' }, true],
  ['|| chains', 'a == "1" || a == "2" || a == "3"', { a: '3' }, true],
  ['labels may use . / - _ and digits', 'k8s.io/app-name_2 == "v"', { 'k8s.io/app-name_2': 'v' }, true],
  ['a label may be called has', 'has == "x"', { has: 'x' }, true],
  ['a label may be called in', 'in == "x"', { in: 'x' }, true],
  ['a label may be called contains', 'contains in {"x"}', { contains: 'x' }, true],
  ['a 512-character label is allowed', `${'l'.repeat(512)} == "v"`, { ['l'.repeat(512)]: 'v' }, true],
  ['comparison is exact and case-sensitive', 'a == "X"', { a: 'x' }, false],
  ['non-ASCII literals are compared exactly', 'a == "ünï😀"', { a: 'ünï😀' }, true],
];

describe('selector grammar and matching', () => {
  it.each(MATCH_CASES)('%s: %s', (_rule, text, obj, expected) => {
    const result = parseSelector(text);
    if (!result.ok) throw new Error(`unexpected parse error: ${result.error}`);
    expect(result.selector.matches(labels(obj))).toBe(expected);
    expect(result.selector.source).toBe(text);
  });
});

const CANONICAL_CASES: [rule: string, selector: string, canonical: string][] = [
  ['empty is rendered all()', '', 'all()'],
  ['spacing is normalised', 'a=="x"', 'a == "x"'],
  ['single quotes become double quotes', "a == 'x'", 'a == "x"'],
  ['a value with " keeps single quotes', `a != 'say "hi"'`, `a != 'say "hi"'`],
  ['sets are sorted and deduplicated', 'a in {"y","x","y",}', 'a in {"x", "y"}'],
  ['notin renders as not in', 'a notin {}', 'a not in {}'],
  ['startswith renders as two words', 'a startswith "x"', 'a starts with "x"'],
  ['ends with keeps one space', 'a ends \t with "x"', 'a ends with "x"'],
  ['contains', 'a contains "x"', 'a contains "x"'],
  ['&& groups are parenthesised', 'a == "1" && b == "2" || c == "3"', '((a == "1" && b == "2") || c == "3")'],
  ['explicit nesting is kept', '(a == "1" && b == "2") && c == "3"', '((a == "1" && b == "2") && c == "3")'],
  ['!! disappears', '!!has(a)', 'has(a)'],
  ['! of a group', '!(a == "1" || has(b))', '!(a == "1" || has(b))'],
  ['redundant parentheses disappear', '(((!(a == "1"))))', '!a == "1"'],
  ['has() loses inner spaces', 'has( a )', 'has(a)'],
  ['all( ) is all()', 'all( )', 'all()'],
  ['global()', '  global()  ', 'global()'],
];

describe('canonical rendering (Calico String())', () => {
  it.each(CANONICAL_CASES)('%s: %s', (_rule, text, canonical) => {
    const result = parseSelector(text);
    if (!result.ok) throw new Error(`unexpected parse error: ${result.error}`);
    const rendered = result.selector.toString();
    expect(rendered).toBe(canonical);
    const again = parseSelector(rendered);
    expect(again.ok && again.selector.toString()).toBe(canonical);
  });

  it('set values sort in UTF-8 byte order, like Go, not UTF-16 order', () => {
    const result = parseSelector('a in {"😀", "\uffff", "z"}');
    expect(result.ok && result.selector.toString()).toBe('a in {"z", "\uffff", "😀"}');
  });
});

describe('isAll', () => {
  it.each([
    ['', true],
    ['all()', true],
    ['(all())', true],
    ['!!all()', true],
    ['global()', false],
    ['!all()', false],
    ['has(a)', false],
    ['all() || has(a)', false],
  ] as const)('%j gives %s', (text, expected) => {
    const result = parseSelector(text);
    expect(result.ok && result.selector.isAll).toBe(expected);
  });
});

const ERROR_CASES: [rule: string, selector: string][] = [
  ['a lone label has no operator', 'not.a.real.selector'],
  ['unterminated double-quoted string', 'app == "foo'],
  ['unterminated single-quoted string', "app == 'foo"],
  ['no space is allowed between has and (', 'has (a)'],
  ['all needs its parentheses attached', 'all ()'],
  ['global needs its parentheses attached', 'global ()'],
  ['has() needs a label', 'has()'],
  ['has( needs a closing parenthesis', 'has(a'],
  ['has() takes one label', 'has(a b)'],
  ['single = is not an operator', 'a = "x"'],
  ['single & is not an operator', 'has(a) & has(b)'],
  ['single | is not an operator', 'has(a) | has(b)'],
  ['the right side must be a literal', 'a == b'],
  ['the right side must be present', 'a =='],
  ['two terms need an operator between them', 'a == "x" b == "y"'],
  ['two labels in a row', 'a b'],
  ['unbalanced )', 'a == "x")'],
  ['unbalanced (', '(a == "x"'],
  ['empty parentheses', '()'],
  ['in needs a set literal', 'a in "x"'],
  ['set members need commas', 'a in {"x" "y"}'],
  ['a set may not start with a comma', 'a in {,}'],
  ['a set may not hold two commas in a row', 'a in {"x",,}'],
  ['a set must be closed', 'a in {"x"'],
  ['a set holds only strings', 'a in {x}'],
  ['a lone ! is incomplete', '!'],
  ['&& needs a right operand', 'has(a) &&'],
  ['&& needs a left operand', '&& has(a)'],
  ['|| needs a right operand', 'has(a) ||'],
  ['a bad character after a label', 'a @ "x"'],
  ['a bad character at the start', '@'],
  ['a non-ASCII label character', 'é == "x"'],
  ['newline is not whitespace', 'a == "x"\n'],
  ['operator words end on a word boundary (in)', 'a inx {}'],
  ['operator words end on a word boundary (contains)', 'a containsx "b"'],
  ['operator words end on a word boundary (not in)', 'a not inx {}'],
  ['operator words are only recognised after a label', 'has(a) in {}'],
  ['a 513-character label is too long', `${'l'.repeat(513)} == "v"`],
  ['a 513-character label is too long in has()', `has(${'l'.repeat(513)})`],
  ['operator words are case-sensitive', 'a IN {"x"}'],
  ['! is not allowed between label and operator', 'a ! == "x"'],
];

describe('parse errors', () => {
  it.each(ERROR_CASES)('%s: %j', (_rule, text) => {
    const result = parseSelector(text);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error).not.toBe('');
  });

  it('deep nesting is rejected without exhausting the stack', () => {
    expect(parseSelector('('.repeat(100_000)).ok).toBe(false);
    expect(parseSelector(`${'('.repeat(300)}has(a)${')'.repeat(300)}`).ok).toBe(false);
    expect(parseSelector(`${'('.repeat(200)}has(a)${')'.repeat(200)}`).ok).toBe(true);
  });

  it('long chains of ! and && parse without recursion limits', () => {
    expect(parseSelector(`${'!'.repeat(100_001)}has(a)`).ok).toBe(true);
    const chain = Array.from({ length: 10_000 }, (_, i) => `has(l${i})`).join(' && ');
    expect(parseSelector(chain).ok).toBe(true);
  });
});

describe('negation through parentheses', () => {
  it('!(!x) renders as x, so canonical text is a fixed point', () => {
    const result = parseSelector('!(!has(a))');
    expect(result.ok && result.selector.toString()).toBe('has(a)');
    expect(result.ok && result.selector.matches(new Map())).toBe(false);
  });
});
