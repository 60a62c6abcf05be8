import { describe, expect, it } from 'vitest';
import {
  contentDifference,
  readLiveTable,
  renderedShape,
  shapeDifference,
  touchedNames,
} from './table-shape.js';

const RENDERED = [
  'table inet t {}',
  'delete table inet t',
  'table inet t {',
  '\tset pods {',
  '\t\ttype ipv4_addr',
  '\t\tflags interval',
  '\t\telements = { 10.0.0.1,',
  '\t\t\t10.0.0.2 }',
  '\t}',
  '\tmap to-wl {',
  '\t\ttype ifname : verdict',
  '\t}',
  '\tchain forward {',
  '\t\ttype filter hook forward priority 0; policy accept;',
  '\t\tct state invalid drop',
  '\t\toifname vmap @to-wl',
  '\t}',
  '\tchain pol-a {',
  '\t}',
  '}',
].join('\n');

const live = (items: object[]): string =>
  JSON.stringify({ nftables: [{ metainfo: { version: '1.0.6' } }, { table: { name: 't' } }, ...items] });

const LIVE_OK = live([
  { set: { name: 'pods' } },
  { map: { name: 'to-wl' } },
  { chain: { name: 'forward', hook: 'forward' } },
  { chain: { name: 'pol-a' } },
  { rule: { chain: 'forward', expr: [] } },
  { rule: { chain: 'forward', expr: [] } },
]);

describe('table shape', () => {
  it('reads chains with rule counts and sets from the rendered text', () => {
    const s = renderedShape(RENDERED, 't');
    expect([...s.chains]).toEqual([
      ['forward', 2],
      ['pol-a', 0],
    ]);
    expect([...s.sets].sort()).toEqual(['pods', 'to-wl']);
  });

  it.each([
    ['matches the same table', LIVE_OK, null],
    ['a missing table (nft printed nothing usable)', 'Error: No such file or directory', 'table missing'],
    [
      'a flushed chain',
      live([
        { set: { name: 'pods' } },
        { map: { name: 'to-wl' } },
        { chain: { name: 'forward' } },
        { chain: { name: 'pol-a' } },
      ]),
      'chain forward has 0 rules, want 2',
    ],
    [
      'a deleted chain and set',
      live([
        { map: { name: 'to-wl' } },
        { chain: { name: 'forward' } },
        { rule: { chain: 'forward' } },
        { rule: { chain: 'forward' } },
      ]),
      'chain pol-a missing; set pods missing',
    ],
    [
      'a chain someone added',
      LIVE_OK.replace('{"chain":{"name":"pol-a"}}', '{"chain":{"name":"pol-a"}},{"chain":{"name":"extra"}}'),
      'unexpected chain extra',
    ],
  ])('%s', (_why, json, difference) => {
    expect(shapeDifference(renderedShape(RENDERED, 't'), readLiveTable(json)?.shape ?? null)).toBe(
      difference,
    );
  });
});

describe('table contents', () => {
  /** The live table with the forward chain's rules and the pods set's elements as given. */
  const table = (rules: object[][], elements: unknown[]) =>
    readLiveTable(
      live([
        { set: { name: 'pods', handle: 3, type: 'ipv4_addr', elem: elements } },
        { chain: { name: 'forward', handle: 1, hook: 'forward', prio: 0, policy: 'accept' } },
        ...rules.map((expr, i) => ({ rule: { chain: 'forward', handle: 10 + i, expr } })),
      ]),
    )!.contents;
  const drop = [{ match: { op: '==', left: { ct: { key: 'state' } }, right: ['invalid'] } }, { drop: null }];
  const accept = [{ counter: { packets: 0, bytes: 0 } }, { accept: null }];
  const before = table([drop, accept], ['10.0.0.1', '10.0.0.2']);
  const untouched = new Set<string>();

  it.each([
    [
      'the same rules and elements, with new counts, handles and element order',
      table([drop, [{ counter: { packets: 9, bytes: 900 } }, { accept: null }]], ['10.0.0.2', '10.0.0.1']),
      null,
    ],
    [
      'a rule swapped for another, keeping the count',
      table([drop, [{ drop: null }]], ['10.0.0.1', '10.0.0.2']),
      'chain forward edited',
    ],
    ['two rules in another order', table([accept, drop], ['10.0.0.1', '10.0.0.2']), 'chain forward edited'],
    [
      'an element swapped for another',
      table([drop, accept], ['10.0.0.1', '10.0.0.3']),
      'set pods elements changed',
    ],
    [
      'a base chain’s policy changed',
      readLiveTable(
        live([
          { set: { name: 'pods', type: 'ipv4_addr', elem: ['10.0.0.1', '10.0.0.2'] } },
          { chain: { name: 'forward', hook: 'forward', prio: 0, policy: 'drop' } },
          { rule: { chain: 'forward', expr: drop } },
          { rule: { chain: 'forward', expr: accept } },
        ]),
      )!.contents,
      'chain forward edited',
    ],
  ])('%s', (_why, after, difference) => {
    expect(contentDifference(before, after, untouched)).toBe(difference);
  });

  it('takes what our own transactions changed as it is', () => {
    const after = table([drop, [{ drop: null }]], ['10.0.0.1', '10.0.0.3']);
    expect(contentDifference(before, after, new Set(['forward', 'pods']))).toBeNull();
    expect(contentDifference(before, after, new Set(['pods']))).toBe('chain forward edited');
  });

  it('names what a transaction touches, in command and block form, and no command of another table', () => {
    const text = [
      'add element inet t pods { 10.0.0.3,',
      '\t10.0.0.4 }',
      'delete element inet t to-wl { "cali1" : goto wl-1 }',
      'flush chain inet t pol-a',
      'add rule inet t pol-a ip saddr @pods accept',
      'delete chain inet t pol-b',
      'add chain inet other c',
      'table inet t {',
      '\tchain wl-2 {',
      '\t\tgoto pol-a',
      '\t}',
      '}',
    ].join('\n');
    expect(touchedNames(text, 't').sort()).toEqual(['pods', 'pol-a', 'pol-a', 'pol-b', 'to-wl', 'wl-2']);
  });
});
