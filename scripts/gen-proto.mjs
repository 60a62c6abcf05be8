// Regenerates proto/gen (TypeScript types for our .proto subsets) with the same options the
// runtime loader uses (proto/loader-options.json). Run: npm run gen:proto
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const opts = JSON.parse(readFileSync(join(root, 'proto/loader-options.json'), 'utf8'));
const files = JSON.parse(readFileSync(join(root, 'proto/files.json'), 'utf8'));
const outDir = join(root, 'proto/gen');

rmSync(outDir, { recursive: true, force: true });
const flags = [
  opts.keepCase ? '--keepCase' : null,
  `--longs=${opts.longs}`,
  `--enums=${opts.enums}`,
  opts.defaults ? '--defaults' : null,
  opts.oneofs ? '--oneofs' : null,
  '--grpcLib=@grpc/grpc-js',
  '--importFileExtension=.js',
  '-I',
  join(root, 'proto'),
  '-O',
  outDir,
].filter((f) => f !== null);
execFileSync(join(root, 'node_modules/.bin/proto-loader-gen-types'), [...flags, ...files], {
  cwd: join(root, 'proto'),
  stdio: 'inherit',
});
