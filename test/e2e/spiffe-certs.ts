// Workload certificates shaped like Istio's (spec istio-e2e.md §1.5): a mesh root CA, and per
// service account an EC P-256 leaf with an empty subject, a critical SPIFFE URI SAN
// spiffe://cluster.local/ns/<ns>/sa/<sa>, and serverAuth + clientAuth. Minted with openssl
// (node:crypto cannot issue X.509); keys are 0600 files and never on a command line.
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

export interface WorkloadCert {
  readonly spiffeId: string;
  readonly cert: string;
  readonly key: string;
  readonly ca: string;
}

export class MeshCa {
  private constructor(
    readonly dir: string,
    readonly caCert: string,
    private readonly caKey: string,
  ) {}

  static async create(dir: string): Promise<MeshCa> {
    const caCert = join(dir, 'root-cert.pem');
    const caKey = join(dir, 'root-key.pem');
    await writeFile(caKey, '', { mode: 0o600 });
    await run('openssl', [
      'req',
      '-x509',
      ...EC,
      '-keyout',
      caKey,
      '-out',
      caCert,
      '-days',
      '2',
      '-subj',
      '/O=cluster.local',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ]);
    return new MeshCa(dir, caCert, caKey);
  }

  async issue(namespace: string, serviceAccount: string): Promise<WorkloadCert> {
    const spiffeId = `spiffe://cluster.local/ns/${namespace}/sa/${serviceAccount}`;
    const base = join(this.dir, `${namespace}.${serviceAccount}`);
    const key = `${base}.key.pem`;
    await writeFile(key, '', { mode: 0o600 });
    await run('openssl', ['req', ...EC, '-keyout', key, '-out', `${base}.csr`, '-subj', '/']);
    await writeFile(
      `${base}.ext`,
      `subjectAltName=critical,URI:${spiffeId}\nextendedKeyUsage=serverAuth,clientAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n`,
    );
    await run('openssl', [
      'x509',
      '-req',
      '-in',
      `${base}.csr`,
      '-CA',
      this.caCert,
      '-CAkey',
      this.caKey,
      '-CAcreateserial',
      '-days',
      '1',
      '-extfile',
      `${base}.ext`,
      '-out',
      `${base}.cert.pem`,
    ]);
    return { spiffeId, cert: `${base}.cert.pem`, key, ca: this.caCert };
  }
}
