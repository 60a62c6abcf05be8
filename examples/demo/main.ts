// `npm run demo`: alp-node and real Dikastes sidecars on the file datastore, no root, no cluster.
import { runDemo } from './run-demo.js';

try {
  const result = await runDemo((line) => process.stdout.write(`${line}\n`));
  process.exit(result.unexpected === 0 ? 0 : 1);
} catch (err) {
  process.stderr.write(`demo failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
}
