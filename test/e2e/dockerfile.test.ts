// examples/istio/Dockerfile cannot be built here (no container runtime, no registry), so this
// checks what would break it silently: the build stage must copy every directory the product
// build compiles (a new top-level folder would otherwise be missing from the image), and the
// runtime stage must hold what the DaemonSet and the injection template run.
import { readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../harness/repo-root.js';
import { EXAMPLE_DIR } from './istio-example.js';

const dockerfile = await readFile(join(EXAMPLE_DIR, 'Dockerfile'), 'utf8');
const stages = dockerfile.split(/^FROM /m).slice(1);
const [build = '', runtime = ''] = stages;
const copied = (stage: string) =>
  [...stage.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((m) => (m[1] as string).split(/\s+/));

describe('examples/istio/Dockerfile', () => {
  it('has a build stage and a runtime stage', () => {
    expect(stages).toHaveLength(2);
    expect(build).toMatch(/ AS build/);
  });

  it('copies every folder the product build compiles, and bin/', () => {
    // The folders of the files tsc itself would compile, as TypeScript reads tsconfig.build.json.
    const read = ts.readConfigFile(join(REPO_ROOT, 'tsconfig.build.json'), (p) => ts.sys.readFile(p));
    const parsed = ts.parseJsonConfigFileContent(read.config, ts.sys, REPO_ROOT);
    const folders = new Set(
      parsed.fileNames.map((f) => {
        const parts = relative(REPO_ROOT, f).split(sep);
        return parts[0] === 'examples' ? parts.slice(0, 2).join('/') : (parts[0] as string);
      }),
    );
    expect(folders.size).toBeGreaterThan(5);
    expect(copied(build)).toEqual(expect.arrayContaining([...folders, 'bin', 'package.json']));
  });

  it('copies every script `npm run build` runs (the bundler step)', async () => {
    const pkg = JSON.parse(await readFile(join(REPO_ROOT, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    const scripts = [...(pkg.scripts.build ?? '').matchAll(/\bnode (\S+)/g)].map((m) => m[1] as string);
    expect(scripts).toContain('scripts/bundle.mjs');
    expect(copied(build)).toEqual(expect.arrayContaining(scripts));
  });

  it('runs as a non-root user with dikastes as the entrypoint, and has the tools alp-node drives', () => {
    expect(runtime).toMatch(/^USER 999:999$/m);
    expect(runtime).toMatch(/^ENTRYPOINT \["dikastes"\]$/m);
    for (const pkg of ['wireguard-tools', 'wireguard-go', 'nftables', 'iproute2', 'util-linux']) {
      expect(runtime).toContain(pkg);
    }
    for (const dir of ['node_modules', 'dist', 'bin', 'proto', 'package.json']) {
      expect(runtime).toMatch(new RegExp(`^COPY --from=build /src/${dir} `, 'm'));
    }
  });
});
