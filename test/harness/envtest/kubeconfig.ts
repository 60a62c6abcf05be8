// Renders the kubeconfig for the envtest admin user: the server URL, our CA, and a bearer token.
// The file is written with mode 0600 because it holds the token.
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { stringify } from 'yaml';

export const CONTEXT_NAME = 'alp-mesh-envtest';

export interface KubeconfigInput {
  readonly server: string;
  readonly caCertPath: string;
  readonly token: string;
  readonly user: string;
}

export async function writeKubeconfig(path: string, input: KubeconfigInput): Promise<void> {
  const caData = (await readFile(input.caCertPath)).toString('base64');
  const doc = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      { name: CONTEXT_NAME, cluster: { server: input.server, 'certificate-authority-data': caData } },
    ],
    users: [{ name: input.user, user: { token: input.token } }],
    contexts: [
      { name: CONTEXT_NAME, context: { cluster: CONTEXT_NAME, user: input.user, namespace: 'default' } },
    ],
    'current-context': CONTEXT_NAME,
    preferences: {},
  };
  await writeFile(path, stringify(doc), { mode: 0o600 });
  await chmod(path, 0o600);
}
