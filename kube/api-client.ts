// Kubernetes API clients with a deadline on every request. client-node's generated clients wait
// for an answer as long as the socket stays open, so an API server that accepts connections but
// never answers would hang start-up and every retry loop behind it. A request middleware (the
// client's supported extension point) gives each call an AbortSignal that fires after the
// deadline; it covers connecting, the response headers and reading the body. getJson is the
// same request without a generated client, for lists that must stay the wire's plain JSON;
// getBody gives the bytes, for answers decoded here (the pod list as protobuf).
//
// client-node makes a new https.Agent for every request, so each one opened its own connection:
// a full TLS handshake and a new secure context each time (about twenty at alp-node's start).
// Every request made here (generated clients, getJson, the reflector's watches) goes through
// one keep-alive agent per KubeConfig and TLS settings instead: connections and TLS sessions are
// kept for the next request.
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest, type RequestOptions } from 'node:https';
import { createSecureContext } from 'node:tls';
import {
  ApiException,
  createConfiguration,
  ServerConfiguration,
  type ApiConstructor,
  type ApiType,
  type KubeConfig,
  type RequestContext,
  type ResponseContext,
} from '@kubernetes/client-node';
import { decodeStatusMessage, PROTOBUF_CONTENT_TYPE } from './pod-protobuf.js';

/** Long enough for a 500-item list page from a busy server; short enough to notice a dead one. */
export const API_REQUEST_TIMEOUT_MS = 30_000;

export interface ApiClientOptions {
  /** Deadline of each request; default API_REQUEST_TIMEOUT_MS. */
  readonly timeoutMs?: number;
  /** Aborts every request in flight, e.g. when the client's owner is closed. */
  readonly signal?: AbortSignal;
}

const pooledAgents = new WeakMap<KubeConfig, Map<string, HttpsAgent>>();

/**
 * The keep-alive agent shared by `kc`'s requests in place of `made`, the one client-node just
 * made for a request; `made` itself when it is not a plain https.Agent (a proxy's, or plain http).
 */
export function pooledAgent<A>(kc: KubeConfig, made: A): A | HttpsAgent {
  const given: unknown = made;
  if (!(given instanceof HttpsAgent) || given.constructor !== HttpsAgent) return made;
  const options = given.options;
  const key = JSON.stringify([
    options.ca,
    options.cert,
    options.key,
    options.pfx,
    options.passphrase,
    options.rejectUnauthorized,
    options.servername,
  ]);
  let byOptions = pooledAgents.get(kc);
  if (byOptions === undefined) pooledAgents.set(kc, (byOptions = new Map()));
  let agent = byOptions.get(key);
  if (agent === undefined) {
    // One secure context for every connection, rather than the CA and client certificate parsed
    // again for each.
    agent = new HttpsAgent({ ...options, keepAlive: true, secureContext: createSecureContext(options) });
    byOptions.set(key, agent);
  }
  return agent;
}

/** kc.makeApiClient, plus a deadline on each request (and an optional signal that ends them all). */
export function makeApiClient<T extends ApiType>(
  kc: KubeConfig,
  api: ApiConstructor<T>,
  options: ApiClientOptions = {},
): T {
  const cluster = kc.getCurrentCluster();
  if (cluster === null) throw new Error('the kubeconfig names no current cluster');
  const timeoutMs = options.timeoutMs ?? API_REQUEST_TIMEOUT_MS;
  const deadline = {
    pre: (context: RequestContext): Promise<RequestContext> => {
      const timeout = AbortSignal.timeout(timeoutMs);
      context.setSignal(options.signal === undefined ? timeout : AbortSignal.any([timeout, options.signal]));
      const agent = pooledAgent(kc, context.getAgent());
      if (agent !== undefined) context.setAgent(agent);
      return Promise.resolve(context);
    },
    post: (context: ResponseContext): Promise<ResponseContext> => Promise.resolve(context),
  };
  return new api(
    createConfiguration({
      baseServer: new ServerConfiguration(cluster.server, {}),
      authMethods: { default: kc },
      promiseMiddleware: [deadline],
    }),
  );
}

/**
 * GET `path` with `query` from the API server named by `kc` and parse the JSON answer: the
 * object exactly as the server sent it (no client-node model: no renamed fields, no Date
 * objects), as a watch delivers it. Same authentication and TLS as the generated clients and the
 * same deadline as makeApiClient, over the whole request including the body. A status other
 * than 2xx rejects with an ApiException carrying the code and the body's text, as a generated
 * client's does.
 */
export async function getJson(
  kc: KubeConfig,
  path: string,
  query: Readonly<Record<string, string | number | undefined>>,
  options: ApiClientOptions = {},
): Promise<unknown> {
  const { body } = await getBody(kc, path, query, 'application/json', options);
  return JSON.parse(body.toString('utf8')) as unknown;
}

/** An answer's body as bytes, and its media type (lower case, without parameters). */
export interface RawAnswer {
  readonly contentType: string;
  readonly body: Buffer;
}

export interface BodyOptions extends ApiClientOptions {
  /**
   * Called with a successful (2xx) answer's media type; a function it returns is given the body
   * piece by piece as it arrives (the answer's `body` is then empty), so that a long answer is
   * read while the rest is still on its way. What that function throws ends the request, which
   * rejects with it.
   */
  readonly readBody?: (contentType: string) => ((chunk: Buffer) => void) | null;
}

/**
 * As getJson, but asking for `accept` (an HTTP Accept header) and giving back the body's bytes
 * and media type: for answers the caller decodes itself (the pod list as protobuf).
 */
export async function getBody(
  kc: KubeConfig,
  path: string,
  query: Readonly<Record<string, string | number | undefined>>,
  accept: string,
  options: BodyOptions = {},
): Promise<RawAnswer> {
  const cluster = kc.getCurrentCluster();
  if (cluster === null) throw new Error('the kubeconfig names no current cluster');
  const url = new URL(cluster.server.replace(/\/+$/, '') + path);
  for (const [key, value] of Object.entries(query))
    if (value !== undefined) url.searchParams.set(key, String(value));
  const opts: RequestOptions = {};
  await kc.applyToHTTPSOptions(opts);
  opts.agent = pooledAgent(kc, opts.agent);
  const timeout = AbortSignal.timeout(options.timeoutMs ?? API_REQUEST_TIMEOUT_MS);
  const signal = options.signal === undefined ? timeout : AbortSignal.any([timeout, options.signal]);
  const send = url.protocol === 'http:' ? httpRequest : httpsRequest;
  const { status, headers, body } = await new Promise<{
    status: number;
    headers: Record<string, string>;
    body: Buffer;
  }>((resolve, reject) => {
    const req = send(
      url,
      {
        ...opts,
        method: 'GET',
        headers: { ...opts.headers, Accept: accept },
        signal,
      },
      (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        const status = res.statusCode ?? 0;
        const reader =
          status >= 200 && status <= 299 ? options.readBody?.(mediaType(res.headers['content-type'])) : null;
        if (reader == null) res.on('data', (chunk: Buffer) => chunks.push(chunk));
        else {
          res.on('data', (chunk: Buffer) => {
            try {
              reader(chunk);
            } catch (err) {
              req.destroy();
              reject(err instanceof Error ? err : new Error(String(err)));
            }
          });
        }
        res.on('error', reject);
        // A connection that ends mid-answer: no 'end', perhaps no 'error' either.
        res.on('close', () => {
          if (!res.complete) reject(new Error(`the answer to GET ${url.pathname} was cut off`));
        });
        res.on('end', () => {
          const headers: Record<string, string> = {};
          for (const [k, v] of Object.entries(res.headers))
            if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
          resolve({ status: res.statusCode ?? 0, headers, body: Buffer.concat(chunks) });
        });
      },
    );
    req.on('error', reject);
    req.end();
  });
  const contentType = mediaType(headers['content-type']);
  if (status < 200 || status > 299)
    throw new ApiException(
      status,
      `HTTP ${status} from GET ${url.pathname}`,
      errorText(contentType, body),
      headers,
    );
  return { contentType, body };
}

/** A Content-Type's media type, lower case, without parameters. */
function mediaType(header: string | undefined): string {
  return (header ?? '').split(';')[0]!.trim().toLowerCase();
}

/**
 * An error answer's body as text for ApiException: JSON as it came; a protobuf Status (the
 * answer to a protobuf request) as a JSON object holding its message, so logs still say why.
 */
function errorText(contentType: string, body: Buffer): string {
  if (contentType !== PROTOBUF_CONTENT_TYPE) return body.toString('utf8');
  const message = decodeStatusMessage(body);
  return message === null ? '' : JSON.stringify({ message });
}

/** The HTTP status of a failed API call (ApiException, or client-node's watch errors), if any. */
export function apiErrorCode(err: unknown): number | undefined {
  if (err instanceof ApiException) return err.code;
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { code?: unknown; statusCode?: unknown };
  if (typeof e.statusCode === 'number') return e.statusCode;
  return typeof e.code === 'number' ? e.code : undefined;
}

/** Whether the request was cut off by its deadline (or by close()). */
export function isAbortError(err: unknown): boolean {
  return err instanceof Error && (err.name === 'AbortError' || err.name === 'TimeoutError');
}

/** A short description for log lines: the status code, or what went wrong on the connection. */
export function describeApiError(err: unknown): string {
  if (err instanceof ApiException) {
    const reason = statusMessage(err.body);
    return reason === null ? `HTTP ${err.code}` : `HTTP ${err.code}: ${reason}`;
  }
  if (isAbortError(err)) return 'no answer from the API server in time';
  const code = apiErrorCode(err);
  if (code !== undefined && err instanceof Error) return `HTTP ${code}: ${err.message}`;
  return err instanceof Error ? err.message : String(err);
}

/** The `message` of a Kubernetes Status body (client-node hands it over as text or parsed). */
function statusMessage(body: unknown): string | null {
  let parsed = body;
  if (typeof body === 'string') {
    try {
      parsed = JSON.parse(body);
    } catch {
      return null;
    }
  }
  const message = (parsed as { message?: unknown } | null)?.message;
  return typeof message === 'string' && message !== '' ? message : null;
}
