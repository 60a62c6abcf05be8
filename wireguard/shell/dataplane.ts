// Reads the host's WireGuard state for one family (`wg show dump`, `ip -j`) into an
// ObservedDevice, and carries out plan steps with `wg` and `ip`, choosing the kernel device or
// the wireguard-go fallback. A thin shell: every decision was made by plan.ts.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { IpFamily } from '../../calico/ip.js';
import type { Logger } from '../../daemon/log.js';
import { CommandError } from './command-error.js';
import { EMPTY_OBSERVED, type ObservedDevice } from '../core/device-state.js';
import {
  parseAddresses,
  parseLinks,
  parseRoutes,
  parseRules,
  type LinkInfo,
  type Parsed,
} from '../core/ip-json.js';
import type { PrivateKeyText } from '../core/keys.js';
import { FOREIGN_TUN, type Step } from '../core/plan.js';
import { IpBatch, type IpBatchMode } from './ip-batch.js';
import type { Runner } from './runner.js';
import {
  routeDeleteLines,
  routeReplaceLines,
  ruleLine,
  wgConfText,
  wgHandshakeArgvs,
} from '../core/tool-input.js';
import { uapiHandshakeRequests, uapiSet, uapiSetText } from './uapi.js';
import { UserspaceDevices } from './userspace-device.js';
import { parseWgDump, type WgDump } from '../core/wg-dump.js';

/** `auto`: kernel WireGuard when `ip link add … type wireguard` works, else wireguard-go. */
export type DeviceMode = 'auto' | 'kernel' | 'userspace';

const PEERS_PER_REMOVE_CALL = 200;
const CONCURRENT: ReadonlySet<Step['op']> = new Set([
  'address-add',
  'address-delete',
  'wireguard-set',
  'routes',
]);

export class Dataplane {
  private readonly userspace: UserspaceDevices;
  /** null until the first device creation tells us. */
  private kernelSupported: boolean | null = null;
  /** Route, rule, address and link changes go through one long-lived `ip` per family. */
  readonly ipBatches: Readonly<Record<IpFamily, IpBatch>>;

  constructor(
    private readonly runner: Runner,
    private readonly log: Logger,
    private readonly mode: DeviceMode,
    onDeviceDied: (iface: string) => void,
    ipMode: IpBatchMode = 'channel',
  ) {
    this.ipBatches = {
      4: new IpBatch(runner, log, '-4', ipMode),
      6: new IpBatch(runner, log, '-6', ipMode),
    };
    this.userspace = new UserspaceDevices(
      runner,
      log,
      onDeviceDied,
      async (iface) => (await this.readDump(iface)) !== null,
    );
  }

  /** Which implementation serves `iface` right now (for logs and metrics). */
  implementation(iface: string): 'kernel' | 'userspace' | 'none' {
    if (this.userspace.isRunning(iface)) return 'userspace';
    return this.kernelSupported === true ? 'kernel' : 'none';
  }

  async observe(family: IpFamily, iface: string, table: number): Promise<ObservedDevice> {
    try {
      return await this.observeOnce(family, iface, table);
    } catch (err) {
      // A host without IPv6 has nothing of ours to see for that family.
      if (err instanceof CommandError && /Address family not supported/i.test(err.stderrTail))
        return EMPTY_OBSERVED;
      throw err;
    }
  }

  private async observeOnce(family: IpFamily, iface: string, table: number): Promise<ObservedDevice> {
    // A full resync follows anything odd, a link deleted behind our back included: start the
    // ip batch children afresh, so they hold no stale interface index (ip-batch.ts).
    this.recycleIpBatches();
    const fam = family === 4 ? '-4' : '-6';
    const [linkText, routesText, rulesText] = await Promise.all([
      this.runOrNotFound(['ip', '-j', '-d', 'link', 'show', 'dev', iface]),
      this.runOrNotFound(['ip', '-j', fam, 'route', 'show', 'table', String(table)]),
      this.runner.run(['ip', '-j', fam, 'rule', 'show']),
    ]);
    const routes = must(parseRoutes(routesText ?? '', family, iface), 'ip route');
    const rules = must(parseRules(rulesText, table), 'ip rule');
    const base: ObservedDevice = {
      ...EMPTY_OBSERVED,
      routes: new Map(routes.map((r) => [r.dst, r])),
      rules,
      srcValidMark: family === 4 ? await readSrcValidMark() : null,
    };
    const link = linkText === null ? undefined : must(parseLinks(linkText), 'ip link')[0];
    if (link === undefined) return base;
    const [dump, addrText, threaded] = await Promise.all([
      link.kind === 'wireguard' || link.kind === 'tun' ? this.readDump(iface) : Promise.resolve(null),
      this.runner.run(['ip', '-j', fam, 'addr', 'show', 'dev', iface]),
      link.kind === 'wireguard' ? readThreaded(iface) : Promise.resolve(null),
    ]);
    const kind = link.kind === 'tun' && !this.userspace.isRunning(iface) ? FOREIGN_TUN : link.kind;
    return {
      ...base,
      link: { kind, mtu: link.mtu, isUp: link.isUp },
      wireguard:
        dump === null
          ? null
          : {
              publicKey: dump.publicKey,
              listenPort: dump.listenPort,
              firewallMark: dump.firewallMark,
              peers: new Map(
                dump.peers.map((p) => [
                  p.publicKey,
                  {
                    endpoint: p.endpoint,
                    allowedIps: p.allowedIps,
                    persistentKeepaliveSeconds: p.persistentKeepaliveSeconds,
                  },
                ]),
              ),
            },
      addresses: must(parseAddresses(addrText, family), 'ip addr'),
      threaded,
    };
  }

  /** All links, for the automatic MTU. */
  async listLinks(): Promise<LinkInfo[]> {
    return must(parseLinks(await this.runner.run(['ip', '-j', 'link', 'show'])), 'ip link');
  }

  /** The device as `wg` sees it, or null when `wg` cannot read it. Output is never logged. */
  async readDump(iface: string): Promise<WgDump | null> {
    let text: string;
    try {
      text = await this.runner.run(['wg', 'show', iface, 'dump']);
    } catch (err) {
      if (err instanceof CommandError) return null;
      throw err;
    }
    const parsed = parseWgDump(text);
    if (!parsed.ok) {
      this.log.warn({ iface, reason: parsed.reason }, 'could not parse wg show dump');
      return null;
    }
    return parsed.dump;
  }

  /**
   * Runs the steps in order, except that a run of adjacent address, WireGuard and route steps
   * goes concurrently, as Felix does (spec §5.1 step 10): they touch independent state, and the
   * rule that steers traffic into the table always comes after them.
   */
  async execute(steps: readonly Step[], privateKey: PrivateKeyText): Promise<void> {
    for (let i = 0; i < steps.length;) {
      let j = i + 1;
      if (CONCURRENT.has((steps[i] as Step).op))
        while (j < steps.length && CONCURRENT.has((steps[j] as Step).op)) j++;
      const batch = steps.slice(i, j);
      // Wait for every step of the batch before reporting the first failure.
      const results = await Promise.allSettled(batch.map((step) => this.executeStep(step, privateKey)));
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed !== undefined) throw failed.reason;
      i = j;
    }
  }

  async close(): Promise<void> {
    await this.userspace.close();
    await Promise.all([this.ipBatches[4].close(), this.ipBatches[6].close()]);
  }

  private async executeStep(step: Step, privateKey: PrivateKeyText): Promise<void> {
    const run = (argv: string[], stdin?: string): Promise<string> =>
      this.runner.run(argv, stdin === undefined ? {} : { stdin });
    switch (step.op) {
      case 'link-add':
        await this.createDevice(step.iface);
        this.recycleIpBatches();
        return;
      case 'link-delete':
        if (this.userspace.isRunning(step.iface)) await this.userspace.stop(step.iface);
        else await this.runOrNotFound(['ip', 'link', 'del', 'dev', step.iface]);
        this.recycleIpBatches();
        return;
      case 'link-set-mtu':
        return this.ipLines(4, [`link set dev ${step.iface} mtu ${step.mtu}`]);
      case 'link-set-up':
        return this.ipLines(4, [`link set dev ${step.iface} up`]);
      case 'link-set-threaded':
        // Best effort, as in Felix: a kernel without threaded NAPI is no reason to fail.
        await writeFile(`/sys/class/net/${step.iface}/threaded`, step.threaded ? '1' : '0').catch(
          (err: unknown) =>
            this.log.warn({ iface: step.iface, err: String(err) }, 'could not set threaded NAPI'),
        );
        return;
      case 'enable-src-valid-mark':
        await writeFile(SRC_VALID_MARK, '1');
        return;
      case 'address-add':
        return this.ipLines(step.family, [
          `addr add ${step.cidr} dev ${step.iface}${step.family === 6 ? ' nodad' : ''}`,
        ]);
      case 'address-delete':
        return this.ipLines(step.family, [`addr del ${step.cidr} dev ${step.iface}`], () => true);
      case 'wireguard-set': {
        const settings = {
          privateKey: step.setPrivateKey ? privateKey : null,
          listenPort: step.listenPort,
          firewallMark: step.firewallMark,
        };
        if (this.userspace.isRunning(step.iface)) {
          // Our wireguard-go: one request on its control socket, no process, no key file.
          this.log.debug(
            { iface: step.iface, remove: step.removePeers.length, upsert: step.upsertPeers.length },
            'configuring wireguard-go over its control socket',
          );
          const socket = join(this.runner.wgSocketDir, `${step.iface}.sock`);
          await uapiSet(socket, uapiSetText(settings, step.removePeers, step.upsertPeers));
          for (const request of uapiHandshakeRequests(step.handshakePeers)) await uapiSet(socket, request);
          return;
        }
        for (let i = 0; i < step.removePeers.length; i += PEERS_PER_REMOVE_CALL) {
          const chunk = step.removePeers.slice(i, i + PEERS_PER_REMOVE_CALL);
          await run(['wg', 'set', step.iface, ...chunk.flatMap((key) => ['peer', key, 'remove'])]);
        }
        const text = wgConfText(settings, step.upsertPeers);
        if (text !== '') await this.runner.runWithFile(['wg', 'addconf', step.iface], text);
        for (const argv of wgHandshakeArgvs(step.iface, step.handshakePeers, PEERS_PER_REMOVE_CALL))
          await run(argv);
        return;
      }
      case 'routes': {
        // Replacements first, then deletions (a route that is already gone is no error).
        const replace = routeReplaceLines(step, step.replace);
        const remove = routeDeleteLines(step, step.remove);
        return this.ipLines(step.family, [...replace, ...remove], (i) => i >= replace.length);
      }
      case 'rule-add':
        return this.ipLines(step.family, [ruleLine('add', step.rule)]);
      case 'rule-delete':
        return this.ipLines(step.family, [ruleLine('del', step.rule)], () => true);
      default: {
        const never: never = step;
        throw new Error(`unknown step ${JSON.stringify(never)}`);
      }
    }
  }

  private async createDevice(iface: string): Promise<void> {
    if (this.mode !== 'userspace' && this.kernelSupported !== false) {
      try {
        await this.runner.run(['ip', 'link', 'add', 'name', iface, 'type', 'wireguard']);
        if (this.kernelSupported === null) this.log.info({ iface }, 'using kernel WireGuard');
        this.kernelSupported = true;
        return;
      } catch (err) {
        if (this.mode === 'kernel' || !(err instanceof CommandError) || !err.isNotSupported()) throw err;
        this.kernelSupported = false;
        this.log.info(
          { iface, reason: err.stderrTail },
          'kernel WireGuard is not available; falling back to wireguard-go',
        );
      }
    }
    await this.userspace.start(iface);
  }

  /** A link came or went: the batch children's cached interface indexes may be stale. */
  private recycleIpBatches(): void {
    this.ipBatches[4].recycle();
    this.ipBatches[6].recycle();
  }

  /**
   * Runs `ip` command lines through the family's long-lived batch child. A line ip refuses fails
   * the step with ip's own words, unless it is a deletion (`isDeletion(index)`) of something
   * already gone.
   */
  private async ipLines(
    fam: IpFamily,
    lines: readonly string[],
    isDeletion: (index: number) => boolean = () => false,
  ): Promise<void> {
    const errors = await this.ipBatches[fam].run(lines);
    const real = errors
      .map((e) => ({ e, err: new CommandError('ip', `ip ${e.line}`, null, e.message) }))
      .filter(({ e, err }) => !(isDeletion(e.index) && err.isNotFound()));
    const first = real[0];
    if (first === undefined) return;
    if (real.length === 1) throw first.err;
    throw new CommandError(
      'ip',
      `ip ${first.e.line} (and ${real.length - 1} more of ${lines.length} lines)`,
      null,
      first.e.message,
    );
  }

  /** Runs a command; "does not exist" answers become null instead of an error. */
  private async runOrNotFound(argv: string[]): Promise<string | null> {
    try {
      return await this.runner.run(argv);
    } catch (err) {
      if (err instanceof CommandError && err.isNotFound()) return null;
      throw err;
    }
  }
}

function must<T>(parsed: Parsed<T>, what: string): T {
  if (parsed.ok) return parsed.value;
  throw new CommandError(what.split(' ')[0] ?? what, what, 0, `unexpected output: ${parsed.reason}`);
}

const SRC_VALID_MARK = '/proc/sys/net/ipv4/conf/all/src_valid_mark';

async function readSrcValidMark(): Promise<boolean | null> {
  try {
    return (await readFile(SRC_VALID_MARK, 'utf8')).trim() !== '0';
  } catch {
    return null;
  }
}

async function readThreaded(iface: string): Promise<boolean | null> {
  try {
    const text = (await readFile(`/sys/class/net/${iface}/threaded`, 'utf8')).trim();
    return text === '1' ? true : text === '0' ? false : null;
  } catch {
    return null;
  }
}
