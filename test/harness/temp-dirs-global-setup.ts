// Vitest global set-up for the integration project: tags this run's temporary directories (see
// temp-dirs.ts) and, once every test file has finished, fails the run if any of them is still
// there, after removing it: they hold private keys, packet captures and sockets.
import { randomBytes } from 'node:crypto';
import { readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RUN_TAG_ENV } from './temp-dirs.js';

export default function setup(): () => void {
  const tag = randomBytes(4).toString('hex');
  // Workers start after the global set-up and inherit its environment.
  process.env[RUN_TAG_ENV] = tag;
  return () => {
    const ours = new RegExp(`^[a-z0-9-]+-${tag}-`);
    const left = readdirSync(tmpdir()).filter((name) => ours.test(name));
    for (const name of left) rmSync(join(tmpdir(), name), { recursive: true, force: true });
    if (left.length > 0) {
      // Vitest only logs an error thrown here; the exit code is what makes the run fail.
      process.exitCode = 1;
      throw new Error(
        `tests left ${left.length} temporary director${left.length === 1 ? 'y' : 'ies'} behind ` +
          `(now removed; a test's own teardown must remove what it creates): ${left.join(', ')}`,
      );
    }
  };
}
