// Shared by the parser fuzz tests: a seeded PRNG (so failures reproduce) and a text
// mutator that damages valid tool output the way truncation, garbage and odd versions might.

import { seededRandom as sharedSeededRandom } from './seeded-random.js';

export type Random = () => number;

/** The shared seeded PRNG, as the bare `() => number` the mutators take. */
export function seededRandom(seed: number): Random {
  return sharedSeededRandom(seed).next;
}

const NOISE = [
  '\t',
  '\n',
  ':',
  ',',
  '/',
  '[',
  ']',
  '{',
  '}',
  '"',
  '0x',
  '(none)',
  'off',
  '-1',
  '99999999999999999999',
  'null',
  '\u0000',
  'é',
];

/** Applies 1-4 random edits: delete, duplicate or replace a slice, or insert noise. */
export function mutate(text: string, random: Random): string {
  let out = text;
  const edits = 1 + Math.floor(random() * 4);
  for (let e = 0; e < edits; e++) {
    const at = Math.floor(random() * (out.length + 1));
    const len = Math.floor(random() * 12);
    switch (Math.floor(random() * 4)) {
      case 0:
        out = out.slice(0, at) + out.slice(at + len);
        break;
      case 1:
        out = out.slice(0, at) + out.slice(at, at + len) + out.slice(at);
        break;
      case 2:
        out = out.slice(0, at) + (NOISE[Math.floor(random() * NOISE.length)] as string) + out.slice(at + len);
        break;
      default:
        out = out.slice(0, at) + (NOISE[Math.floor(random() * NOISE.length)] as string) + out.slice(at);
    }
  }
  return out;
}
