// The benchmark's PolicySync server: it answers a Sync call with the snapshot's bytes encoded
// once, in one write, so that "snapshot streamed → first correct verdict" times the sidecar that
// reads them and not the sender. (The tests' ScriptedFelix serialises each message through
// grpc-js as it goes; for the production store that held the sidecar waiting ~0.7 s for data.)
// gRPC's length-prefixed messages are a byte stream across DATA frames, so one large write is
// what any gRPC client reads from a Felix that sends quickly.
import { createServer, constants, type Http2Server, type ServerHttp2Stream } from 'node:http2';
import { rmSync } from 'node:fs';
import { loadFelix } from '../../../proto/load.js';
import type { ToDataplane } from '../../../proto/gen/felix/ToDataplane.js';
import { ConnectionCount } from '../../harness/connection-count.js';

const SYNC_PATH = '/felix.PolicySync/Sync';

/** `messages` as the bytes of a gRPC response body: each one length-prefixed, uncompressed. */
export function encodeSyncMessages(messages: readonly ToDataplane[]): Buffer {
  const serialize = loadFelix().felix.PolicySync.service.Sync.responseSerialize;
  const parts: Buffer[] = [];
  for (const m of messages) {
    const body = serialize(m);
    const prefix = Buffer.alloc(5);
    prefix.writeUInt32BE(body.length, 1);
    parts.push(prefix, body);
  }
  return Buffer.concat(parts);
}

export class BulkFelix {
  private server: Http2Server | null = null;
  private readonly streams = new Set<ServerHttp2Stream>();
  private readonly count = new ConnectionCount();
  /** Bytes every new Sync stream receives first (encodeSyncMessages of the snapshot and InSync). */
  snapshot: Buffer = Buffer.alloc(0);

  constructor(readonly socketPath: string) {}

  async start(): Promise<void> {
    const server = createServer();
    server.on('stream', (stream, headers) => {
      stream.on('error', () => this.streams.delete(stream));
      stream.on('close', () => this.streams.delete(stream));
      if (headers[constants.HTTP2_HEADER_PATH] !== SYNC_PATH) {
        // Report and anything else: UNIMPLEMENTED, as a server without the method answers.
        stream.respond(
          { ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '12' },
          {
            endStream: true,
          },
        );
        return;
      }
      stream.resume(); // the SyncRequest is not needed
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' });
      if (this.snapshot.length > 0) stream.write(this.snapshot);
      this.streams.add(stream);
      this.count.add();
    });
    server.on('sessionError', () => {});
    rmSync(this.socketPath, { force: true });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.socketPath, () => resolve());
    });
    this.server = server;
  }

  /** Resolves once at least `n` Sync streams have been opened in total. */
  waitForConnections(n: number, timeoutMs: number): Promise<void> {
    return this.count.waitFor(n, 'PolicySync connections', timeoutMs);
  }

  /** Writes encoded messages to every open Sync stream. */
  send(bytes: Buffer): void {
    for (const s of this.streams) s.write(bytes);
  }

  /** Stops the server, cutting every stream, and removes its socket. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (server === null) return;
    for (const s of this.streams) s.close(constants.NGHTTP2_CANCEL);
    this.streams.clear();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(this.socketPath, { force: true });
  }
}
