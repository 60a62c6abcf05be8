// Test support: input objects → bytes → decoded objects, through the very method definitions the
// gRPC server and client use, so unit tests see what the wire delivers.
import { loadExtAuthz, loadFelix } from '../proto/load.js';
import type { CheckRequest, CheckRequest__Output } from '../proto/gen/envoy/service/auth/v3/CheckRequest.js';
import type { ToDataplane, ToDataplane__Output } from '../proto/gen/felix/ToDataplane.js';

export function decodeToDataplane(msg: ToDataplane): ToDataplane__Output {
  const sync = loadFelix().felix.PolicySync.service.Sync;
  return sync.responseDeserialize(sync.responseSerialize(msg));
}

export function decodeCheckRequest(req: CheckRequest): CheckRequest__Output {
  const check = loadExtAuthz().envoy.service.auth.v3.Authorization.service.Check;
  return check.requestDeserialize(check.requestSerialize(req));
}
