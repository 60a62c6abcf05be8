// A connectivity matrix: every pod probes every other pod on each protocol and port, in parallel,
// and the result is compared with what the policies say. On a mismatch the probes are repeated
// until the deadline (policies take a moment to arrive), and the failure prints both matrices as
// a table with the differing cells marked, plus one line per difference.
import type { EnforcedCluster, Proto, TestPod } from './cluster-fixture.js';

export interface Service {
  readonly proto: Proto;
  readonly port: number;
}

export const ALL_SERVICES: readonly Service[] = [
  { proto: 'tcp', port: 80 },
  { proto: 'tcp', port: 8080 },
  { proto: 'udp', port: 80 },
  { proto: 'udp', port: 8080 },
];

export type Expected = (from: TestPod, to: TestPod, service: Service) => boolean;

const label = (p: TestPod): string => `${p.kubeNs.replace(/-[0-9a-f]{8}$/, '')}/${p.name}`;
const svc = (s: Service): string => `${s.proto}/${s.port}`;

async function probeAll(
  cluster: EnforcedCluster,
  pods: readonly TestPod[],
  services: readonly Service[],
): Promise<Map<string, boolean>> {
  const out = new Map<string, boolean>();
  const jobs: Promise<void>[] = [];
  for (const from of pods)
    for (const to of pods) {
      if (from === to) continue;
      for (const s of services) {
        jobs.push(
          cluster.probe(from, to, s.proto, s.port).then((r) => {
            // An answer from the wrong pod is a routing bug, not an allow.
            out.set(`${label(from)}|${label(to)}|${svc(s)}`, r.ok && r.what.includes(to.name));
          }),
        );
      }
    }
  await Promise.all(jobs);
  return out;
}

function table(
  pods: readonly TestPod[],
  services: readonly Service[],
  got: Map<string, boolean>,
  want: Map<string, boolean>,
): string {
  const rows: string[][] = [
    ['from \\ to', ...pods.flatMap((p) => services.map((s) => `${label(p)} ${svc(s)}`))],
  ];
  for (const from of pods) {
    const row = [label(from)];
    for (const to of pods)
      for (const s of services) {
        if (from === to) {
          row.push('-');
          continue;
        }
        const k = `${label(from)}|${label(to)}|${svc(s)}`;
        const g = got.get(k) === true ? 'allow' : 'deny';
        row.push(got.get(k) === want.get(k) ? g : `${g}!`);
      }
    rows.push(row);
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => r.map((v, c) => v.padEnd(widths[c]!)).join(' | ')).join('\n');
}

/**
 * Probes until the matrix equals `expected` or `timeoutMs` passes; then throws with the
 * differences (`!` marks a cell that differs from what was expected).
 */
export async function expectMatrix(
  cluster: EnforcedCluster,
  pods: readonly TestPod[],
  expected: Expected,
  options: { readonly services?: readonly Service[]; readonly timeoutMs?: number } = {},
): Promise<void> {
  const services = options.services ?? ALL_SERVICES;
  const want = new Map<string, boolean>();
  for (const from of pods)
    for (const to of pods) {
      if (from === to) continue;
      for (const s of services) want.set(`${label(from)}|${label(to)}|${svc(s)}`, expected(from, to, s));
    }
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  for (;;) {
    const got = await probeAll(cluster, pods, services);
    const diffs = [...want].filter(([k, v]) => got.get(k) !== v);
    if (diffs.length === 0) return;
    if (Date.now() > deadline) {
      const lines = diffs.map(([k, v]) => {
        const [from, to, s] = k.split('|');
        return `  ${from} → ${to} ${s}: expected ${v ? 'ALLOW' : 'DENY'}, got ${v ? 'DENY' : 'ALLOW'}`;
      });
      throw new Error(
        `connectivity differs from the policies in ${diffs.length} of ${want.size} cells:\n${lines.join('\n')}\n\nobserved (! = not as expected):\n${table(pods, services, got, want)}`,
      );
    }
  }
}
