// The README's main-job command, as a test: `npm run demo` must print every verdict as expected.
import { describe, expect, it } from 'vitest';
import { runDemo } from './run-demo.js';

describe('npm run demo', () => {
  it('starts alp-node and the sidecars on the file datastore and gets every verdict right', async () => {
    const lines: string[] = [];
    const result = await runDemo((line) => lines.push(line));
    expect(lines.join('\n')).toContain('All 14 verdicts as expected.');
    expect(result.unexpected).toBe(0);
  });
});
