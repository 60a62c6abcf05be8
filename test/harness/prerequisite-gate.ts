// The one rule for suites that need something the machine may lack (root, WireGuard tools, a
// kube-apiserver): run when it is there; fail in CI (CI=true) or when `alwaysFail`; otherwise skip.
// Either way the suite's real tests are declared, skipped, so that the run's counts include them,
// and the suite is marked with what it lacked for the summary skip-summary-reporter.ts prints once
// at the end of the run.
import { describe, it } from 'vitest';

export interface Prerequisite {
  /** What the suite needs, e.g. "root and the WireGuard tools". */
  readonly what: string;
  /** Why it is missing; null when it is available. */
  readonly missing: string | null;
  /** How to get it, shown with the skip or the failure. */
  readonly hint: string;
  /** Fail even outside CI (e.g. a build that was attempted and broke). */
  readonly alwaysFail?: boolean;
}

/** The mark on a suite that did not run, read by the skip summary. */
export interface MissingPrerequisite {
  readonly what: string;
  readonly reason: string;
  readonly hint: string;
  /** 'failed' in CI (or with alwaysFail): a test named `has <what>` fails beside the skipped ones. */
  readonly outcome: 'skipped' | 'failed';
}

declare module 'vitest' {
  interface TaskMeta {
    missingPrerequisite?: MissingPrerequisite;
  }
}

/** True while the tests of a held-back suite are being declared (they are skipped already). */
let declaringHeldBack = false;

/** `describe` gated on a prerequisite. */
export function describeWhen(name: string, need: Prerequisite, declare: () => void): void {
  if (need.missing === null) {
    describe(name, declare);
    return;
  }
  const reason = need.missing;
  const outcome = need.alwaysFail === true || process.env.CI === 'true' ? 'failed' : 'skipped';
  const missingPrerequisite: MissingPrerequisite = { what: need.what, reason, hint: need.hint, outcome };
  const nested = declaringHeldBack;
  // Vitest leaves the tests of a describe.skip nested in another describe.skip uncounted (neither
  // passed, failed nor skipped); inside a held-back suite a plain describe is skipped already.
  (nested ? describe : describe.skip)(name, { meta: { missingPrerequisite } }, () => {
    declaringHeldBack = true;
    try {
      declare();
    } finally {
      declaringHeldBack = nested;
    }
  });
  // One failing test per gate that fails; inside a held-back suite it would only be skipped.
  if (outcome === 'failed' && !nested) {
    describe(name, { meta: { missingPrerequisite } }, () =>
      it(`has ${need.what}`, () => {
        throw new Error(`cannot run "${name}": ${reason}\nTo get it: ${need.hint}`);
      }),
    );
  }
}
