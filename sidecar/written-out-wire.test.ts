// The sidecar writes some of its wire contract out instead of loading the .proto files at start:
// these must stay what the .proto files say.
import { describe, expect, it } from 'vitest';
import { loadExtAuthz, loadFelix } from '../proto/load.js';
import { CHECK_PATH } from './grpc-server.js';
import { SYNC_REQUEST } from './policy-sync-client.js';

describe('wire constants written out in the sidecar', () => {
  it("Check's path is the one ext_authz v3 declares", () => {
    expect(CHECK_PATH).toBe(loadExtAuthz().envoy.service.auth.v3.Authorization.service.Check.path);
  });

  it('the Sync request is an empty SyncRequest as protobuf encodes it', () => {
    const sync = loadFelix().felix.PolicySync.service.Sync;
    expect(SYNC_REQUEST.equals(sync.requestSerialize({}))).toBe(true);
  });
});
