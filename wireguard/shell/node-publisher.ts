// Writes our WireGuard annotations onto our Node: a JSON merge patch carrying the resourceVersion
// just read, so a concurrent writer makes it fail with 409 and we re-read and retry. Unlike
// Felix's daemon, which gives up silently after three conflicts (spec §9.4), we keep retrying
// with back-off until the Node says what we want.
import { ApiException, PatchStrategy, setHeaderOptions, type CoreV1Api } from '@kubernetes/client-node';
import type { Logger } from '../../daemon/log.js';
import { describeApiError } from '../../kube/api-client.js';
import { backoffDelayMs } from '../../daemon/backoff.js';
import { annotationChanges, type AnnotationChanges } from '../core/annotations.js';
import type { FamilyStatus } from '../core/annotations.js';

const CONFLICT_ATTEMPTS = 5;
const RETRY = { initialMs: 500, maxMs: 30_000, factor: 2, jitter: 0.2 };
const MERGE_PATCH = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const JSON_PATCH = setHeaderOptions('Content-Type', PatchStrategy.JsonPatch);

interface Confirmation {
  readonly isWanted: (written: readonly FamilyStatus[]) => boolean;
  readonly resolve: () => void;
}

export class NodePublisher {
  private statuses: readonly FamilyStatus[] = [];
  private confirmations: Confirmation[] = [];
  private running: Promise<void> | null = null;
  private isDirty = false;
  private failures = 0;
  private retryTimer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(
    private readonly core: CoreV1Api,
    private readonly nodeName: string,
    private readonly log: Logger,
  ) {}

  /** Makes the Node match `statuses` eventually; calls coalesce. */
  publish(statuses: readonly FamilyStatus[]): void {
    this.statuses = statuses;
    this.isDirty = true;
    if (this.running !== null || this.closed) return;
    this.running = this.loop().finally(() => {
      this.running = null;
    });
  }

  /**
   * Publishes and resolves once the Node says what `isWanted` looks for (key rotation waits for
   * its new key to be out before switching the device); rejects after `timeoutMs`.
   */
  publishAndConfirm(
    statuses: readonly FamilyStatus[],
    isWanted: (written: readonly FamilyStatus[]) => boolean,
    timeoutMs: number,
  ): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.confirmations = this.confirmations.filter((c) => c !== confirmation);
        reject(new Error(`our Node did not take the new annotations within ${timeoutMs} ms`));
      }, timeoutMs);
      const confirmation: Confirmation = {
        isWanted,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      this.confirmations.push(confirmation);
      this.publish(statuses);
    });
  }

  /**
   * Removes annotation `name` if it still has `value` (a JSON patch `test` makes this atomic, so a
   * request written meanwhile stays); false when it had changed or was gone.
   */
  async removeAnnotationIfUnchanged(name: string, value: string): Promise<boolean> {
    const path = `/metadata/annotations/${name.replace(/~/g, '~0').replace(/\//g, '~1')}`;
    try {
      await this.core.patchNode(
        {
          name: this.nodeName,
          body: [
            { op: 'test', path, value },
            { op: 'remove', path },
          ],
        },
        JSON_PATCH,
      );
      return true;
    } catch (err) {
      // 422: the test failed (another value, or no annotation).
      if (err instanceof ApiException && err.code === 422) return false;
      throw err;
    }
  }

  async idle(): Promise<void> {
    while (this.running !== null) await this.running;
  }

  /**
   * Removes each named annotation unless it holds the given value (null: remove whatever it
   * holds), for the start-up bootstrap (spec §2.6). Resolves with the annotations removed; a
   * missing Node has none. Errors are the caller's to report.
   */
  async removeUnlessHolding(keep: ReadonlyMap<string, string | null>): Promise<string[]> {
    let removed: string[] = [];
    try {
      await this.patchOnce((current) => {
        const changes: Record<string, null> = {};
        for (const [name, value] of keep) {
          if (name in current && current[name] !== value) changes[name] = null;
        }
        removed = Object.keys(changes);
        return removed.length === 0 ? null : changes;
      });
    } catch (err) {
      if (err instanceof ApiException && err.code === 404) return [];
      throw err;
    }
    return removed;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    await this.idle();
  }

  private async loop(): Promise<void> {
    while (this.isDirty && !this.closed) {
      this.isDirty = false;
      const statuses = this.statuses;
      try {
        await this.patchOnce((current) => annotationChanges(current, statuses));
        this.failures = 0;
        const confirmed = this.confirmations.filter((c) => c.isWanted(statuses));
        this.confirmations = this.confirmations.filter((c) => !confirmed.includes(c));
        for (const c of confirmed) c.resolve();
      } catch (err) {
        if (err instanceof ApiException && err.code === 404) {
          // Retried when our Node appears (every Node event publishes again).
          this.log.warn({ node: this.nodeName }, 'our Node does not exist; cannot publish the WireGuard key');
          return;
        }
        const delay = backoffDelayMs(this.failures++, RETRY, Math.random);
        this.log.warn(
          { node: this.nodeName, err: describeApiError(err), retryInMs: Math.round(delay) },
          'could not update Node annotations',
        );
        if (this.retryTimer === null && !this.closed) {
          this.retryTimer = setTimeout(() => {
            this.retryTimer = null;
            this.publish(this.statuses);
          }, delay);
        }
        return;
      }
    }
  }

  /** Reads our Node and patches what `changesFor` asks, re-reading after a conflicting write. */
  private async patchOnce(
    changesFor: (current: Readonly<Record<string, string>>) => AnnotationChanges | null,
  ): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const node = await this.core.readNode({ name: this.nodeName });
      const changes = changesFor(node.metadata?.annotations ?? {});
      if (changes === null) return;
      try {
        await this.core.patchNode(
          {
            name: this.nodeName,
            body: { metadata: { resourceVersion: node.metadata?.resourceVersion, annotations: changes } },
          },
          MERGE_PATCH,
        );
        this.log.info(
          { node: this.nodeName, annotations: changes },
          'updated WireGuard annotations on our Node',
        );
        return;
      } catch (err) {
        if (!(err instanceof ApiException && err.code === 409) || attempt >= CONFLICT_ATTEMPTS) throw err;
        this.log.debug({ attempt }, 'Node changed while patching; re-reading');
      }
    }
  }
}
