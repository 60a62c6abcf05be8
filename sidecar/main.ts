// Entry point of `dikastes`: parses the command line, runs the command, owns process exit.
// The server's modules load only for `server`, so `health` (a kubelet probe every few seconds)
// starts fast.
import { parseDikastesArgs } from './cli.js';
import { runClient, runHealth } from './client-commands.js';

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
    case 'health':
    case 'client': {
      const outcome = cmd.kind === 'health' ? await runHealth(cmd) : await runClient(cmd);
      if (outcome.stdout !== undefined) process.stdout.write(outcome.stdout);
      if (outcome.stderr !== undefined) process.stderr.write(outcome.stderr);
      return outcome.exitCode;
    }
    case 'server': {
      const { runServer } = await import('./server-command.js');
      return runServer(cmd);
    }
    default: {
      const never: never = cmd;
      throw new Error(`unhandled command ${String(never)}`);
    }
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    if (code !== 0 || process.argv[2] !== 'server') return;
    // gRPC keeps handles open briefly after shutdown; the server is done, so leave now.
    setTimeout(() => process.exit(code), 100).unref();
  },
  (err: unknown) => {
    process.stderr.write(`Error: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
