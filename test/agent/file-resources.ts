// Resource objects for tests on the file datastore, written as YAML files in a scratch directory.
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';

export interface TestPod {
  readonly name: string;
  readonly namespace?: string;
  readonly uid: string;
  readonly ip: string;
  readonly nodeName: string;
  readonly labels?: Record<string, string>;
  readonly serviceAccount?: string;
  readonly sidecar?: boolean;
}

export function podObject(p: TestPod): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: p.name, namespace: p.namespace ?? 'demo', uid: p.uid, labels: p.labels ?? {} },
    spec: {
      nodeName: p.nodeName,
      serviceAccountName: p.serviceAccount ?? 'default',
      containers: [{ name: 'app' }, ...(p.sidecar === false ? [] : [{ name: 'dikastes' }])],
    },
    status: { phase: 'Running', podIP: p.ip, podIPs: [{ ip: p.ip }] },
  };
}

export function namespaceObject(name: string, labels: Record<string, string> = {}): Record<string, unknown> {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } };
}

export function gnpObject(name: string, spec: Record<string, unknown>): Record<string, unknown> {
  return { apiVersion: 'projectcalico.org/v3', kind: 'GlobalNetworkPolicy', metadata: { name }, spec };
}

/** A scratch resource directory; each write replaces one file. */
export class ResourceDir {
  constructor(readonly path: string) {}

  write(file: string, objects: readonly unknown[]): void {
    writeFileSync(join(this.path, file), objects.map((o) => stringify(o)).join('---\n'));
  }

  writeText(file: string, text: string): void {
    writeFileSync(join(this.path, file), text);
  }

  remove(file: string): void {
    rmSync(join(this.path, file), { force: true });
  }
}
