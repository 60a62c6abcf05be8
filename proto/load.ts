// The one place that loads our .proto subsets, with the options the type generator used.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { ProtoGrpcType as ExtAuthzGrpc } from './gen/external_auth.js';
import type { ProtoGrpcType as FelixGrpc } from './gen/felixbackend.js';
import type { ProtoGrpcType as HealthzGrpc } from './gen/healthz.js';

/**
 * Directory holding the .proto files: beside this file when run from source (proto/), in proto/
 * beside the bundle that inlines this file (dist/bundle/proto/, copied by scripts/bundle.mjs), or the
 * source folder two levels up from tsc's dist/proto/load.js.
 */
function protoRoot(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [here, join(here, 'proto'), join(here, '..', '..', 'proto')];
  return candidates.find((dir) => existsSync(join(dir, 'files.json'))) ?? join(here, '..', '..', 'proto');
}

interface LoaderOptionsFile {
  readonly keepCase: boolean;
  readonly longs: 'String' | 'Number';
  readonly enums: 'String';
  readonly defaults: boolean;
  readonly oneofs: boolean;
}

const root = protoRoot();
const file = JSON.parse(readFileSync(join(root, 'loader-options.json'), 'utf8')) as LoaderOptionsFile;
// The generator takes type names; the runtime loader wants the constructors themselves.
const options: protoLoader.Options = {
  ...file,
  longs: file.longs === 'String' ? String : Number,
  enums: String,
};

function load<T>(file: string): T {
  const definition = protoLoader.loadSync(file, { ...options, includeDirs: [root] });
  return grpc.loadPackageDefinition(definition) as unknown as T;
}

let extAuthz: ExtAuthzGrpc | undefined;
let felix: FelixGrpc | undefined;
let healthz: HealthzGrpc | undefined;

/** envoy.service.auth.v3 (ext_authz Check). */
export function loadExtAuthz(): ExtAuthzGrpc {
  extAuthz ??= load<ExtAuthzGrpc>('envoy/service/auth/v3/external_auth.proto');
  return extAuthz;
}

/** felix.PolicySync. */
export function loadFelix(): FelixGrpc {
  felix ??= load<FelixGrpc>('felix/felixbackend.proto');
  return felix;
}

/** dikastes.Healthz. */
export function loadHealthz(): HealthzGrpc {
  healthz ??= load<HealthzGrpc>('dikastes/healthz.proto');
  return healthz;
}
