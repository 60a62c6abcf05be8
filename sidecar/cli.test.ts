import { describe, expect, it } from 'vitest';
import { DEFAULT_DIAL, DEFAULT_LISTEN, parseDikastesArgs, USAGE } from './cli.js';

describe('parseDikastesArgs', () => {
  it("accepts Calico's manifest invocation unchanged", () => {
    const r = parseDikastesArgs([
      'server',
      '-l',
      '/var/run/dikastes/dikastes.sock',
      '-d',
      '/var/run/felix/nodeagent/socket',
    ]);
    expect(r).toMatchObject({
      ok: true,
      command: { kind: 'server', listen: DEFAULT_LISTEN, dial: DEFAULT_DIAL },
    });
  });

  it('defaults --dial to the in-pod Felix socket, not a relative path', () => {
    expect(parseDikastesArgs(['server'])).toMatchObject({
      ok: true,
      command: { dial: '/var/run/felix/nodeagent/socket' },
    });
  });

  it('accepts persistent flags before the sub-command and --flag=value forms', () => {
    expect(parseDikastesArgs(['--listen=/tmp/x.sock', '--debug', 'server'])).toMatchObject({
      ok: true,
      command: { kind: 'server', listen: '/tmp/x.sock', logLevel: 'debug' },
    });
  });

  it('keeps every extra off by default', () => {
    expect(parseDikastesArgs(['server'])).toMatchObject({
      ok: true,
      command: {
        listenTcp: null,
        metricsAddr: null,
        denyDetails: false,
        logFormat: 'json',
        logLevel: 'info',
      },
    });
  });

  it('client takes namespace and account, an optional method, and dials the listen socket by default', () => {
    expect(parseDikastesArgs(['client', 'ns1', 'sa1', '--method', 'POST'])).toMatchObject({
      ok: true,
      command: { kind: 'client', namespace: 'ns1', account: 'sa1', method: 'POST', dial: DEFAULT_LISTEN },
    });
  });

  it('health takes one word and --dial-path; the word is checked when run (Calico exits 1 for it)', () => {
    expect(parseDikastesArgs(['health', 'readiness', '--dial-path', '/s'])).toMatchObject({
      ok: true,
      command: { kind: 'health', check: 'readiness', dialPath: '/s' },
    });
  });

  it('--version and -v ask for the version (Calico uses -v for nothing), and help lists them', () => {
    expect(parseDikastesArgs(['--version'])).toEqual({ ok: true, command: { kind: 'version' } });
    expect(parseDikastesArgs(['-v'])).toEqual({ ok: true, command: { kind: 'version' } });
    expect(USAGE).toMatch(/-v, --version/);
  });

  it('checks listen addresses on the command line: host:port, [v6]:port, :port, port 0 for any', () => {
    expect(parseDikastesArgs(['server', '--listen-tcp', '[::1]:0', '--metrics-addr', ':9091'])).toMatchObject(
      { ok: true, command: { listenTcp: '[::1]:0', metricsAddr: ':9091' } },
    );
  });

  it('client prints a verdict unless --json asks for the raw answer', () => {
    expect(parseDikastesArgs(['client', 'ns', 'sa'])).toMatchObject({ command: { json: false } });
    expect(parseDikastesArgs(['client', 'ns', 'sa', '--json'])).toMatchObject({ command: { json: true } });
  });

  it('bare dikastes and --help print usage', () => {
    expect(parseDikastesArgs([])).toMatchObject({ ok: true, command: { kind: 'help' } });
    expect(parseDikastesArgs(['server', '--help'])).toMatchObject({ ok: true, command: { kind: 'help' } });
  });

  it.each([
    [['server', '--nope'], /^unknown flag: --nope$/],
    [['server', '-x'], /^unknown shorthand flag: 'x' in -x$/],
    [['server', '--metrics-addr', 'nonsense'], /^invalid --metrics-addr "nonsense" \(want host:port/],
    [['server', '--metrics-addr', '127.0.0.1:65536'], /invalid --metrics-addr "127.0.0.1:65536"/],
    [['server', '--listen-tcp', 'localhost'], /^invalid --listen-tcp "localhost"/],
    [['server', '--listen-tcp', 'a b:80'], /invalid --listen-tcp/],
    [['health', 'liveness', '--json'], /unknown flag --json for "dikastes health"/],
    [['frobnicate'], /unknown command "frobnicate"/],
    [['client', 'a'], /accepts 2 arg\(s\), received 1/],
    [['health', 'a', 'b'], /accepts 1 arg\(s\), received 2/],
    [['server', 'x'], /unexpected argument "x"/],
    [['server', '--method', 'GET'], /unknown flag --method for "dikastes server"/],
    [['server', '--log-format', 'xml'], /invalid --log-format "xml"/],
    [['server', '--log-level', 'loud'], /invalid --log-level "loud"/],
    [['server', '--max-message-bytes', '0'], /invalid --max-message-bytes/],
    [['health', 'liveness', '--timeout', 'soon'], /invalid --timeout/],
  ])('rejects %j', (argv, message) => {
    const r = parseDikastesArgs(argv);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(message);
  });
});
