import { describe, expect, it } from 'vitest';
import { loadExtAuthz, loadFelix } from './load.js';

describe('proto loading', () => {
  it('decodes enums as their names and 64-bit integers as numbers, as the generated types say', () => {
    const sync = loadFelix().felix.PolicySync.service.Sync;
    const msg = sync.responseDeserialize(
      sync.responseSerialize({
        sequence_number: 42,
        ipset_update: { id: 's', members: ['10.0.0.0/8'], type: 'NET' },
      }),
    );
    expect(msg.payload).toBe('ipset_update');
    expect(msg.ipset_update?.type).toBe('NET');
    expect(msg.sequence_number).toBe(42);
  });

  it('keeps proto field names (snake_case) and fills defaults', () => {
    const check = loadExtAuthz().envoy.service.auth.v3.Authorization.service.Check;
    const req = check.requestDeserialize(
      check.requestSerialize({
        attributes: { destination: { address: { socket_address: { protocol: 'UDP', port_value: 53 } } } },
      }),
    );
    expect(req.attributes?.destination?.address?.socket_address?.protocol).toBe('UDP');
    expect(req.attributes?.source).toBeNull();
    expect(req.attributes?.context_extensions).toEqual({});
  });
});
