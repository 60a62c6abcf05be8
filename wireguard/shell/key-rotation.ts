// Scheduled and on-demand rotation of the node's WireGuard keys (no Calico component rotates;
// Felix keeps a key for the device's life, spec §2.1). Triggers: an interval
// (`--wireguard-key-rotation-interval`, counted from when the key file was last written, so
// restarts do not postpone it), SIGUSR2, and the annotation `alp-mesh.io/wireguard-rotate-key`
// on our Node (any value; removed once the new key is out).
//
// One rotation, per enabled family:
//   1. a new key pair goes to `<key>.next` (0600, synced), so a crash cannot lose it;
//   2. the new public key is published on our Node, and we wait until the API server has it;
//   3. after a short delay, the device takes the new private key and starts a handshake with
//      every peer;
//   4. `<key>.next` replaces the key file and the old key's bytes are overwritten (key-store.ts).
// The private key is never logged, and neither is the public key here.
//
// Why this order: a WireGuard device has one key, and a peer knows us by one public key, which
// it reads from our Node. Whoever moves first breaks the path until the other side follows:
// after our switch, our handshakes fail at peers that still expect the old key; once a peer has
// replaced our entry, our packets under the old sessions are dropped. A dropped handshake is
// only retried after REKEY_TIMEOUT (5 s), so whichever side moves last starts a handshake at
// once: we after switching, and a peer when it replaces our entry (plan.ts `handshakePeers`);
// meanwhile WireGuard queues up to 128 outgoing packets per peer instead of dropping them.
// Switching the moment the API server confirms the publication makes both moves land within
// milliseconds, and then both sides' handshakes can cross (each answers the other's initiation
// and discards the answer to its own), which also waits for REKEY_TIMEOUT: in the benchmark, 2
// of 20 one-way rotations stalled for seconds. So we switch SWITCH_DELAY_MS after the
// confirmation, when peers have almost always replaced our entry: their handshakes fail until
// then, ours is the one that completes, and what is lost is our packets of that window (about
// 150 ms at most; TCP retransmits them). Measured loss: BENCHMARKS.md.
import type { IpFamily } from '../../calico/ip.js';
import type { Logger } from '../../daemon/log.js';
import type { KeyPair } from '../core/keys.js';
import type { RotationReadiness } from './controller.js';
import { discardNextKeyPair, lastKeyChangeMs, prepareNextKeyPair, promoteNextKeyPair } from './key-store.js';

export const ANNOTATION_ROTATE_KEY = 'alp-mesh.io/wireguard-rotate-key';

/** What asked for a rotation (a log field). */
export type RotationTrigger = 'interval' | 'signal' | 'annotation';

/** The controller's side of a rotation. */
export interface RotationTarget {
  rotationReadiness(family: IpFamily): RotationReadiness;
  publishNextKey(family: IpFamily, publicKey: string, timeoutMs: number): Promise<void>;
  switchKey(family: IpFamily, keyPair: KeyPair): Promise<void>;
  removeOwnAnnotationIfUnchanged(name: string, value: string): Promise<boolean>;
}

export interface KeyRotatorOptions {
  readonly stateDir: string;
  /** 0: no scheduled rotation. */
  readonly intervalMs: number;
  readonly target: RotationTarget;
  readonly log: Logger;
}

const PUBLISH_TIMEOUT_MS = 30_000;
/** A family that is enabled but not programmed yet (start-up): ask again after this. */
const NOT_READY_RETRY_MS = 2_000;
/** After a failed rotation (API server unreachable, …). */
const FAILURE_RETRY_MS = 60_000;
/** From the API server's confirmation to our switch; see the header. */
const SWITCH_DELAY_MS = 150;
/** setTimeout's limit; longer intervals are waited for in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export class KeyRotator {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private pending: { trigger: RotationTrigger; annotation: string | null } | null = null;
  /** The annotation value being or last acted on, so one request rotates once. */
  private handledAnnotation: string | null = null;
  private isClosed = false;

  constructor(private readonly opts: KeyRotatorOptions) {}

  /** Arms the interval: the first rotation is due `intervalMs` after the key file was written. */
  async start(): Promise<void> {
    if (this.opts.intervalMs <= 0) return;
    const last = (await lastKeyChangeMs(this.opts.stateDir)) ?? Date.now();
    this.arm(Math.max(0, last + this.opts.intervalMs - Date.now()));
  }

  /** Rotates now (coalesced with a rotation already waiting). */
  request(trigger: RotationTrigger): void {
    this.enqueue(trigger, null);
  }

  /** Our Node's annotations changed: a new request value asks for a rotation. */
  onOwnAnnotations(annotations: Readonly<Record<string, string>>): void {
    const value = annotations[ANNOTATION_ROTATE_KEY];
    if (value === undefined) {
      // Removed (by us, once done): the same value written again is a new request.
      this.handledAnnotation = null;
      return;
    }
    if (value === this.handledAnnotation) return;
    if (this.pending?.annotation === value) return;
    this.enqueue('annotation', value);
  }

  /** Resolves when no rotation is running (tests). */
  async idle(): Promise<void> {
    while (this.running !== null) await this.running;
  }

  /**
   * Stops scheduling. A rotation under way is not awaited (shutdown must not wait for an
   * unreachable API server); whatever step it reaches, the key file and `.next` stay consistent.
   */
  close(): void {
    this.isClosed = true;
    if (this.timer) clearTimeout(this.timer);
  }

  private enqueue(trigger: RotationTrigger, annotation: string | null): void {
    if (this.isClosed) return;
    this.pending = { trigger, annotation: annotation ?? this.pending?.annotation ?? null };
    if (this.running !== null) return;
    this.running = this.drain().finally(() => {
      this.running = null;
    });
  }

  private async drain(): Promise<void> {
    while (this.pending !== null && !this.isClosed) {
      const { trigger, annotation } = this.pending;
      this.pending = null;
      // Node events during the rotation (our own publication among them) still show the request.
      if (annotation !== null) this.handledAnnotation = annotation;
      const outcome = await this.rotateAll(trigger);
      if (outcome === 'retry-soon' || outcome === 'failed') {
        // Keep the request (an annotation stays on the Node until done).
        const retryMs = outcome === 'retry-soon' ? NOT_READY_RETRY_MS : FAILURE_RETRY_MS;
        this.arm(retryMs, { trigger, annotation });
        return;
      }
      if (annotation !== null) await this.finishAnnotationRequest(annotation);
      if (this.opts.intervalMs > 0) this.arm(this.opts.intervalMs);
    }
  }

  private async rotateAll(
    trigger: RotationTrigger,
  ): Promise<'rotated' | 'nothing' | 'retry-soon' | 'failed'> {
    const { target, log, stateDir } = this.opts;
    const families = ([4, 6] as const).map((family) => ({ family, ready: target.rotationReadiness(family) }));
    if (families.some((f) => f.ready === 'not-ready')) {
      log.debug({ trigger }, 'WireGuard key rotation waits for the device to be programmed');
      return 'retry-soon';
    }
    const ready = families.filter((f) => f.ready === 'ready').map((f) => f.family);
    if (ready.length === 0) {
      log.info({ trigger }, 'WireGuard is off: no key to rotate');
      return 'nothing';
    }
    let failed = false;
    for (const family of ready) {
      const started = performance.now();
      const next = await prepareNextKeyPair(stateDir, family);
      try {
        await target.publishNextKey(family, next.publicKey, PUBLISH_TIMEOUT_MS);
      } catch (err) {
        failed = true;
        await discardNextKeyPair(stateDir, family);
        log.error(
          { family: `v${family}`, trigger, err: err instanceof Error ? err.message : String(err) },
          'WireGuard key rotation failed; the old key stays',
        );
        continue;
      }
      await sleep(SWITCH_DELAY_MS);
      await target.switchKey(family, next);
      await promoteNextKeyPair(stateDir, family);
      log.info(
        { family: `v${family}`, trigger, ms: Math.round(performance.now() - started) },
        'rotated the WireGuard key; the old private key is wiped',
      );
    }
    return failed ? 'failed' : 'rotated';
  }

  private async finishAnnotationRequest(value: string): Promise<void> {
    try {
      await this.opts.target.removeOwnAnnotationIfUnchanged(ANNOTATION_ROTATE_KEY, value);
    } catch (err) {
      // The key is rotated; a request left on the Node is only acted on again after a restart.
      this.opts.log.warn(
        { err: err instanceof Error ? err.message : String(err) },
        `could not remove ${ANNOTATION_ROTATE_KEY} from our Node`,
      );
    }
  }

  private arm(delayMs: number, retry?: { trigger: RotationTrigger; annotation: string | null }): void {
    if (this.isClosed) return;
    if (this.timer) clearTimeout(this.timer);
    const step = Math.min(delayMs, MAX_TIMER_MS);
    this.timer = setTimeout(() => {
      this.timer = null;
      if (step < delayMs) this.arm(delayMs - step, retry);
      else this.enqueue(retry?.trigger ?? 'interval', retry?.annotation ?? null);
    }, step);
    this.timer.unref();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
