import { describe, expect, it } from 'vitest';
import { parseIpJson } from './ip-json.js';

const names = (text: string) => parseIpJson(text, (e) => (typeof e.ifname === 'string' ? e.ifname : null));

describe('parseIpJson', () => {
  it.each([
    {
      why: 'each object becomes an entry, in order',
      text: '[{"ifname":"a"},{"ifname":"b"}]',
      want: ['a', 'b'],
    },
    { why: 'an entry the caller cannot read is skipped', text: '[{"ifname":1},{"ifname":"b"}]', want: ['b'] },
    {
      why: 'entries that are not objects are skipped',
      text: '[null,3,"x",["y"],{"ifname":"b"}]',
      want: ['b'],
    },
    { why: 'no output at all is an empty list (an empty table)', text: ' \n', want: [] },
    { why: 'an empty array is an empty list', text: '[]', want: [] },
  ])('$why', ({ text, want }) => {
    expect(names(text)).toEqual({ ok: true, value: want });
  });

  it.each([
    { why: 'text that is not JSON', text: '[{"ifname":', reason: 'not JSON' },
    { why: 'a JSON object', text: '{"ifname":"a"}', reason: 'not a JSON array' },
    { why: 'a JSON string', text: '"a"', reason: 'not a JSON array' },
  ])('rejects $why', ({ text, reason }) => {
    expect(names(text)).toEqual({ ok: false, reason });
  });
});
