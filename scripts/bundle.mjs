// Bundles each shipped program into one ESM file, dist/bundle/<program>.mjs, from tsc's output in
// dist/ (so the bundle runs exactly the code tsc checked) with its npm dependencies inlined. Start-up
// is then one file to parse instead of thousands of modules (@kubernetes/client-node alone is
// ~2,500). Runs as the second half of `npm run build`.
//
// The .proto files are read at run time, so they are copied beside the bundles (dist/bundle/proto/),
// where proto/load.ts looks for them. The bundles sit two levels below package.json, as dist/*/x.js
// do, so `--version` finds it the same way.
import { cpSync, existsSync, rmSync } from 'node:fs';
import { basename, dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'rolldown';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = join(root, 'dist', 'bundle');

const PROGRAMS = [
  { name: 'alp-node', entry: 'dist/node/main.js' },
  { name: 'dikastes', entry: 'dist/sidecar/main.js' },
];

/**
 * CommonJS dependencies that read `__dirname`/`__filename` (grpc-js for its channelz and ORCA
 * .proto files, pino for its transport workers) get them back, pointing where the file lies in
 * node_modules, relative to the bundle (ESM has neither, and the bundle is not where they were).
 * Their own files are then found as before: the image and a checkout both keep node_modules two
 * levels above dist/bundle/.
 */
const dirnameShim = {
  name: 'alp-dirname-shim',
  transform(code, id) {
    if (!id.includes(`${sep}node_modules${sep}`) || !/\b__(dirname|filename)\b/.test(code)) return null;
    const dir = relative(outDir, dirname(id)).split(sep).join('/');
    if (!existsSync(join(outDir, dir))) throw new Error(`${id}: ${dir} is not there from ${outDir}`);
    const head =
      `var __dirname = __alpBundlePath(${JSON.stringify(dir)}), ` +
      `__filename = __alpBundlePath(${JSON.stringify(`${dir}/${basename(id)}`)});\n`;
    return { code: head + code, map: null };
  },
};
const BANNER = [
  "import { fileURLToPath as __alpFileURLToPath } from 'node:url';",
  'const __alpBundlePath = (rel) => __alpFileURLToPath(new URL(rel, import.meta.url));',
].join('\n');

rmSync(outDir, { recursive: true, force: true });
for (const { name, entry } of PROGRAMS) {
  await build({
    input: join(root, entry),
    platform: 'node',
    logLevel: 'warn',
    plugins: [dirnameShim],
    output: {
      banner: BANNER,
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
