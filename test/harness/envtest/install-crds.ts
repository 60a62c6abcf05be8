// Installs the CustomResourceDefinitions in deploy/crds/ (Calico's crd.projectcalico.org kinds)
// and waits until the API server reports each one Established, so tests can use them at once.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ApiException, ApiextensionsV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { REPO_ROOT } from '../repo-root.js';

export const CRD_DIR = join(REPO_ROOT, 'deploy', 'crds');

export interface JsonSchema {
  readonly properties?: Readonly<Record<string, JsonSchema>>;
  readonly [key: string]: unknown;
}

/** The parts of a CustomResourceDefinition we read, with the YAML's own keys. */
export interface CrdDocument {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string };
  readonly spec: {
    readonly group: string;
    readonly scope: 'Cluster' | 'Namespaced';
    readonly names: {
      readonly kind: string;
      readonly plural: string;
      readonly singular: string;
      readonly listKind: string;
    };
    readonly versions: readonly {
      readonly name: string;
      readonly served: boolean;
      readonly storage: boolean;
      readonly schema?: { readonly openAPIV3Schema?: JsonSchema };
    }[];
  };
}

function isCrdDocument(value: unknown): value is CrdDocument {
  if (typeof value !== 'object' || value === null) return false;
  const doc = value as {
    kind?: unknown;
    metadata?: { name?: unknown };
    spec?: { names?: { plural?: unknown } };
  };
  return (
    doc.kind === 'CustomResourceDefinition' &&
    typeof doc.metadata?.name === 'string' &&
    typeof doc.spec?.names?.plural === 'string'
  );
}

/**
 * Reads every CRD in `dir` (one or more YAML documents per *.yaml file), sorted by file name, as
 * plain JSON with the YAML's own keys (not client-node's camelCase models).
 */
export async function readCrds(dir = CRD_DIR): Promise<CrdDocument[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.yaml')).sort();
  const crds: CrdDocument[] = [];
  for (const file of files) {
    for (const doc of parseAllDocuments(await readFile(join(dir, file), 'utf8'))) {
      if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0]?.message}`);
      const value: unknown = doc.toJS();
      if (value === null || value === undefined) continue;
      if (!isCrdDocument(value)) throw new Error(`${file}: not a CustomResourceDefinition`);
      crds.push(value);
    }
  }
  return crds;
}

function isEstablished(
  crd: Awaited<ReturnType<ApiextensionsV1Api['readCustomResourceDefinition']>>,
): boolean {
  return (crd.status?.conditions ?? []).some((c) => c.type === 'Established' && c.status === 'True');
}

export async function installCrds(kc: KubeConfig, dir = CRD_DIR, timeoutMs = 30_000): Promise<string[]> {
  return installCrdObjects(kc, await readCrds(dir), timeoutMs);
}

/**
 * Creates the given CRDs (one that already exists is left as it is) and waits until each is
 * Established; returns their names.
 */
export async function installCrdObjects(
  kc: KubeConfig,
  crds: readonly CrdDocument[],
  timeoutMs = 30_000,
): Promise<string[]> {
  const api = kc.makeApiClient(ApiextensionsV1Api);
  // Sent as raw JSON through the custom-objects client: ApiextensionsV1Api serializes through
  // typed models that expect camelCase keys, so it silently drops YAML keys such as
  // x-kubernetes-preserve-unknown-fields and default.
  const raw = kc.makeApiClient(CustomObjectsApi);
  await Promise.all(
    crds.map((body) =>
      raw
        .createClusterCustomObject({
          group: 'apiextensions.k8s.io',
          version: 'v1',
          plural: 'customresourcedefinitions',
          body,
        })
        .catch((err: unknown) => {
          if (!(err instanceof ApiException && err.code === 409)) throw err;
        }),
    ),
  );
  const names = crds.map((crd) => crd.metadata.name);
  const deadline = Date.now() + timeoutMs;
  const pending = new Set(names);
  while (pending.size > 0) {
    for (const name of [...pending]) {
      if (isEstablished(await api.readCustomResourceDefinition({ name }))) pending.delete(name);
    }
    if (pending.size === 0) break;
    if (Date.now() > deadline)
      throw new Error(`CRDs not Established after ${timeoutMs} ms: ${[...pending].join(', ')}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return names;
}
