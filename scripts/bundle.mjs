// Bundles each shipped program into one ESM file, dist/bundle/<program>.mjs, from tsc's output in
// dist/ (so the bundle runs exactly the code tsc checked) with its npm dependencies inlined. Start-up
// is then one file to parse instead of thousands of modules (@kubernetes/client-node alone is
// ~2,500). Runs as the second half of `npm run build`.
//
// The .proto files are read at run time, so they are copied beside the bundles (dist/bundle/proto/),
// where proto/load.ts looks for them. The bundles sit two levels below package.json, as dist/*/x.js
// do, so `--version` finds it the same way.
import { cpSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'rolldown';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = join(root, 'dist', 'bundle');

const PROGRAMS = [
  { name: 'alp-node', entry: 'dist/node/main.js' },
  { name: 'dikastes', entry: 'dist/sidecar/main.js' },
];

rmSync(outDir, { recursive: true, force: true });
for (const { name, entry } of PROGRAMS) {
  await build({
    input: join(root, entry),
    platform: 'node',
    logLevel: 'warn',
    output: {
      file: join(outDir, `${name}.mjs`),
      format: 'esm',
      // One file: dynamic imports (dikastes' server modules) are inlined too.
      codeSplitting: false,
    },
  });
}
cpSync(join(root, 'proto'), join(outDir, 'proto'), {
  recursive: true,
  filter: (src) => !/\.ts$/.test(src) && !src.includes(`${join('proto', 'gen')}`),
});
