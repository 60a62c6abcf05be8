// A vitest reporter that ends the run with one summary of the suites that did not run because the
// machine lacks something (marked by describeWhen in prerequisite-gate.ts): each suite once, with
// its tests' count, the reason, and once per prerequisite how to get it. Prints nothing when every
// suite ran.
import type { Reporter, TestModule, TestSuite, Vitest } from 'vitest/node';
import type { MissingPrerequisite } from './prerequisite-gate.js';

interface NotRun {
  readonly where: string;
  readonly missing: MissingPrerequisite;
  skipped: number;
  failed: number;
}

export default class SkipSummaryReporter implements Reporter {
  private log: (text: string) => void = (text) => console.log(text);

  onInit(vitest: Vitest): void {
    this.log = (text) => vitest.logger.log(text);
  }

  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const lines = summarize(testModules);
    if (lines.length > 0) this.log(lines.join('\n'));
  }
}

/** The summary's lines; empty when nothing was held back by a missing prerequisite. */
export function summarize(testModules: ReadonlyArray<TestModule>): string[] {
  const notRun = new Map<string, NotRun>();
  for (const module of testModules) {
    for (const suite of module.children.allSuites()) {
      const missing = ownMark(suite);
      if (missing === undefined) continue;
      // A failing gate declares two suites of one name: the skipped tests and the failing check.
      const where = `${module.relativeModuleId} > ${suite.fullName}`;
      const key = `${where}\n${JSON.stringify(missing)}`;
      const entry = notRun.get(key) ?? { where, missing, skipped: 0, failed: 0 };
      notRun.set(key, entry);
      for (const test of suite.children.allTests()) {
        const state = test.result().state;
        if (state === 'skipped') entry.skipped++;
        if (state === 'failed') entry.failed++;
      }
    }
  }
  if (notRun.size === 0) return [];
  const entries = [...notRun.values()];
  const hints = new Map(entries.map((e) => [e.missing.what, e.missing.hint]));
  return [
    '',
    `Not run: ${entries.length} suite${entries.length === 1 ? '' : 's'} whose prerequisites this machine lacks`,
    ...entries.map((e) => {
      const failed = e.failed > 0 ? `, ${e.failed} failed for it (CI)` : '';
      return `  ${e.where}: ${e.skipped} test${e.skipped === 1 ? '' : 's'} skipped${failed}; needs ${e.missing.what}: ${e.missing.reason}`;
    }),
    ...[...hints].map(([what, hint]) => `  To get ${what}: ${hint}`),
  ];
}

/** The suite's mark, unless it only inherited its parent's (vitest copies meta to children). */
function ownMark(suite: TestSuite): MissingPrerequisite | undefined {
  const mark = suite.meta().missingPrerequisite;
  if (mark === undefined) return undefined;
  const inherited = suite.parent.meta().missingPrerequisite;
  return inherited !== undefined && JSON.stringify(inherited) === JSON.stringify(mark) ? undefined : mark;
}
