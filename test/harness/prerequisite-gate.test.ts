// The prerequisite gate and the skip summary in a real vitest run (a child process on the suites in
// gate-fixture/): held-back tests are declared and counted as skipped, so passed + failed +
// skipped adds up to every test; in CI one test per gate fails on top; and the run ends with one
// summary naming each held-back suite, why, and how to get what it needs.
import { spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from './repo-root.js';
import { makeTempDir } from './temp-dirs.js';

const FIXTURE = join(REPO_ROOT, 'test', 'harness', 'gate-fixture');
const scratch = makeTempDir('alp-gate-test');

afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
});

interface FixtureRun {
  readonly code: number | null;
  readonly output: string;
  readonly counts: { readonly passed: number; readonly failed: number; readonly skipped: number };
}

let runs = 0;

async function runFixture(ci: string): Promise<FixtureRun> {
  const json = join(scratch, `results-${++runs}.json`);
  // The child is a run of its own, not a worker of this one.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VITEST')));
  const child = spawn(
    process.execPath,
    [
      join(REPO_ROOT, 'node_modules', 'vitest', 'vitest.mjs'),
      'run',
      '--config',
      join(FIXTURE, 'vitest.config.ts'),
      '--reporter=default',
      `--reporter=${join(REPO_ROOT, 'test', 'harness', 'skip-summary-reporter.ts')}`,
      '--reporter=json',
      `--outputFile.json=${json}`,
    ],
    { cwd: FIXTURE, env: { ...env, CI: ci, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const report = JSON.parse(readFileSync(json, 'utf8')) as Record<string, number>;
  return {
    code,
    output,
    counts: {
      passed: report['numPassedTests'] ?? -1,
      failed: report['numFailedTests'] ?? -1,
      skipped: (report['numPendingTests'] ?? 0) + (report['numTodoTests'] ?? 0),
    },
  };
}

const count = (text: string, part: string): number => text.split(part).length - 1;

describe('describeWhen with a missing prerequisite, and the skip summary', () => {
  it('outside CI: skips the suite’s real tests, counted, and names it once with the reason and the hint', async () => {
    const run = await runFixture('');
    expect(run.code).toBe(0);
    expect(run.counts).toEqual({ passed: 1, failed: 0, skipped: 5 });
    expect(run.output).not.toContain('a test whose prerequisite is missing ran');
    expect(count(run.output, 'Not run: 2 suites whose prerequisites this machine lacks')).toBe(1);
    expect(
      count(
        run.output,
        'gated-suites.fixture.ts > needs the tool: 5 tests skipped; needs a missing tool: not installed here',
      ),
    ).toBe(1);
    expect(
      count(
        run.output,
        'gated-suites.fixture.ts > needs the tool > and a server: 2 tests skipped; needs a server: none running',
      ),
    ).toBe(1);
    expect(count(run.output, 'To get a missing tool: install the tool')).toBe(1);
    expect(count(run.output, 'To get a server: start one')).toBe(1);
    expect(run.output).not.toContain('has what it needs:');
  });

  it('in CI: the same tests skipped, plus one failing test that says what is missing', async () => {
    const run = await runFixture('true');
    expect(run.code).toBe(1);
    expect(run.counts).toEqual({ passed: 1, failed: 1, skipped: 5 });
    expect(run.output).toContain('has a missing tool');
    expect(run.output).toContain('cannot run "needs the tool": not installed here');
    expect(
      count(run.output, 'needs the tool: 5 tests skipped, 1 failed for it (CI); needs a missing tool'),
    ).toBe(1);
  });
});
