// Finds the repository root from this file, whether it runs as TypeScript source (vitest) or as
// compiled JavaScript under dist/ (npm run envtest).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRepoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir)
      throw new Error('cannot find the repository root (no package.json above test/harness)');
    dir = parent;
  }
  return dir;
}

export const REPO_ROOT = findRepoRoot();
