// Server-side apply of any manifest, by its own apiVersion and kind, as `kubectl apply
// --server-side [--dry-run=server]` does: the resource's path comes from the API server's
// discovery, and the body is sent as written (client-node's typed models would drop the fields of
// kinds they do not know, such as Istio's).
import { request } from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';

export interface Manifest {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string };
  readonly [field: string]: unknown;
}

export class ApplyError extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
    what: string,
  ) {
    super(`${what}: HTTP ${status}: ${ApplyError.message(body)}`);
  }

  private static message(body: string): string {
    try {
      return (JSON.parse(body) as { message?: string }).message ?? body;
    } catch {
      return body;
    }
  }
}

interface Resource {
  readonly name: string;
  readonly namespaced: boolean;
}

export class RawClient {
  private readonly server: string;
  private readonly ca: Buffer | undefined;
  private readonly token: string;
  private readonly discovery = new Map<string, Promise<Map<string, Resource>>>();

  constructor(kc: KubeConfig) {
    const cluster = kc.getCurrentCluster();
    const user = kc.getCurrentUser();
    if (cluster === null || user?.token === undefined)
      throw new Error('kubeconfig without a cluster or token');
    this.server = cluster.server;
    this.ca = cluster.caData === undefined ? undefined : Buffer.from(cluster.caData, 'base64');
    this.token = user.token;
  }

  /** Server-side apply; `dryRun` validates and admits without persisting. Returns the object. */
  async apply(obj: Manifest, options: { readonly dryRun?: boolean } = {}): Promise<Manifest> {
    const path = await this.pathOf(obj);
    const query = new URLSearchParams({ fieldManager: 'alp-mesh-e2e', force: 'true' });
    if (options.dryRun === true) query.set('dryRun', 'All');
    const what = `${obj.kind} ${obj.metadata.namespace ?? ''}/${obj.metadata.name}`;
    const body = await this.send(
      'PATCH',
      `${path}?${query}`,
      JSON.stringify(obj),
      'application/apply-patch+yaml',
    );
    if (body.status >= 300) throw new ApplyError(body.status, body.text, what);
    return JSON.parse(body.text) as Manifest;
  }

  async delete(obj: Manifest): Promise<void> {
    const res = await this.send('DELETE', await this.pathOf(obj));
    if (res.status >= 300 && res.status !== 404)
      throw new ApplyError(res.status, res.text, `delete ${obj.kind}`);
  }

  private async pathOf(obj: Manifest): Promise<string> {
    const resources = await this.resources(obj.apiVersion);
    const resource = resources.get(obj.kind);
    if (resource === undefined)
      throw new Error(`the API server does not serve ${obj.apiVersion} ${obj.kind}`);
    const base = obj.apiVersion.includes('/') ? `/apis/${obj.apiVersion}` : `/api/${obj.apiVersion}`;
    const ns = obj.metadata.namespace;
    if (resource.namespaced && ns === undefined)
      throw new Error(`${obj.kind} ${obj.metadata.name} has no namespace`);
    const scope = resource.namespaced ? `/namespaces/${ns}` : '';
    return `${base}${scope}/${resource.name}/${obj.metadata.name}`;
  }

  private resources(apiVersion: string): Promise<Map<string, Resource>> {
    let found = this.discovery.get(apiVersion);
    if (found === undefined) {
      const path = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
      found = this.send('GET', path).then((res) => {
        if (res.status !== 200) throw new ApplyError(res.status, res.text, `discovery of ${apiVersion}`);
        const list = JSON.parse(res.text) as {
          resources: { name: string; kind: string; namespaced: boolean }[];
        };
        return new Map(
          list.resources
            .filter((r) => !r.name.includes('/'))
            .map((r) => [r.kind, { name: r.name, namespaced: r.namespaced }]),
        );
      });
      found.catch(() => this.discovery.delete(apiVersion));
      this.discovery.set(apiVersion, found);
    }
    return found;
  }

  private send(
    method: string,
    path: string,
    payload?: string,
    contentType = 'application/json',
  ): Promise<{ status: number; text: string }> {
    const url = new URL(path, this.server);
    return new Promise((resolve, reject) => {
      const req = request(
        url,
        {
          method,
          ...(this.ca === undefined ? {} : { ca: this.ca }),
          headers: {
            authorization: `Bearer ${this.token}`,
            accept: 'application/json',
            ...(payload === undefined ? {} : { 'content-type': contentType }),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }),
          );
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  }
}
