// The only place that starts `wg`, `ip` and `wireguard-go`. Commands are argv arrays (never shell
// strings built from data); keys travel only through stdin or a 0600 file that is removed right
// after use (`wg addconf` opens a path, and node's stdin is a socket that /dev/stdin cannot
// open); each command is logged at debug with
// keys shortened, as wg-quick prints its commands; stdout is returned, never logged (the first
// line of `wg show <iface> dump` is the private key).
//
// wireguard-tools and wireguard-go on this platform both hard-code /var/run/wireguard for the
// userspace control sockets (neither honours an environment variable). To keep several nodes on
// one host apart, a configured socket directory is bind-mounted over /var/run/wireguard in a
// private mount namespace for each `wg` / `wireguard-go` run (`unshare` + a fixed two-line
// script whose only inputs are positional arguments).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { open, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { trackChild } from '../../daemon/child-processes.js';
import type { Logger } from '../../daemon/log.js';
import { CommandError } from './command-error.js';
import { wipeFile } from './key-store.js';

export const DEFAULT_WG_SOCKET_DIR = '/var/run/wireguard';
const DEFAULT_TIMEOUT_MS = 30_000;
const BIND_SOCKET_DIR = `mount --bind "$1" ${DEFAULT_WG_SOCKET_DIR} && shift && exec "$@"`;

/**
 * argv that runs `argv` with `socketDir` bind-mounted over /var/run/wireguard in a private mount
 * namespace (wg and wireguard-go hard-code that directory). The script is constant; the directory
 * travels as an argument, never spliced into it.
 */
export function withSocketDir(argv: readonly string[], socketDir: string): string[] {
  return [
    'unshare',
    '--mount',
    '--propagation',
    'private',
    '--',
    'sh',
    '-c',
    BIND_SOCKET_DIR,
    'sh',
    socketDir,
    ...argv,
  ];
}
const WG_TOOLS = new Set(['wg', 'wireguard-go']);

export interface RunOptions {
  /** Written to stdin; may hold a private key, so it is never logged or put in errors. */
  readonly stdin?: string;
  readonly timeoutMs?: number;
}

export interface Runner {
  /** The resolved control-socket directory (wireguard-go's sockets are <dir>/<iface>.sock). */
  readonly wgSocketDir: string;
  /** Runs to completion; resolves with stdout, rejects with a CommandError. */
  run(argv: readonly string[], options?: RunOptions): Promise<string>;
  /**
   * Runs `argv` plus the path of a 0600 file holding `contents` (which may hold a private key),
   * deleting the file afterwards.
   */
  runWithFile(argv: readonly string[], contents: string): Promise<string>;
  /** Starts a long-running child (wireguard-go -f, ip monitor) with the same wrapping. */
  spawnDaemon(argv: readonly string[], env?: Readonly<Record<string, string>>): ChildProcess;
  /** Starts a long-running child that reads commands on stdin (`ip -force -batch -`). */
  spawnCommandReader(argv: readonly string[]): ChildProcess;
}

export interface RunnerOptions {
  readonly log: Logger;
  /** Where `wg` and wireguard-go keep control sockets; default /var/run/wireguard. */
  readonly wgSocketDir?: string;
  /** A directory only we can read (the state directory) for runWithFile's files. */
  readonly secretDir: string;
}

export function createRunner(options: RunnerOptions): Runner {
  const { log } = options;
  const socketDir = options.wgSocketDir === undefined ? DEFAULT_WG_SOCKET_DIR : resolve(options.wgSocketDir);
  const isPrivateSocketDir = socketDir !== DEFAULT_WG_SOCKET_DIR;
  if (isPrivateSocketDir) {
    // Both must exist: the directory we bind, and the mount point it covers.
    mkdirSync(socketDir, { recursive: true, mode: 0o700 });
    mkdirSync(DEFAULT_WG_SOCKET_DIR, { recursive: true, mode: 0o755 });
  }
  removeStaleSecretFiles(options.secretDir, log);
  const wrap = (argv: readonly string[]): string[] =>
    isPrivateSocketDir && WG_TOOLS.has(argv[0] ?? '') ? withSocketDir(argv, socketDir) : [...argv];

  const runner: Runner = {
    wgSocketDir: socketDir,

    async runWithFile(argv, contents) {
      const path = join(options.secretDir, `.wg-${process.pid}-${randomBytes(6).toString('hex')}.conf`);
      const handle = await open(path, 'wx', 0o600);
      try {
        await handle.writeFile(contents);
        await handle.close();
        return await runner.run([...argv, path]);
      } finally {
        await handle.close().catch(() => undefined);
        // Overwritten before unlinking: after a key rotation the old key must not linger on disk.
        await wipeFile(path).catch(() => unlink(path).catch(() => undefined));
      }
    },

    run(argv, runOptions = {}) {
      const shown = describeArgv(argv);
      log.debug({ cmd: shown, hasStdin: runOptions.stdin !== undefined }, 'running command');
      const [file, ...args] = wrap(argv);
      return new Promise<string>((resolvePromise, reject) => {
        const child = trackChild(spawn(file as string, args, { stdio: ['pipe', 'pipe', 'pipe'] }));
        const out: Buffer[] = [];
        let err = '';
        let settled = false;
        const finish = (error: CommandError | null): void => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          if (error === null) resolvePromise(Buffer.concat(out).toString('utf8'));
          else reject(error);
        };
        const timer = setTimeout(() => {
          child.kill('SIGKILL');
          finish(
            new CommandError(
              argv[0] ?? '?',
              shown,
              null,
              `timed out after ${runOptions.timeoutMs ?? DEFAULT_TIMEOUT_MS} ms`,
            ),
          );
        }, runOptions.timeoutMs ?? DEFAULT_TIMEOUT_MS);
        child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
        child.stderr.setEncoding('utf8');
        child.stderr.on('data', (chunk: string) => {
          err = (err + chunk).slice(-4096);
        });
        child.on('error', (cause) =>
          finish(new CommandError(argv[0] ?? '?', shown, null, cause.message, { cause })),
        );
        child.on('close', (code) => {
          finish(code === 0 ? null : new CommandError(argv[0] ?? '?', shown, code, CommandError.tail(err)));
        });
        // A tool that exits before reading all of stdin makes the write fail with EPIPE; the exit
        // code then tells the story, so the write error itself is only noted.
        child.stdin.on('error', () => undefined);
        child.stdin.end(runOptions.stdin ?? '');
      });
    },

    spawnDaemon(argv, env = {}) {
      log.debug({ cmd: describeArgv(argv) }, 'starting daemon');
      const [file, ...args] = wrap(argv);
      // Tracked so that no wireguard-go or ip monitor outlives alp-node, whatever way it exits.
      return trackChild(
        spawn(file as string, args, {
          stdio: ['ignore', 'pipe', 'pipe'],
          env: { ...process.env, ...env },
        }),
      );
    },

    spawnCommandReader(argv) {
      log.debug({ cmd: describeArgv(argv) }, 'starting command reader');
      const [file, ...args] = wrap(argv);
      return spawn(file as string, args, { stdio: ['pipe', 'ignore', 'pipe'] });
    },
  };
  return runner;
}

const SECRET_FILE = /^\.wg-\d+-[0-9a-f]+\.conf$/;

/** A crash between writing and deleting a runWithFile file would leave a key behind; not for long. */
function removeStaleSecretFiles(dir: string, log: Logger): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names.filter((n) => SECRET_FILE.test(n))) {
    rmSync(join(dir, name), { force: true });
    log.info({ file: name }, 'removed a leftover WireGuard configuration file');
  }
}

const KEY_LIKE = /^[A-Za-z0-9+/]{43}=$/;

/** The command as logged and put in errors: keys shortened, long argument lists elided. */
export function describeArgv(argv: readonly string[]): string {
  const shown = argv.slice(0, 12).map((a) => (KEY_LIKE.test(a) ? `${a.slice(0, 6)}…` : a));
  return argv.length > 12 ? `${shown.join(' ')} … (${argv.length - 12} more)` : shown.join(' ');
}
