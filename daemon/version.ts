// The release version, read from the package.json this file ships with, so `--version` says
// what is installed. Built, this file is dist/daemon/version.js (two levels below package.json);
// run from source by the tests, daemon/version.ts (one level).
import { readFileSync } from 'node:fs';

const PACKAGE_NAME = 'alp-mesh';

export function packageVersion(): string {
  for (const candidate of ['../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(candidate, import.meta.url), 'utf8')) as {
        name?: unknown;
        version?: unknown;
      };
      if (pkg.name === PACKAGE_NAME && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // not this one
    }
  }
  return 'unknown';
}
