// Makes the throw-away credentials one envtest run needs: a CA and a serving certificate for
// 127.0.0.1 (openssl, since node:crypto cannot issue X.509 certificates), a service-account
// signing key, and a random bearer token for the admin user. Keys are written to files with mode
// 0600 and never pass through a command line.
import { execFile } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface Credentials {
  readonly caCertPath: string;
  readonly servingCertPath: string;
  readonly servingKeyPath: string;
  readonly serviceAccountKeyPath: string;
  readonly serviceAccountPublicKeyPath: string;
  /** Static token file: the admin token, in the system:masters group. */
  readonly tokenFilePath: string;
  readonly adminToken: string;
}

export const ADMIN_USER = 'envtest-admin';

export async function makeCredentials(dir: string): Promise<Credentials> {
  const path = (name: string) => join(dir, name);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await run('openssl', [
    'req',
    '-x509',
    ...ec,
    '-keyout',
    path('ca.key'),
    '-out',
    path('ca.crt'),
    '-days',
    '7',
    '-subj',
    '/CN=alp-mesh-envtest-ca',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  await run('openssl', [
    'req',
    ...ec,
    '-keyout',
    path('serving.key'),
    '-out',
    path('serving.csr'),
    '-subj',
    '/CN=kube-apiserver',
  ]);
  await writeFile(
    path('serving.ext'),
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n',
  );
  await run('openssl', [
    'x509',
    '-req',
    '-in',
    path('serving.csr'),
    '-CA',
    path('ca.crt'),
    '-CAkey',
    path('ca.key'),
    '-CAcreateserial',
    '-days',
    '7',
    '-extfile',
    path('serving.ext'),
    '-out',
    path('serving.crt'),
  ]);

  const sa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  await writeFile(path('sa.key'), sa.privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  await writeFile(path('sa.pub'), sa.publicKey.export({ type: 'spki', format: 'pem' }));

  const adminToken = randomBytes(24).toString('hex');
  // Format: token,user,uid,"group1,group2".
  await writeFile(path('tokens.csv'), `${adminToken},${ADMIN_USER},${ADMIN_USER},"system:masters"\n`, {
    mode: 0o600,
  });

  return {
    caCertPath: path('ca.crt'),
    servingCertPath: path('serving.crt'),
    servingKeyPath: path('serving.key'),
    serviceAccountKeyPath: path('sa.key'),
    serviceAccountPublicKeyPath: path('sa.pub'),
    tokenFilePath: path('tokens.csv'),
    adminToken,
  };
}
