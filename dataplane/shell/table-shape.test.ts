import { describe, expect, it } from 'vitest';
import { liveShape, renderedShape, shapeDifference } from './table-shape.js';

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
    expect(shapeDifference(renderedShape(RENDERED, 't'), liveShape(json))).toBe(difference);
  });
});
