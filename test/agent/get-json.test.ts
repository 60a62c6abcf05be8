// getJson, the datastore's list request, against a stand-in API server on loopback that misbehaves:
// it must end every request in its deadline or with an error (never hang a start-up), and report
// answers other than 2xx as the generated clients do, so the reflector's retries and 410 handling
// see the same errors as before.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { apiErrorCode, describeApiError, getJson, isAbortError } from '../../kube/api-client.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

let server: Server | undefined;
const held: ServerResponse[] = [];

function serve(handler: Handler): Promise<KubeConfig> {
  server = createServer((req, res) => {
    held.push(res);
    handler(req, res);
  });
  return new Promise((resolve) =>
    server?.listen(0, '127.0.0.1', () => {
      const kc = new KubeConfig();
      const { port } = server?.address() as AddressInfo;
      kc.loadFromOptions({
        clusters: [{ name: 'c', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
        users: [{ name: 'u', token: 't' }],
        contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
        currentContext: 'x',
      });
      resolve(kc);
    }),
  );
}

afterEach(async () => {
  for (const res of held.splice(0)) res.destroy();
  await new Promise((r) => server?.close(r));
  server = undefined;
});

describe('getJson', () => {
  it('sends the query and the credentials, and hands back the parsed answer', async () => {
    let seen: IncomingMessage | undefined;
    const kc = await serve((req, res) => {
      seen = req;
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"kind":"PodList","items":[]}');
    });
    const body = await getJson(kc, '/api/v1/pods', { limit: 500, resourceVersion: '0', continue: undefined });
    expect(body).toEqual({ kind: 'PodList', items: [] });
    expect(seen?.url).toBe('/api/v1/pods?limit=500&resourceVersion=0');
    expect(seen?.headers.authorization).toBe('Bearer t');
  });

  it.each([
    ['never answers', (): void => undefined],
    [
      'sends headers, then nothing',
      (_: IncomingMessage, res: ServerResponse) => void res.writeHead(200).flushHeaders(),
    ],
    [
      'stops in the middle of the body',
      (_: IncomingMessage, res: ServerResponse) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"items":[');
      },
    ],
  ])('gives up at its deadline on a server that %s', async (_name, handler) => {
    const kc = await serve(handler);
    const started = Date.now();
    const err = await getJson(kc, '/api/v1/pods', {}, { timeoutMs: 300 }).catch((e: unknown) => e);
    expect(isAbortError(err)).toBe(true);
    expect(describeApiError(err)).toBe('no answer from the API server in time');
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it('ends at once when its owner closes', async () => {
    const kc = await serve(() => undefined);
    const closing = new AbortController();
    const pending = getJson(kc, '/api/v1/pods', {}, { signal: closing.signal }).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 50));
    closing.abort();
    expect(isAbortError(await pending)).toBe(true);
  });

  it('fails, rather than hangs, when the connection drops mid-answer', async () => {
    const kc = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"items":[', () => res.destroy());
    });
    await expect(getJson(kc, '/api/v1/pods', {}, { timeoutMs: 60_000 })).rejects.toThrow();
  });

  it('refuses an answer that is not JSON', async () => {
    const kc = await serve((_req, res) => void res.writeHead(200).end('<html>proxy error</html>'));
    await expect(getJson(kc, '/api/v1/pods', {})).rejects.toThrow(SyntaxError);
  });

  it('reports a status other than 2xx with its code and the Status message, as a generated client', async () => {
    const kc = await serve((_req, res) => {
      res.writeHead(410, { 'content-type': 'application/json' });
      res.end('{"kind":"Status","code":410,"reason":"Expired","message":"continue token expired"}');
    });
    const err = await getJson(kc, '/api/v1/pods', { continue: 'x' }).catch((e: unknown) => e);
    expect(apiErrorCode(err)).toBe(410);
    expect(describeApiError(err)).toBe('HTTP 410: continue token expired');
  });
});
