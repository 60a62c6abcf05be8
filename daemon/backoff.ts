// Capped exponential back-off with jitter, for reconnect loops. Pure: randomness is passed in.

export interface BackoffOptions {
  readonly initialMs: number;
  readonly maxMs: number;
  readonly factor: number;
  /** Fraction of the delay that is randomised, 0..1 (0.2 → delay × [0.8, 1.2)). */
  readonly jitter: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 200, maxMs: 5_000, factor: 2, jitter: 0.2 };

/** Delay before reconnect attempt `attempt` (0-based), never above maxMs × (1 + jitter). */
export function backoffDelayMs(attempt: number, opts: BackoffOptions, random: () => number): number {
  const exponent = Math.min(Math.max(attempt, 0), 30);
  const base = Math.min(opts.maxMs, opts.initialMs * opts.factor ** exponent);
  const spread = base * opts.jitter;
  return Math.round(base - spread + random() * 2 * spread);
}
