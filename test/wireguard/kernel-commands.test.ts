// The kernel WireGuard path, which this machine cannot run (no wireguard module): the exact `ip`
// and `wg` input the executor produces for create, peer update, peer removal and disable. The
// real runner starts stand-in `ip` and `wg` executables (first on PATH) that record their argv,
// stdin and the configuration file handed to `wg addconf` (contents and mode, read while it
// exists), so the 0600 key file and its removal are checked too.
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../../daemon/log.js';
import { Dataplane } from '../../wireguard/shell/dataplane.js';
import {
  assumeApplied,
  EMPTY_OBSERVED,
  type DesiredDevice,
  type DesiredState,
  type DevicePeer,
} from '../../wireguard/core/device-state.js';
import { generateKeyPair } from '../../wireguard/core/keys.js';
import { planDevice } from '../../wireguard/core/plan.js';
import { BATCH_SENTINEL } from '../../wireguard/core/ip-batch-output.js';
import { createRunner } from '../../wireguard/shell/runner.js';

/**
 * Records one invocation in the next free numbered directory; answers success with no output.
 * As `ip -batch`, it also answers the channel's end-of-batch sentinel line as real ip does (an
 * unknown object, then `Command failed -:<line>`), and leaves that line out of the record.
 */
const STAND_IN = `#!/bin/sh
n=0
while ! mkdir "$FAKE_TOOL_LOG/$n" 2>/dev/null; do n=$((n+1)); done
d="$FAKE_TOOL_LOG/$n"
printf '%s\\n' "\${0##*/}" "$@" > "$d/argv"
batch=0
for a in "$@"; do [ "$a" = -batch ] && batch=1; done
if [ "$batch" = 1 ]; then
  : > "$d/stdin"
  i=0
  while IFS= read -r line; do
    i=$((i+1))
    if [ "$line" = "${BATCH_SENTINEL}" ]; then
      printf 'Object "%s" is unknown, try "ip help".\\nCommand failed -:%d\\n' "$line" "$i" >&2
    else
      printf '%s\\n' "$line" >> "$d/stdin"
    fi
  done
else
  cat > "$d/stdin"
fi
for a in "$@"; do
  case "$a" in "$FAKE_SECRET_DIR"/*) cp "$a" "$d/file"; stat -c %a "$a" > "$d/mode" ;; esac
done
`;

interface Invocation {
  readonly argv: string;
  readonly stdin: string;
  /** The file argument's contents and octal mode, with its (random) path shown as FILE. */
  readonly file?: { readonly contents: string; readonly mode: string };
}

const self = generateKeyPair();
const K1 = generateKeyPair().publicKey;
const K2 = generateKeyPair().publicKey;
const RULE = { priority: 99, mark: 0x200000, mask: 0x200000, invert: true, table: 1 };
const peer = (endpoint: string, allowedIps: string[]): DevicePeer => ({
  endpoint,
  allowedIps,
  persistentKeepaliveSeconds: 0,
});

function device(o: Partial<DesiredDevice> = {}): DesiredDevice {
  return {
    family: 4,
    iface: 'wireguard.cali',
    mtu: 1440,
    listenPort: 51820,
    firewallMark: 0x200000,
    publicKey: self.publicKey,
    address: '198.51.100.1/32',
    peers: new Map([[K1, peer('192.0.2.2:51820', ['198.51.100.64/26'])]]),
    table: 1,
    routeProtocol: 3,
    routes: new Map([
      ['198.51.100.0/26', 'throw'],
      ['198.51.100.64/26', 'device'],
    ]),
    routeSync: true,
    rule: RULE,
    threaded: false,
    needsSrcValidMark: false,
    ...o,
  };
}
const enabled = (d: DesiredDevice): DesiredState => ({ kind: 'enabled', device: d });

describe('kernel WireGuard commands (stand-in ip and wg)', () => {
  let dir: string;
  let logDir: string;
  let secretDir: string;
  let dataplane: Dataplane;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'alp-wg-kernel-'));
    const bin = join(dir, 'bin');
    secretDir = join(dir, 'state');
    logDir = join(dir, 'log');
    await Promise.all([mkdir(bin), mkdir(secretDir, { mode: 0o700 }), mkdir(logDir)]);
    for (const tool of ['ip', 'wg']) {
      await writeFile(join(bin, tool), STAND_IN);
      await chmod(join(bin, tool), 0o755);
    }
    vi.stubEnv('PATH', `${bin}:${process.env.PATH ?? ''}`);
    vi.stubEnv('FAKE_TOOL_LOG', logDir);
    vi.stubEnv('FAKE_SECRET_DIR', secretDir);
    const log = silentLogger();
    // One `ip -batch` process per batch, so each batch's input is recorded when its process ends;
    // the long-lived channel carries the same lines and is tested against real `ip` in
    // ip-batch.test.ts.
    dataplane = new Dataplane(createRunner({ log, secretDir }), log, 'kernel', () => undefined, 'process');
  });

  afterAll(async () => {
    vi.unstubAllEnvs();
    await dataplane?.close();
    await rm(dir, { recursive: true, force: true });
  });

  beforeEach(async () => {
    await rm(logDir, { recursive: true, force: true });
    await mkdir(logDir);
  });

  /** Runs the plan from `observed` to `desired` and returns what the tools were given, in start order. */
  async function run(
    desired: DesiredState,
    observed: ReturnType<typeof assumeApplied>,
  ): Promise<Invocation[]> {
    const plan = planDevice(desired, observed);
    expect(plan.blocked).toBeNull();
    await dataplane.execute(plan.steps, self.privateKey);
    const names = (await readdir(logDir)).map(Number).sort((a, b) => a - b);
    const out: Invocation[] = [];
    for (const n of names) {
      const at = (f: string) => readFile(join(logDir, String(n), f), 'utf8');
      const argv = (await at('argv')).trimEnd().split('\n');
      const file = await at('file').then(
        async (contents) => ({ contents, mode: (await at('mode')).trim() }),
        () => undefined,
      );
      out.push({
        argv: argv.map((a) => (a.startsWith(`${secretDir}/`) ? 'FILE' : a)).join(' '),
        stdin: await at('stdin'),
        ...(file === undefined ? {} : { file }),
      });
    }
    // The key file is gone once `wg` has read it, and the key was never an argument.
    expect(await readdir(secretDir)).toEqual([]);
    for (const i of out) expect(i.argv).not.toContain(self.privateKey);
    return out;
  }

  it('creates the device: link, MTU, up, then address, key and peers, routes concurrently, the rule last', async () => {
    const calls = await run(enabled(device()), EMPTY_OBSERVED);
    // Every ip change but creating the link goes through the batch channel (one forced batch each).
    expect(calls.slice(0, 3)).toEqual([
      { argv: 'ip link add name wireguard.cali type wireguard', stdin: '' },
      { argv: 'ip -4 -force -batch -', stdin: 'link set dev wireguard.cali mtu 1440\n' },
      { argv: 'ip -4 -force -batch -', stdin: 'link set dev wireguard.cali up\n' },
    ]);
    expect(calls.slice(3, 6)).toEqual(
      expect.arrayContaining([
        { argv: 'ip -4 -force -batch -', stdin: 'addr add 198.51.100.1/32 dev wireguard.cali\n' },
        {
          argv: 'wg addconf wireguard.cali FILE',
          stdin: '',
          file: {
            mode: '600',
            contents: [
              '[Interface]',
              `PrivateKey = ${self.privateKey}`,
              'ListenPort = 51820',
              'FwMark = 0x200000',
              '[Peer]',
              `PublicKey = ${K1}`,
              'Endpoint = 192.0.2.2:51820',
              'AllowedIPs = 198.51.100.64/26',
              'PersistentKeepalive = off',
              '',
            ].join('\n'),
          },
        },
        {
          argv: 'ip -4 -force -batch -',
          stdin:
            'route replace throw 198.51.100.0/26 table 1 proto 3\n' +
            'route replace 198.51.100.64/26 dev wireguard.cali table 1 proto 3 scope link\n',
        },
      ]),
    );
    expect(calls.slice(6)).toEqual([
      {
        argv: 'ip -4 -force -batch -',
        stdin: 'rule add priority 99 not fwmark 0x200000/0x200000 lookup 1\n',
      },
    ]);
  });

  it('creates a v6 device: address without DAD, device routes without scope link', async () => {
    const v6 = device({
      family: 6,
      iface: 'wg-v6.cali',
      mtu: 1420,
      listenPort: 51821,
      address: '2001:db8:100:1::1/128',
      peers: new Map([[K1, peer('[2001:db8::2]:51821', ['2001:db8:100:2::/64'])]]),
      routes: new Map([['2001:db8:100:2::/64', 'device']]),
    });
    const calls = await run(enabled(v6), EMPTY_OBSERVED);
    expect(calls).toContainEqual({
      argv: 'ip -6 -force -batch -',
      stdin: 'addr add 2001:db8:100:1::1/128 dev wg-v6.cali nodad\n',
    });
    expect(calls).toContainEqual({
      argv: 'ip -6 -force -batch -',
      stdin: 'route replace 2001:db8:100:2::/64 dev wg-v6.cali table 1 proto 3\n',
    });
    expect(calls.at(-1)).toEqual({
      argv: 'ip -6 -force -batch -',
      stdin: 'rule add priority 99 not fwmark 0x200000/0x200000 lookup 1\n',
    });
  });

  it('adds a peer: its whole state in a key-less file, and its route', async () => {
    const next = device({
      peers: new Map([...device().peers, [K2, peer('192.0.2.3:51820', ['198.51.100.128/26'])]]),
      routes: new Map([...device().routes, ['198.51.100.128/26', 'device']]),
    });
    const calls = await run(enabled(next), assumeApplied(enabled(device()), 'wireguard'));
    expect(calls).toEqual(
      expect.arrayContaining([
        {
          argv: 'wg addconf wireguard.cali FILE',
          stdin: '',
          file: {
            mode: '600',
            contents: [
              '[Peer]',
              `PublicKey = ${K2}`,
              'Endpoint = 192.0.2.3:51820',
              'AllowedIPs = 198.51.100.128/26',
              'PersistentKeepalive = off',
              '',
            ].join('\n'),
          },
        },
        {
          argv: 'ip -4 -force -batch -',
          stdin: 'route replace 198.51.100.128/26 dev wireguard.cali table 1 proto 3 scope link\n',
        },
      ]),
    );
    expect(calls).toHaveLength(2);
  });

  it('removes a peer with `wg set … remove` and deletes its route in one forced batch', async () => {
    const next = device({ peers: new Map(), routes: new Map([['198.51.100.0/26', 'throw']]) });
    const calls = await run(enabled(next), assumeApplied(enabled(device()), 'wireguard'));
    expect(calls).toEqual(
      expect.arrayContaining([
        { argv: `wg set wireguard.cali peer ${K1} remove`, stdin: '' },
        {
          argv: 'ip -4 -force -batch -',
          stdin: 'route del 198.51.100.64/26 dev wireguard.cali table 1\n',
        },
      ]),
    );
    expect(calls).toHaveLength(2);
  });

  it('disables: the rule first, then the device, then the throw routes left behind', async () => {
    const calls = await run(
      { kind: 'disabled', teardown: { family: 4, iface: 'wireguard.cali', table: 1, routeSync: true } },
      assumeApplied(enabled(device()), 'wireguard'),
    );
    expect(calls).toEqual([
      {
        argv: 'ip -4 -force -batch -',
        stdin: 'rule del priority 99 not fwmark 0x200000/0x200000 lookup 1\n',
      },
      { argv: 'ip link del dev wireguard.cali', stdin: '' },
      { argv: 'ip -4 -force -batch -', stdin: 'route del throw 198.51.100.0/26 table 1\n' },
    ]);
  });
});
