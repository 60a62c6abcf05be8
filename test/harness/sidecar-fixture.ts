// A running sidecar for integration tests: a scripted Felix on one Unix socket, `bin/dikastes
// server` as a real process dialling it, and an Envoy stand-in on the sidecar's socket.
import { rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { ToDataplane } from '../../proto/gen/felix/ToDataplane.js';
import { EnvoyStandIn } from './ext-authz-client.js';
import { ChildRun, fileExists, waitFor } from './process.js';
import { ScriptedFelix } from './scripted-felix.js';
import { makeTempDir } from './temp-dirs.js';

export interface SidecarFixture {
  readonly dir: string;
  readonly listen: string;
  readonly felix: ScriptedFelix;
  readonly dikastes: ChildRun;
  readonly envoy: EnvoyStandIn;
  /** Number of times the sidecar has logged a store swap at InSync. */
  inSyncCount(): number;
  waitForInSyncCount(n: number): Promise<void>;
  close(): Promise<void>;
}

export interface SidecarFixtureOptions {
  readonly extraArgs?: string[];
  readonly env?: Record<string, string>;
  /** Start the scripted Felix before the sidecar (default true). */
  readonly startFelix?: boolean;
  /** What Felix sends every new stream; set before the sidecar can connect. */
  readonly snapshot?: ToDataplane[];
  /** Whether Felix sends InSync right after the snapshot (default true). */
  readonly sendInSyncOnJoin?: boolean;
  /** Where the sidecar listens; default dikastes.sock in the fixture's own directory. */
  readonly listen?: string;
}

export async function startSidecarFixture(opts: SidecarFixtureOptions = {}): Promise<SidecarFixture> {
  const dir = makeTempDir('alp-sidecar');
  const listen = opts.listen ?? join(dir, 'dikastes.sock');
  const felix = new ScriptedFelix(join(dir, 'felix.sock'));
  felix.snapshot = opts.snapshot ?? [];
  felix.sendInSyncOnJoin = opts.sendInSyncOnJoin ?? true;
  if (opts.startFelix !== false) await felix.start();
  const dikastes = new ChildRun(
    'dikastes',
    ['server', '-l', listen, '-d', felix.socketPath, '--log-level', 'debug', ...(opts.extraArgs ?? [])],
    opts.env ?? {},
  );
  // A socket, not just a file: the listen path may hold a stale file that dikastes must replace.
  await waitFor('the dikastes socket', () => fileExists(listen) && statSync(listen).isSocket());
  const envoy = new EnvoyStandIn(listen);
  const inSyncCount = () =>
    dikastes.logs().filter((l) => l.msg === 'policy sync in sync; store swapped in').length;
  return {
    dir,
    listen,
    felix,
    dikastes,
    envoy,
    inSyncCount,
    waitForInSyncCount: (n) => waitFor(`${n} InSync store swaps`, () => inSyncCount() >= n),
    async close() {
      envoy.close();
      await dikastes.stop();
      await felix.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
