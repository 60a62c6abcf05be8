// Entry point of `dikastes`: parses the command line, runs the command, owns process exit.
// The server's modules load only for `server`, so `health` (a kubelet probe every few seconds)
// starts fast.
import { readFileSync } from 'node:fs';
import { parseDikastesArgs } from './cli.js';
import { runClient, runHealth } from './client-commands.js';

/** The version in package.json, which sits two levels above this file in dist/ and in a package. */
function packageVersion(): string {
  const pkg: unknown = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
  const version = typeof pkg === 'object' && pkg !== null && 'version' in pkg ? pkg.version : undefined;
  if (typeof version !== 'string') throw new Error('package.json has no version');
  return version;
}

/** SIGTERM and SIGINT abort the returned signal; caught from before start-up begins. */
function stopOnSignals(): AbortSignal {
  const stop = new AbortController();
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => stop.abort(signal));
  return stop.signal;
}

async function main(argv: readonly string[]): Promise<number> {
  const parsed = parseDikastesArgs(argv);
  if (!parsed.ok) {
    process.stderr.write(`Error: ${parsed.error}\nRun 'dikastes --help' for usage.\n`);
    return 2;
  }
  const cmd = parsed.command;
  switch (cmd.kind) {
    case 'help':
      process.stdout.write(cmd.text);
      return 0;
    case 'version':
      // Cobra's version template: `<name> version <version>`.
      process.stdout.write(`dikastes version ${packageVersion()}\n`);
      return 0;
    case 'health':
    case 'client': {
      const outcome = cmd.kind === 'health' ? await runHealth(cmd) : await runClient(cmd);
      if (outcome.stdout !== undefined) process.stdout.write(outcome.stdout);
      if (outcome.stderr !== undefined) process.stderr.write(outcome.stderr);
      return outcome.exitCode;
    }
    case 'server': {
      const stop = stopOnSignals();
      const { runServer } = await import('./server-command.js');
      return runServer(cmd, stop);
    }
    default: {
      const never: never = cmd;
      throw new Error(`unhandled command ${String(never)}`);
    }
  }
}

/** Everything a command started is closed when it returns; a lingering handle (a DNS lookup of an
 *  abandoned start step, a gRPC channel's timer) must not keep the process alive after that. */
function exitSoon(code: number): void {
  process.exitCode = code;
  setTimeout(() => process.exit(code), 100).unref();
}

main(process.argv.slice(2)).then(exitSoon, (err: unknown) => {
  process.stderr.write(`Error: ${err instanceof Error ? err.message : String(err)}\n`);
  exitSoon(1);
});
