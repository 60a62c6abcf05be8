// Bundles each shipped program into one file, dist/bundle/<program>.mjs (ESM) or .cjs, from tsc's
// output in dist/ (so the bundle runs exactly the code tsc checked) with its npm dependencies
// inlined. Start-up is then one file to parse instead of thousands of modules
// (@kubernetes/client-node alone is ~2,500). Runs as the second half of `npm run build`.
//
// alp-node's bundle is CommonJS so that bin/alp-node can compile it with a V8 code cache (Node 20
// has none for ES modules, nor a module compile cache): compiling the 7 MB bundle was ~150 ms of
// every start. The cache is made here, by running the bundle once (`--version`) with the Node.js
// that builds, and written beside it as alp-node.cjs.cache; V8 refuses a cache from another
// Node.js or another bundle, and then compiles from source as before. That run first takes a small
// cluster through the start's pure path (node/code-cache-warmup.ts), so the cache also holds the
// functions a start runs, which V8 would otherwise compile from source at their first call.
//
// The .proto files are read at run time, so they are copied beside the bundles (dist/bundle/proto/),
// where proto/load.ts looks for them. The bundles sit two levels below package.json, as dist/*/x.js
// do, so `--version` finds it the same way.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, rmSync } from 'node:fs';
import { basename, dirname, join, relative, sep } from 'node:path';
import { env, execPath } from 'node:process';
import { fileURLToPath } from 'node:url';
import { build } from 'rolldown';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = join(root, 'dist', 'bundle');

const PROGRAMS = [
  { name: 'alp-node', entry: 'dist/node/main.js', format: 'cjs' },
  { name: 'dikastes', entry: 'dist/sidecar/main.js', format: 'esm' },
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
const BANNER = {
  esm: [
    "import { fileURLToPath as __alpFileURLToPath } from 'node:url';",
    'const __alpBundlePath = (rel) => __alpFileURLToPath(new URL(rel, import.meta.url));',
  ].join('\n'),
  // Strict, as the ES module bundle was (and as tsc's output is).
  cjs: [
    "'use strict';",
    "const { fileURLToPath: __alpFileURLToPath, pathToFileURL: __alpPathToFileURL } = require('node:url');",
    'const __alpBundlePath = (rel) => __alpFileURLToPath(new URL(rel, __alpPathToFileURL(__filename)));',
  ].join('\n'),
};

rmSync(outDir, { recursive: true, force: true });
for (const { name, entry, format } of PROGRAMS) {
  await build({
    input: join(root, entry),
    platform: 'node',
    logLevel: 'warn',
    plugins: [dirnameShim],
    output: {
      banner: BANNER[format],
      file: join(outDir, `${name}.${format === 'esm' ? 'mjs' : 'cjs'}`),
      format,
      // One file: dynamic imports (dikastes' server modules) are inlined too.
      codeSplitting: false,
      // The source stays in the process's heap for as long as it runs (V8 compiles functions
      // lazily from it): one non-ASCII character anywhere makes V8 hold all of it as two bytes a
      // character, and doc comments were a third of it. Licence notices are kept.
      charset: 'ascii',
      comments: { legal: true, annotation: true, jsdoc: false },
    },
  });
}
cpSync(join(root, 'proto'), join(outDir, 'proto'), {
  recursive: true,
  filter: (src) => !/\.ts$/.test(src) && !src.includes(`${join('proto', 'gen')}`),
});

// alp-node's code cache: bin/alp-node writes it after running the bundle's top level and the warm-up.
const cacheRun = spawnSync(execPath, [join(root, 'bin', 'alp-node'), '--version'], {
  env: { ...env, ALP_NODE_WRITE_CODE_CACHE: '1' },
  encoding: 'utf8',
});
if (cacheRun.status !== 0 || !existsSync(join(outDir, 'alp-node.cjs.cache')))
  throw new Error(`making alp-node's code cache failed: ${cacheRun.stderr}`);
