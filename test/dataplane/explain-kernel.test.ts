// explainFlow against the kernel: pods as network namespaces on veth pairs named as Calico's CNI
// names them, our rendered table in the node namespace, real TCP connections. For every probe the
// kernel's answer must be the verdict explainFlow gives, before and after an incremental change.
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { DataplaneState } from '../../dataplane/core/index.js';
import { explainFlow, renderChanges, renderFull } from '../../dataplane/core/index.js';
import { endpoint, ipSet, knp, overviewState, tier } from '../../dataplane/core/states.cases.js';
import type { NsProcess } from '../harness/netns.js';
import { createNamespace, createPod, deleteNamespace, nsRun, spawnInNamespace } from '../harness/netns.js';
import { describeWhen } from '../harness/prerequisite-gate.js';

function missing(): string | null {
  if (process.getuid?.() !== 0) return 'not running as root';
  for (const tool of ['nft', 'ip', 'socat']) {
    try {
      execFileSync('which', [tool], { stdio: 'ignore' });
    } catch {
      return `missing ${tool}`;
    }
  }
  return null;
}

interface TestPod {
  readonly name: string;
  readonly ip: string;
  readonly iface: string;
  ns: string;
}

const PODS: TestPod[] = [
  { name: 'frontend', ip: '198.51.100.2', iface: 'cali0123456789a', ns: '' },
  { name: 'backend', ip: '198.51.100.3', iface: 'calib0b0b0b0b0b', ns: '' },
  { name: 'other', ip: '198.51.100.4', iface: 'calic0c0c0c0c0c', ns: '' },
];
const GATEWAY = '169.254.1.1';
const HOST_PORT = 9000;
const PORTS = [80, 81];

/** The overview plus a third pod under deny-all-ingress; `otherInSet` adds it to the frontend set. */
function scenario(otherInSet: boolean, endpointToHost: 'Drop' | 'Accept'): DataplaneState {
  const s = overviewState();
  const endpoints = new Map(s.endpoints);
  const other = endpoint('default', 'other', 'calic0c0c0c0c0c', '198.51.100.4', [
    tier('default', [knp('default', 'knp.default.deny-all-ingress')]),
  ]);
  endpoints.set(other.workloadId, other);
  const members = ['198.51.100.2/32', ...(otherInSet ? ['198.51.100.4/32'] : [])];
  return {
    ...s,
    config: { ...s.config, defaultEndpointToHostAction: endpointToHost },
    endpoints,
    ipSets: new Map([['s:frontend', ipSet('NET', members)]]),
  };
}

async function waitFor(what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** True when a TCP connection from `ns` to ip:port completes and reads the server's greeting. */
async function connects(ns: string, ip: string, port: number): Promise<boolean> {
  try {
    const out = await nsRun(ns, ['socat', '-T5', '-', `TCP:${ip}:${port},connect-timeout=5`]);
    return out.includes('hello');
  } catch {
    return false;
  }
}

describeWhen(
  'explainFlow agrees with the kernel',
  {
    what: 'root, nft and socat',
    missing: missing(),
    hint: 'run as root after: apt-get install -y nftables iproute2 socat',
  },
  () => {
    let node = '';
    const servers: NsProcess[] = [];

    beforeAll(async () => {
      node = await createNamespace('xnode');
      for (const pod of PODS) {
        pod.ns = (
          await createPod(node, { ip: pod.ip, hostSide: pod.iface, label: `x${pod.name.slice(0, 3)}` })
        ).ns;
        for (const port of PORTS) {
          servers.push(
            spawnInNamespace(pod.ns, [
              'socat',
              `TCP-LISTEN:${port},fork,reuseaddr`,
              `SYSTEM:echo hello-${pod.name}`,
            ]),
          );
        }
      }
      servers.push(
        spawnInNamespace(node, ['socat', `TCP-LISTEN:${HOST_PORT},fork,reuseaddr`, 'SYSTEM:echo hello-host']),
      );
      // Without our table everything connects: wait for every server that way.
      for (const pod of PODS) {
        for (const port of PORTS)
          await waitFor(`${pod.name}:${port}`, () => connects(PODS[0]!.ns, pod.ip, port));
      }
      await waitFor('the host server', () => connects(PODS[0]!.ns, GATEWAY, HOST_PORT));
    });

    afterAll(async () => {
      for (const s of servers) await s.stop(2_000);
      for (const pod of PODS) if (pod.ns !== '') await deleteNamespace(pod.ns);
      if (node !== '') await deleteNamespace(node);
    });

    async function matrix(
      state: DataplaneState,
    ): Promise<{ probe: string; kernel: boolean; explained: boolean }[]> {
      const probes: { probe: string; ns: string; ip: string; port: number; toHost: boolean; src: string }[] =
        [];
      for (const from of PODS) {
        for (const to of PODS) {
          if (from === to) continue;
          for (const port of PORTS) {
            probes.push({
              probe: `${from.name}->${to.name}:${port}`,
              ns: from.ns,
              ip: to.ip,
              port,
              toHost: false,
              src: from.ip,
            });
          }
        }
        probes.push({
          probe: `${from.name}->host:${HOST_PORT}`,
          ns: from.ns,
          ip: GATEWAY,
          port: HOST_PORT,
          toHost: true,
          src: from.ip,
        });
      }
      return Promise.all(
        probes.map(async (p) => ({
          probe: p.probe,
          kernel: await connects(p.ns, p.ip, p.port),
          explained:
            explainFlow(state, {
              srcIp: p.src,
              dstIp: p.ip,
              protocol: 'tcp',
              srcPort: 40000,
              dstPort: p.port,
              toHost: p.toHost,
            }).verdict === 'allow',
        })),
      );
    }

    it('for every pod pair and the host, before and after a pod joins the allowed set', async () => {
      const s0 = scenario(false, 'Drop');
      await nsRun(node, ['nft', '-f', '-'], renderFull(s0));
      const before = await matrix(s0);
      expect(before.filter((r) => r.kernel !== r.explained)).toEqual([]);
      expect(before.filter((r) => r.kernel).map((r) => r.probe)).toEqual(['frontend->backend:80']);

      const s1 = scenario(true, 'Accept');
      await nsRun(node, ['nft', '-f', '-'], renderChanges(s0, s1));
      const after = await matrix(s1);
      expect(after.filter((r) => r.kernel !== r.explained)).toEqual([]);
      expect(
        after
          .filter((r) => r.kernel)
          .map((r) => r.probe)
          .sort(),
      ).toEqual(
        [
          'backend->host:9000',
          'frontend->backend:80',
          'frontend->host:9000',
          'other->backend:80',
          'other->host:9000',
        ].sort(),
      );
    });
  },
);
