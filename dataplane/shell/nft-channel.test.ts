import { describe, expect, it } from 'vitest';
import { transactionLine } from './nft-channel.js';

describe('transactionLine', () => {
  it.each([
    [
      'statements on lines become ;-separated',
      'add table inet t\nadd chain inet t c',
      'add table inet t; add chain inet t c',
    ],
    [
      'blocks keep their braces',
      'table inet t {\n\tchain c {\n\t\ttype filter hook input priority 0; policy accept;\n\t\taccept\n\t}\n}',
      'table inet t { chain c { type filter hook input priority 0; policy accept;; accept; }; }',
    ],
    [
      'set elements spanning lines stay one list',
      'set s {\n\telements = { 10.0.0.1,\n\t\t\t10.0.0.2 }\n}',
      'set s { elements = { 10.0.0.1, 10.0.0.2 }; }',
    ],
    [
      'a # inside a quoted comment stays',
      'add rule inet t c accept comment "#0 allow"',
      'add rule inet t c accept comment "#0 allow"',
    ],
    ['comment lines and blank lines are dropped', '# why\n\nadd table inet t\n', 'add table inet t'],
    ['nothing stays nothing', '\n# only a comment\n', ''],
  ])('%s', (_why, text, line) => {
    expect(transactionLine(text)).toBe(line);
  });

  it.each([
    ['a # after a statement would hide the rest', 'add table inet t # x'],
    ['a backslash would continue the line', 'add table inet t \\'],
    ['a carriage return', 'add table inet t\r'],
  ])('refuses %s', (_why, text) => {
    expect(() => transactionLine(text)).toThrow(/cannot carry/);
  });
});
