// Temporary directories for fixtures that hold private keys, packet captures or sockets. Each test
// removes its own in its teardown (exit handlers do not run in vitest workers); the name carries
// the test run's tag so that the run's global teardown (temp-dirs-global-setup.ts) can tell what
// this run left behind from what other runs on the same machine are still using.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Set by the integration project's global setup for its workers; unset elsewhere (benchmarks). */
export const RUN_TAG_ENV = 'ALP_TEST_RUN_TAG';

/** `<name>-<tag>-`: what a run-tagged temporary directory's name starts with. */
export function runTaggedPrefix(name: string, tag = process.env[RUN_TAG_ENV] ?? ''): string {
  return tag === '' ? `${name}-` : `${name}-${tag}-`;
}

/** A fresh 0700 directory `<tmpdir>/<name>-<run tag>-XXXXXX`. */
export function makeTempDir(name: string): string {
  return mkdtempSync(join(tmpdir(), runTaggedPrefix(name)));
}
