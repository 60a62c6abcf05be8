// What the start-up bootstrap (spec §2.6) reads before any watch starts: the FelixConfigurations
// that apply to this node, and our Node (for its labels and published keys). Read directly from
// the API server with Felix's bootstrap back-off: 5 attempts from 200 ms, doubling, at most 2 s.
import type { KubeConfig } from '@kubernetes/client-node';
import { backoffDelayMs } from '../../daemon/backoff.js';
import type { Logger } from '../../daemon/log.js';
import { describeApiError } from '../../kube/api-client.js';
import { readFelixConfigurations, type FelixConfigurationRead } from '../../kube/felix-configurations.js';

export type StartState = FelixConfigurationRead;

const ATTEMPTS = 5;
const RETRY = { initialMs: 200, maxMs: 2_000, factor: 2, jitter: 0.2 };

/** The start state, or null (logged) when the API server cannot be read or `isClosed()` turns true. */
export async function readStartState(
  kubeConfig: KubeConfig,
  nodeName: string,
  log: Logger,
  isClosed: () => boolean,
  signal?: AbortSignal,
): Promise<StartState | null> {
  // The signal aborts requests in flight when the controller closes, so shutdown never waits for
  // an API server that does not answer.
  const options = signal === undefined ? {} : { signal };
  for (let attempt = 0; !isClosed(); attempt++) {
    try {
      return await readFelixConfigurations(kubeConfig, nodeName, options);
    } catch (err) {
      if (attempt + 1 >= ATTEMPTS) {
        log.warn({ err: describeApiError(err) }, 'bootstrap: cannot read the API server; skipped');
        return null;
      }
      await new Promise((r) => setTimeout(r, backoffDelayMs(attempt, RETRY, Math.random)));
    }
  }
  return null;
}
