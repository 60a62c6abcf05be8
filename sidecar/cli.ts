// Command line of `dikastes`, compatible with Calico's: server, client, health; -l, -d, --debug.
// Pure: argv and env in, a command or a usage error out. Only main.ts prints and exits.
import { parseArgs } from 'node:util';
import { HOST_PORT_FORMS, parseHostPort } from '../daemon/host-port.js';
import { LOG_LEVELS, type LogFormat, type LogLevel } from '../daemon/log.js';

export const DEFAULT_LISTEN = '/var/run/dikastes/dikastes.sock';
/** Unlike Calico (whose default is the useless relative path `localhost:50051`), the socket path
 *  Felix's per-pod PolicySync socket has inside the pod. */
export const DEFAULT_DIAL = '/var/run/felix/nodeagent/socket';
/** Felix splits IP sets to stay under 4 MiB; we accept far larger messages, for IP sets of
 * whole clusters in one update. */
export const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

export interface CommonOptions {
  readonly logLevel: LogLevel;
  readonly logFormat: LogFormat;
}

export interface ServerCommand extends CommonOptions {
  readonly kind: 'server';
  readonly listen: string;
  readonly dial: string;
  readonly listenTcp: string | null;
  readonly metricsAddr: string | null;
  readonly denyDetails: boolean;
  readonly maxMessageBytes: number;
}

export interface ClientCommand extends CommonOptions {
  readonly kind: 'client';
  readonly dial: string;
  readonly namespace: string;
  readonly account: string;
  readonly method: string;
  readonly timeoutMs: number;
  /** Print the raw CheckResponse as JSON rather than a verdict for people. */
  readonly json: boolean;
}

export interface HealthCommand {
  readonly kind: 'health';
  readonly check: string;
  readonly dialPath: string;
  readonly timeoutMs: number;
}

export interface HelpCommand {
  readonly kind: 'help';
  readonly text: string;
}

export interface VersionCommand {
  readonly kind: 'version';
}

export type DikastesCommand = ServerCommand | ClientCommand | HealthCommand | HelpCommand | VersionCommand;
export type CliResult = { ok: true; command: DikastesCommand } | { ok: false; error: string };

export const USAGE = `Usage:
  dikastes server [-l <listen socket>] [-d <felix socket>] [--debug] [options]
  dikastes client <namespace> <account> [--method <M>] [-d <dikastes socket>]
  dikastes health liveness|readiness [--dial-path <dikastes socket>]
  dikastes --version

Flags (all commands):
  -l, --listen <path>        Unix socket to serve ext_authz and Healthz on (default ${DEFAULT_LISTEN})
  -d, --dial <path>          server: Felix's PolicySync socket (default ${DEFAULT_DIAL});
                             client: the dikastes socket to send a Check to (default: the --listen path)
      --debug                log at debug level
      --log-level <level>    ${LOG_LEVELS.join('|')} (default info)
      --log-format <format>  json|text (default json)
  -h, --help                 print this help
  -v, --version              print the version
Server flags:
      --listen-tcp <host:port>    also serve the same gRPC services on TCP (off by default)
      --metrics-addr <host:port>  serve Prometheus metrics on http://<host:port>/metrics (off by default)
      --deny-details              put the deny reason in the 403 body (off: no policy internals)
      --max-message-bytes <n>     largest PolicySync message accepted (default ${DEFAULT_MAX_MESSAGE_BYTES})
Client flags:
      --method <M>           HTTP method to put in the request (default: no HTTP attributes)
      --json                 print the whole CheckResponse as JSON instead of the verdict
Health flags:
      --dial-path <path>     dikastes socket to probe (default ${DEFAULT_LISTEN})
Client and health flags:
      --timeout <ms>         deadline for the call (default 5000)
Environment (server):
  DIKASTES_HTTP_BIND_PORT, DIKASTES_HTTP_BIND_ADDR   serve /terminate (any method) to shut down;
                                                     the address defaults to 127.0.0.1
Exit codes:
  server: 0 stopped on request, 1 could not start or stop cleanly, 2 usage
  client: 0 allowed, 1 no answer, 2 usage, 3 denied by policy, 4 answered with an error
  health: 0 healthy, 1 bad check word, 2 cannot reach the server, 3 unhealthy
`;

const OPTIONS = {
  listen: { type: 'string', short: 'l' },
  dial: { type: 'string', short: 'd' },
  debug: { type: 'boolean' },
  'log-level': { type: 'string' },
  'log-format': { type: 'string' },
  'listen-tcp': { type: 'string' },
  'metrics-addr': { type: 'string' },
  'deny-details': { type: 'boolean' },
  'max-message-bytes': { type: 'string' },
  method: { type: 'string' },
  'dial-path': { type: 'string' },
  timeout: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

const ONLY_FOR: Readonly<Record<string, DikastesCommand['kind']>> = {
  'listen-tcp': 'server',
  'metrics-addr': 'server',
  'deny-details': 'server',
  'max-message-bytes': 'server',
  method: 'client',
  json: 'client',
  'dial-path': 'health',
};

function commonOptions(v: Values): CommonOptions | string {
  const level = v['log-level'] ?? (v.debug === true ? 'debug' : 'info');
  if (!(LOG_LEVELS as readonly string[]).includes(level)) return `invalid --log-level "${level}"`;
  const format = v['log-format'] ?? 'json';
  if (format !== 'json' && format !== 'text') return `invalid --log-format "${format}" (json or text)`;
  return { logLevel: level as LogLevel, logFormat: format };
}

function positiveInt(text: string | undefined, fallback: number, flag: string): number | string {
  if (text === undefined) return fallback;
  if (!/^\d+$/.test(text) || Number(text) < 1) return `invalid ${flag} "${text}" (a positive integer)`;
  return Number(text);
}

/** Cobra's wording (spec dikastes.md §1.1), which Node's own message does not match. */
function unknownFlag(argv: readonly string[]): string | null {
  const { tokens } = parseArgs({
    args: [...argv],
    options: OPTIONS,
    allowPositionals: true,
    strict: false,
    tokens: true,
  });
  for (const t of tokens) {
    if (t.kind !== 'option' || Object.hasOwn(OPTIONS, t.name)) continue;
    return t.rawName.startsWith('--')
      ? `unknown flag: ${t.rawName}`
      : `unknown shorthand flag: '${t.name}' in ${t.rawName}`;
  }
  return null;
}

/** Checks a host:port flag now, so that a typo never gets as far as starting anything. */
function listenAddressError(text: string | undefined, flag: string): string | null {
  if (text === undefined || parseHostPort(text) !== null) return null;
  return `invalid ${flag} "${text}" (want ${HOST_PORT_FORMS})`;
}

export function parseDikastesArgs(argv: readonly string[]): CliResult {
  const unknown = unknownFlag(argv);
  if (unknown !== null) return { ok: false, error: unknown };
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message : String(err) };
  }
  const { values: v, positionals } = parsed;
  const [sub, ...args] = positionals;
  if (v.help === true || (sub === undefined && v.version !== true) || sub === 'help')
    return { ok: true, command: { kind: 'help', text: USAGE } };
  if (v.version === true) return { ok: true, command: { kind: 'version' } };
  if (sub !== 'server' && sub !== 'client' && sub !== 'health') {
    return { ok: false, error: `unknown command "${sub}" for "dikastes"` };
  }
  for (const [flag, owner] of Object.entries(ONLY_FOR)) {
    if (v[flag as keyof Values] !== undefined && owner !== sub) {
      return { ok: false, error: `unknown flag --${flag} for "dikastes ${sub}"` };
    }
  }
  const timeoutMs = positiveInt(v.timeout, 5_000, '--timeout');
  if (typeof timeoutMs === 'string') return { ok: false, error: timeoutMs };

  if (sub === 'health') {
    if (args.length !== 1) return { ok: false, error: `accepts 1 arg(s), received ${args.length}` };
    return {
      ok: true,
      command: { kind: 'health', check: args[0]!, dialPath: v['dial-path'] ?? DEFAULT_LISTEN, timeoutMs },
    };
  }
  const common = commonOptions(v);
  if (typeof common === 'string') return { ok: false, error: common };
  if (sub === 'client') {
    if (args.length !== 2) return { ok: false, error: `accepts 2 arg(s), received ${args.length}` };
    return {
      ok: true,
      command: {
        kind: 'client',
        ...common,
        dial: v.dial ?? v.listen ?? DEFAULT_LISTEN,
        namespace: args[0]!,
        account: args[1]!,
        method: v.method ?? '',
        timeoutMs,
        json: v.json === true,
      },
    };
  }
  if (args.length !== 0)
    return { ok: false, error: `unexpected argument "${args[0]}" for "dikastes server"` };
  const maxMessageBytes = positiveInt(
    v['max-message-bytes'],
    DEFAULT_MAX_MESSAGE_BYTES,
    '--max-message-bytes',
  );
  if (typeof maxMessageBytes === 'string') return { ok: false, error: maxMessageBytes };
  const addressError =
    listenAddressError(v['listen-tcp'], '--listen-tcp') ??
    listenAddressError(v['metrics-addr'], '--metrics-addr');
  if (addressError !== null) return { ok: false, error: addressError };
  return {
    ok: true,
    command: {
      kind: 'server',
      ...common,
      listen: v.listen ?? DEFAULT_LISTEN,
      dial: v.dial ?? DEFAULT_DIAL,
      listenTcp: v['listen-tcp'] ?? null,
      metricsAddr: v['metrics-addr'] ?? null,
      denyDetails: v['deny-details'] === true,
      maxMessageBytes,
    },
  };
}
