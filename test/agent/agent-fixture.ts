// alp-node's policy-sync agent in this process, plus real `bin/dikastes server` processes that
// dial its per-pod sockets, and a raw PolicySync client for watching a stream directly.
import { appendFileSync, mkdirSync, rmSync } from 'node:fs';
import { fingerprint } from '../../agent/datastore/object-tracker.js';
import * as http2 from 'node:http2';
import { connect } from 'node:net';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { Registry } from 'prom-client';
import type { Datastore } from '../../agent/datastore/object-tracker.js';
import type { SocketLayout } from '../../agent/pod-sockets.js';
import type { PolicySyncAgent } from '../../agent/policy-sync-agent.js';
import { startPolicySyncAgent } from '../../agent/policy-sync-agent.js';
import { createLogger, silentLogger, type Logger } from '../../daemon/log.js';
import type { PolicySyncClient } from '../../proto/gen/felix/PolicySync.js';
import type { ToDataplane__Output } from '../../proto/gen/felix/ToDataplane.js';
import { loadFelix } from '../../proto/load.js';
import { EnvoyStandIn, httpCheckRequest } from '../harness/ext-authz-client.js';
import { ChildRun, fileExists, waitFor } from '../harness/process.js';
import { makeTempDir } from '../harness/temp-dirs.js';

/** Set ALP_TEST_LOG=debug to see the agent's log lines. */
export function testLogger(): Logger {
  const level = process.env['ALP_TEST_LOG'];
  return level === 'debug' || level === 'info'
    ? createLogger({ name: 'alp-node', level, format: 'text' })
    : silentLogger();
}

export interface AgentUnderTest {
  readonly agent: PolicySyncAgent;
  readonly dir: string;
  readonly prefix: string;
  readonly registry: Registry;
  close(): Promise<void>;
}

export async function startAgent(opts: {
  nodeName: string;
  datastore: Datastore;
  layout: SocketLayout;
  /** Runs before the agent starts, e.g. to leave files from an "earlier run" under the prefix. */
  prepare?: (prefix: string) => void;
}): Promise<AgentUnderTest> {
  const dir = makeTempDir('alp-agent');
  const prefix = join(dir, 'nodeagent');
  // With Calico's CSI driver the directory is a host directory that exists before alp-node starts.
  if (opts.layout === 'csi') mkdirSync(prefix, { recursive: true });
  opts.prepare?.(prefix);
  const registry = new Registry();
  const agent = await startPolicySyncAgent({
    nodeName: opts.nodeName,
    datastore: opts.datastore,
    log: testLogger(),
    registry,
    policySyncPathPrefix: prefix,
    socketLayout: opts.layout,
    credentialsPollMs: 50,
    onApplied: (e) => {
      const out = process.env['ALP_TEST_EVENTS'];
      if (out) appendFileSync(out, `${fingerprint(e)}\n`);
    },
  });
  return {
    agent,
    dir,
    prefix,
    registry,
    async close() {
      await agent.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface RequestShape {
  readonly sourceIp: string;
  readonly principal?: string;
  readonly destinationIp?: string;
  readonly port?: number;
  /** null: a TCP-level check without HTTP attributes. */
  readonly method?: string | null;
  readonly path?: string;
}

/** A real Dikastes process dialling one pod's PolicySync socket. */
export class Sidecar {
  readonly run: ChildRun;
  readonly envoy: EnvoyStandIn;
  readonly listen: string;

  constructor(dir: string, name: string, dial: string) {
    this.listen = join(dir, `${name}.dikastes.sock`);
    this.run = new ChildRun('dikastes', ['server', '-l', this.listen, '-d', dial, '--log-level', 'info']);
    this.envoy = new EnvoyStandIn(this.listen);
  }

  async waitReady(timeoutMs = 30_000): Promise<void> {
    await waitFor('the dikastes socket', () => fileExists(this.listen), timeoutMs);
    await waitFor('dikastes readiness', () => this.envoy.ready(), timeoutMs);
  }

  async check(r: RequestShape): Promise<number> {
    const req = httpCheckRequest({
      sourceIp: r.sourceIp,
      sourcePrincipal: r.principal ?? '',
      destinationIp: r.destinationIp ?? '192.0.2.200',
      destinationPort: r.port ?? 80,
      method: r.method ?? 'GET',
      path: r.path ?? '/',
    });
    if (r.method === null) delete req.attributes?.request;
    const res = await this.envoy.check(req);
    return res.status?.code ?? -1;
  }

  /** Waits until the sidecar answers `code` (0 OK, 7 PERMISSION_DENIED) for this request. */
  async waitForCode(r: RequestShape, code: number, what: string, timeoutMs = 30_000): Promise<void> {
    await waitFor(`${what} (code ${code})`, async () => (await this.check(r)) === code, timeoutMs);
  }

  async stop(): Promise<void> {
    this.envoy.close();
    await this.run.stop();
  }
}

/**
 * A client that opens a PolicySync stream over plain HTTP/2 and then does not read it, so HTTP/2
 * flow control pushes back on the server. (A paused grpc-js client keeps draining the socket
 * into memory, so it cannot play a slow client.)
 */
export class StalledClient {
  private readonly session: http2.ClientHttp2Session;
  private readonly stream: http2.ClientHttp2Stream;
  readonly messages: ToDataplane__Output[] = [];

  constructor(socket: string) {
    this.session = http2.connect('http://localhost', { createConnection: () => connect(socket) });
    this.session.on('error', () => undefined);
    this.stream = this.session.request({
      ':method': 'POST',
      ':path': '/felix.PolicySync/Sync',
      'content-type': 'application/grpc',
      te: 'trailers',
    });
    this.stream.on('error', () => undefined);
    // One empty SyncRequest: no compression flag, zero length.
    this.stream.end(Buffer.alloc(5));
    this.stream.pause();
  }

  /** Starts reading again, decoding gRPC frames into `messages`. */
  resume(): void {
    const { Sync } = loadFelix().felix.PolicySync.service;
    let buf = Buffer.alloc(0);
    this.stream.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 5) {
        const len = buf.readUInt32BE(1);
        if (buf.length < 5 + len) break;
        this.messages.push(Sync.responseDeserialize(buf.subarray(5, 5 + len)));
        buf = buf.subarray(5 + len);
      }
    });
    this.stream.resume();
  }

  close(): void {
    this.stream.close();
    this.session.close();
  }
}

/** A raw PolicySync client: records every message and whether the stream ended. */
export class RawStream {
  readonly messages: ToDataplane__Output[] = [];
  ended = false;
  error: grpc.ServiceError | null = null;
  readonly call: grpc.ClientReadableStream<ToDataplane__Output>;
  private readonly client: PolicySyncClient;

  constructor(socket: string, opts: { paused?: boolean } = {}) {
    this.client = new (loadFelix().felix.PolicySync)(`unix:${socket}`, grpc.credentials.createInsecure(), {
      'grpc.max_receive_message_length': 64 * 1024 * 1024,
    });
    this.call = this.client.Sync({});
    if (opts.paused !== true) this.call.on('data', (m: ToDataplane__Output) => this.messages.push(m));
    this.call.on('end', () => {
      this.ended = true;
    });
    this.call.on('error', (err: grpc.ServiceError) => {
      this.error = err;
    });
  }

  kinds(): string[] {
    return this.messages.map((m) => m.payload ?? 'none');
  }

  close(): void {
    this.call.cancel();
    this.client.close();
  }
}
