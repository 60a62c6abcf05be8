// Real `bin/dikastes server` processes for the demo, one per pod, each dialling the PolicySync
// socket alp-node made for that pod, and an ext_authz client playing Envoy's part.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import type { HealthzClient } from '../../proto/gen/dikastes/Healthz.js';
import type { AuthorizationClient } from '../../proto/gen/envoy/service/auth/v3/Authorization.js';
import type { CheckRequest } from '../../proto/gen/envoy/service/auth/v3/CheckRequest.js';
import { loadExtAuthz, loadHealthz } from '../../proto/load.js';

export interface CheckAnswer {
  readonly code: number;
  readonly message: string;
}

export class DemoSidecar {
  private readonly child: ChildProcess;
  private readonly authz: AuthorizationClient;
  private readonly healthz: HealthzClient;
  private readonly stderr: string[] = [];
  private exitCode: number | null = null;

  constructor(
    readonly workload: string,
    repoRoot: string,
    readonly listen: string,
    dial: string,
  ) {
    this.child = spawn(
      process.execPath,
      [join(repoRoot, 'bin', 'dikastes'), 'server', '-l', listen, '-d', dial, '--log-level', 'warn'],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    this.child.stderr?.setEncoding('utf8');
    this.child.stderr?.on('data', (chunk: string) => this.stderr.push(chunk));
    this.child.on('exit', (code) => {
      this.exitCode = code ?? -1;
    });
    const target = `unix:${listen}`;
    this.authz = new (loadExtAuthz().envoy.service.auth.v3.Authorization)(
      target,
      grpc.credentials.createInsecure(),
    );
    this.healthz = new (loadHealthz().dikastes.Healthz)(target, grpc.credentials.createInsecure());
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** Waits until the sidecar reports ready: in sync with alp-node and its endpoint known. */
  async waitReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.exitCode !== null)
        throw new Error(`dikastes for ${this.workload} exited: ${this.stderr.join('').slice(-500)}`);
      if (existsSync(this.listen) && (await this.ready())) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`dikastes for ${this.workload} not ready after ${timeoutMs} ms`);
  }

  check(request: CheckRequest): Promise<CheckAnswer> {
    return new Promise((resolve, reject) =>
      this.authz.Check(request, { deadline: new Date(Date.now() + 5_000) }, (err, res) => {
        if (err !== null || res === undefined) reject(err ?? new Error('no response'));
        else resolve({ code: res.status?.code ?? -1, message: res.status?.message ?? '' });
      }),
    );
  }

  async stop(): Promise<void> {
    this.authz.close();
    this.healthz.close();
    if (this.exitCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  }

  private ready(): Promise<boolean> {
    return new Promise((resolve) =>
      this.healthz.CheckReadiness({}, { deadline: new Date(Date.now() + 1_000) }, (err, res) =>
        resolve(err === null && res?.healthy === true),
      ),
    );
  }
}
