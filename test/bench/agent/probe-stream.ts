// Opens one PolicySync stream as a sidecar would and times it until InSync.
import * as grpc from '@grpc/grpc-js';
import type { ToDataplane__Output } from '../../../proto/gen/felix/ToDataplane.js';
import { loadFelix } from '../../../proto/load.js';

export interface ProbeResult {
  readonly ms: number;
  readonly messages: number;
  readonly bytes: number;
}

export function openProbeStream(socket: string): Promise<ProbeResult> {
  const { PolicySync } = loadFelix().felix;
  const serialize = PolicySync.service.Sync.responseSerialize;
  const client = new PolicySync(`unix:${socket}`, grpc.credentials.createInsecure(), {
    'grpc.max_receive_message_length': 64 * 1024 * 1024,
  });
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    let messages = 0;
    let bytes = 0;
    const call = client.Sync({});
    call.on('data', (m: ToDataplane__Output) => {
      messages++;
      bytes += serialize(m).length;
      if (m.payload === 'in_sync') {
        const ms = performance.now() - t0;
        call.cancel();
        client.close();
        resolve({ ms, messages, bytes });
      }
    });
    call.on('error', (err: grpc.ServiceError) => {
      if (err.code !== grpc.status.CANCELLED) reject(err);
    });
  });
}
