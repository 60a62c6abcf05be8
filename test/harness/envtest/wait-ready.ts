// Polls a health endpoint until it answers 200, giving up when the server process exits or the
// deadline passes. Used for etcd's /health and kube-apiserver's /readyz.
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { ServerProcess } from './server-process.js';

export interface Probe {
  readonly url: string;
  readonly ca?: Buffer;
  readonly bearerToken?: string;
}

interface ProbeAnswer {
  readonly status: number;
  readonly body: string;
}

function get(probe: Probe, timeoutMs: number): Promise<ProbeAnswer> {
  const url = new URL(probe.url);
  const headers: Record<string, string> = probe.bearerToken
    ? { authorization: `Bearer ${probe.bearerToken}` }
    : {};
  return new Promise((resolve, reject) => {
    const onResponse = (res: IncomingMessage) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    };
    const req =
      url.protocol === 'https:'
        ? httpsRequest(url, { headers, ca: probe.ca, timeout: timeoutMs }, onResponse)
        : httpRequest(url, { headers, timeout: timeoutMs }, onResponse);
    req.on('timeout', () => req.destroy(new Error('probe timed out')));
    req.on('error', reject);
    req.end();
  });
}

export async function waitReady(server: ServerProcess, probe: Probe, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer yet';
  while (Date.now() < deadline) {
    if (server.hasExited) {
      throw new Error(
        `${server.name} exited before it was ready; end of ${server.logPath}:\n${server.logTail()}`,
      );
    }
    try {
      const answer = await get(probe, 2_000);
      if (answer.status === 200) return;
      last = `HTTP ${answer.status}: ${answer.body.slice(0, 500)}`;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(
    `${server.name} not ready at ${probe.url} after ${timeoutMs} ms (${last}); end of ${server.logPath}:\n` +
      server.logTail(),
  );
}
