// The examples/istio manifests and the real Istio tools run on them, offline: Istio's CRDs from
// its Go package (istio-crds), `istioctl manifest generate` for the injector and mesh ConfigMaps,
// and `istioctl kube-inject` with those files, i.e. Istio's own injector on our Deployments.
import { execFile } from 'node:child_process';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { parseAllDocuments, stringify } from 'yaml';
import type { E2eTools } from '../harness/e2e-tools.js';
import { installCrdObjects, type CrdDocument } from '../harness/envtest/install-crds.js';
import { makeTempDir } from '../harness/temp-dirs.js';
import { REPO_ROOT } from '../harness/repo-root.js';
import type { Manifest } from './raw-apply.js';

export const EXAMPLE_DIR = join(REPO_ROOT, 'examples', 'istio');

/** Every YAML file of the example, relative to EXAMPLE_DIR, sorted. */
export async function exampleFiles(): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.name.endsWith('.yaml')) out.push(relative(EXAMPLE_DIR, path));
    }
  };
  await walk(EXAMPLE_DIR);
  return out.sort();
}

export function parseManifests(text: string, what: string): Manifest[] {
  const out: Manifest[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new Error(`${what}: ${doc.errors[0]?.message}`);
    const value = doc.toJS() as Manifest | null;
    if (value !== null && value !== undefined) out.push(value);
  }
  return out;
}

/** The objects of one example file (path relative to EXAMPLE_DIR). */
export async function exampleManifests(file: string): Promise<Manifest[]> {
  return parseManifests(await readFile(join(EXAMPLE_DIR, file), 'utf8'), file);
}

export interface ToolRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs one of the e2e tools to completion (never throws for a non-zero exit). */
export function runTool(
  bin: string,
  args: readonly string[],
  env: Record<string, string> = {},
  timeoutMs = 120_000,
): Promise<ToolRun> {
  return new Promise((resolve) => {
    execFile(
      bin,
      args,
      { env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024, timeout: timeoutMs },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** istioctl with no cluster: a private HOME (it keeps a config there) and no KUBECONFIG. */
export async function istioctl(tools: E2eTools, args: readonly string[], env: Record<string, string> = {}) {
  const home = makeTempDir('alp-istioctl');
  try {
    return await runTool(tools.istioctl, args, { HOME: home, KUBECONFIG: join(home, 'none'), ...env });
  } finally {
    await rm(home, { recursive: true, force: true });
  }
}

/** Installs the pinned Istio's CRDs, as its `base` chart does, and waits until they serve. */
export async function installIstioCrds(kc: KubeConfig, tools: E2eTools): Promise<string[]> {
  const run = await runTool(tools.istioCrds, []);
  if (run.code !== 0) throw new Error(`istio-crds failed: ${run.stderr}`);
  const crds = parseManifests(run.stdout, 'istio-crds') as unknown as CrdDocument[];
  return installCrdObjects(kc, crds, 60_000);
}

/** What `istioctl manifest generate` rendered, and the files kube-inject takes. */
export interface GeneratedIstio {
  readonly objects: Manifest[];
  /** ConfigMap istio-sidecar-injector data.config: the injection templates. */
  readonly injectConfig: string;
  /** ConfigMap istio-sidecar-injector data.values. */
  readonly values: string;
  /** ConfigMap istio data.mesh: the mesh config, with extensionProviders. */
  readonly mesh: string;
  readonly dir: string;
}

function configMapData(objects: readonly Manifest[], name: string, key: string): string {
  const cm = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === name);
  const data = (cm?.['data'] ?? {}) as Record<string, string>;
  const value = data[key];
  if (value === undefined)
    throw new Error(`manifest generate produced no ConfigMap ${name} with data.${key}`);
  return value;
}

export async function generateIstio(tools: E2eTools, operatorFile: string): Promise<GeneratedIstio> {
  const run = await istioctl(tools, ['manifest', 'generate', '-f', operatorFile]);
  if (run.code !== 0) throw new Error(`istioctl manifest generate failed (${run.code}): ${run.stderr}`);
  const objects = parseManifests(run.stdout, 'manifest generate');
  // Removed by removeGenerated, in the caller's teardown.
  const dir = makeTempDir('alp-istio-gen');
  const generated = {
    objects,
    injectConfig: configMapData(objects, 'istio-sidecar-injector', 'config'),
    values: configMapData(objects, 'istio-sidecar-injector', 'values'),
    mesh: configMapData(objects, 'istio', 'mesh'),
    dir,
  };
  await writeFile(join(dir, 'inject-config.yaml'), generated.injectConfig);
  await writeFile(join(dir, 'values.yaml'), generated.values);
  await writeFile(join(dir, 'mesh.yaml'), generated.mesh);
  return generated;
}

/** Removes what generateIstio wrote. */
export async function removeGenerated(generated: GeneratedIstio | undefined): Promise<void> {
  if (generated !== undefined) await rm(generated.dir, { recursive: true, force: true });
}

/**
 * Istio's injector on a workload: `istioctl kube-inject --revision default` (without a revision
 * it waits for a cluster) with the generated injector config, values and mesh config.
 */
export async function kubeInject(
  tools: E2eTools,
  generated: GeneratedIstio,
  workload: Manifest,
  env: Record<string, string> = {},
): Promise<Manifest[]> {
  const input = join(generated.dir, `in-${workload.metadata.name}-${Date.now()}.yaml`);
  await writeFile(input, stringify(workload));
  const run = await istioctl(
    tools,
    [
      'kube-inject',
      '--revision',
      'default',
      '-f',
      input,
      '--injectConfigFile',
      join(generated.dir, 'inject-config.yaml'),
      '--valuesFile',
      join(generated.dir, 'values.yaml'),
      '--meshConfigFile',
      join(generated.dir, 'mesh.yaml'),
    ],
    env,
  );
  if (run.code !== 0) throw new Error(`istioctl kube-inject failed (${run.code}): ${run.stderr}`);
  return parseManifests(run.stdout, 'kube-inject');
}
