// The one structured logger: JSON lines on stderr (pino), or human text with --log-format=text.
import { pino, type Logger as PinoLogger } from 'pino';

export type Logger = PinoLogger;
export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';
export type LogFormat = 'json' | 'text';

export const LOG_LEVELS: readonly LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

export interface LoggerOptions {
  readonly name: string;
  readonly level: LogLevel;
  readonly format: LogFormat;
}

/** Paths that must never reach a log line: credentials travel in these. */
const REDACT = [
  'privateKey',
  '*.privateKey',
  'headers.authorization',
  'headers.cookie',
  '*.headers.authorization',
  '*.headers.cookie',
];

/** Renders one pino record as a short text line; for people reading a terminal. */
function textLine(record: Record<string, unknown>): string {
  const { level, time, msg, pid: _pid, hostname: _host, name, ...rest } = record;
  const label = pino.levels.labels[Number(level)] ?? String(level);
  const fields = Object.entries(rest)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  const when = new Date(Number(time)).toISOString();
  return `${when} ${label.toUpperCase().padEnd(5)} ${String(name)}: ${String(msg ?? '')}${fields ? ' ' + fields : ''}\n`;
}

export function createLogger(opts: LoggerOptions): Logger {
  const base = { name: opts.name, level: opts.level, redact: { paths: REDACT, censor: '[redacted]' } };
  if (opts.format === 'json') return pino(base, pino.destination({ fd: 2, sync: true }));
  const stream = {
    write(line: string): void {
      process.stderr.write(textLine(JSON.parse(line) as Record<string, unknown>));
    },
  };
  return pino(base, stream);
}

/** A logger that drops everything: for tests and library use without a caller's logger. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
