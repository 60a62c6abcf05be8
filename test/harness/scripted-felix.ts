// A scripted stand-in for Felix's PolicySync server: a real grpc-js server on a real Unix socket
// that streams whatever the test tells it to, to every connected Sync stream.
import * as grpc from '@grpc/grpc-js';
import { rmSync } from 'node:fs';
import { loadFelix } from '../../proto/load.js';
import { ConnectionCount } from './connection-count.js';
import type { ToDataplane } from '../../proto/gen/felix/ToDataplane.js';
import type { SyncRequest__Output } from '../../proto/gen/felix/SyncRequest.js';

type SyncStream = grpc.ServerWritableStream<SyncRequest__Output, ToDataplane>;

export class ScriptedFelix {
  private server: grpc.Server | null = null;
  private readonly streams = new Set<SyncStream>();
  private readonly count = new ConnectionCount();
  /** Messages every new stream receives first (a snapshot), then InSync if `sendInSyncOnJoin`. */
  snapshot: ToDataplane[] = [];
  sendInSyncOnJoin = true;

  constructor(readonly socketPath: string) {}

  async start(): Promise<void> {
    const server = new grpc.Server({ 'grpc.max_send_message_length': -1 });
    server.addService(loadFelix().felix.PolicySync.service, {
      Sync: (call: SyncStream) => {
        this.streams.add(call);
        call.on('cancelled', () => this.streams.delete(call));
        call.on('close', () => this.streams.delete(call));
        for (const msg of this.snapshot) call.write(msg);
        if (this.sendInSyncOnJoin) call.write({ in_sync: {} });
        this.count.add();
      },
      Report: (_call: unknown, cb: grpc.sendUnaryData<{ successful: boolean }>) =>
        cb(null, { successful: false }),
    });
    rmSync(this.socketPath, { force: true });
    await new Promise<void>((resolve, reject) =>
      server.bindAsync(`unix:${this.socketPath}`, grpc.ServerCredentials.createInsecure(), (err) =>
        err ? reject(err) : resolve(),
      ),
    );
    this.server = server;
  }

  /** Sync streams opened in total. */
  get connections(): number {
    return this.count.total;
  }

  /** Resolves once at least `n` Sync streams have been opened in total. */
  waitForConnections(n: number, timeoutMs = 30_000): Promise<void> {
    return this.count.waitFor(n, 'PolicySync connections', timeoutMs);
  }

  get openStreams(): number {
    return this.streams.size;
  }

  /** Sends to every open stream. */
  send(...messages: ToDataplane[]): void {
    for (const s of this.streams) for (const m of messages) s.write(m);
  }

  /** Ends every open stream with OK, as Felix does after a WorkloadEndpointRemove. */
  endStreams(): void {
    for (const s of this.streams) s.end();
    this.streams.clear();
  }

  /** Stops the server (streams are cut) and removes its socket. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (server === null) return;
    this.streams.clear();
    server.forceShutdown();
    rmSync(this.socketPath, { force: true });
  }
}
