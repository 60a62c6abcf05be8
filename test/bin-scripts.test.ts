// bin/dikastes and bin/alp-node run their bundles in dist/bundle/. Run before building, they say so in one
// line instead of printing Node's module-resolution stack; any other failure is left as it is.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { REPO_ROOT } from './harness/repo-root.js';

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'alp-bin-'));
  mkdirSync(join(root, 'bin'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

/** Runs a copy of bin/<name> from a scratch tree whose dist/ the test controls. */
function runCopy(name: string): { status: number | null; stdout: string; stderr: string } {
  copyFileSync(join(REPO_ROOT, 'bin', name), join(root, 'bin', name));
  const run = spawnSync(process.execPath, [join(root, 'bin', name), '--help'], { encoding: 'utf8' });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

// dikastes' bundle is an ES module; alp-node's is CommonJS (compiled with a code cache).
describe.each([
  ['dikastes', 'bundle/dikastes.mjs', (spec: string) => `import '${spec}';\n`, 'package'],
  ['alp-node', 'bundle/alp-node.cjs', (spec: string) => `require('${spec}');\n`, 'module'],
])('bin/%s', (name, main, load, what) => {
  it('without dist/: one line saying how to build, exit 1', () => {
    expect(runCopy(name)).toEqual({
      status: 1,
      stdout: '',
      stderr: 'alp-mesh is not built: run npm ci (or npm run build)\n',
    });
  });

  it('with a part of dist/ missing: the same', () => {
    mkdirSync(join(root, 'dist', main, '..'), { recursive: true });
    writeFileSync(join(root, 'dist', main), load('./missing-sibling.js'));
    expect(runCopy(name)).toMatchObject({
      status: 1,
      stderr: 'alp-mesh is not built: run npm ci (or npm run build)\n',
    });
  });

  it('any other failure to load is reported as Node reports it, not as "not built"', () => {
    mkdirSync(join(root, 'dist', main, '..'), { recursive: true });
    writeFileSync(join(root, 'dist', main), load('alp-no-such-package'));
    const run = runCopy(name);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(`Cannot find ${what} 'alp-no-such-package'`);
    expect(run.stderr).not.toContain('not built');
  });

  it('with the build in place, runs it', () => {
    const run = spawnSync(process.execPath, [join(REPO_ROOT, 'bin', name), '--help'], { encoding: 'utf8' });
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^Usage/);
  });
});
