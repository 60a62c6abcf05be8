// The one rule for suites that need something the machine may lack (root, WireGuard tools, a
// kube-apiserver): run when it is there; fail in CI (CI=true) or when `alwaysFail`; otherwise skip
// loudly, saying why and how to get it.
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

/** `describe` gated on a prerequisite; `declareSkipped` declares the suite's tests when skipping. */
export function describeWhen(
  name: string,
  need: Prerequisite,
  declare: () => void,
  declareSkipped: () => void = declare,
): void {
  if (need.missing === null) {
    describe(name, declare);
    return;
  }
  const reason = need.missing;
  if (need.alwaysFail === true || process.env.CI === 'true') {
    describe(name, () =>
      it(`has ${need.what}`, () => {
        throw new Error(`cannot run "${name}": ${reason}\nTo get it: ${need.hint}`);
      }),
    );
    return;
  }
  console.warn(
    `\n${'='.repeat(90)}\nSKIPPED "${name}": needs ${need.what} (${reason}). ${need.hint}\n${'='.repeat(90)}`,
  );
  describe.skip(`${name} [skipped: ${reason}]`, declareSkipped);
}
