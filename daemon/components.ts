// Starts a daemon's components one after another and closes them in reverse order. A failure or a
// stop request part-way through start-up closes exactly what had started, so nothing is left
// half-running, and a stop request never waits for a start step that hangs (a slow DNS lookup,
// say): the step is abandoned, and whatever it starts late is closed as soon as it appears.

export interface Closable {
  close(): Promise<void>;
}

/** Start-up was abandoned because a stop was requested; `why` is the abort reason. */
export class StopRequested extends Error {
  constructor(readonly why: string) {
    super(`stop requested (${why}) during start-up`);
    this.name = 'StopRequested';
  }
}

/** A start step failed; `step` names it the way the user configured it (e.g. a flag and its value). */
export class StartupError extends Error {
  constructor(
    readonly step: string,
    cause: unknown,
  ) {
    super(`${step}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'StartupError';
  }
}

export interface CloseFailure {
  readonly step: string;
  readonly error: unknown;
}

export class Components {
  private readonly started: { step: string; close: () => Promise<void> }[] = [];

  constructor(private readonly stop: AbortSignal) {}

  /** Runs one start step; what it returns is closed by `closeAll`. */
  async start<T extends Closable>(step: string, begin: () => Promise<T>): Promise<T> {
    const value = await this.race(step, begin, (late) => late.close());
    this.started.push({ step, close: () => value.close() });
    return value;
  }

  /** Runs a start step that leaves nothing of its own to close (e.g. one more listener on a server already started). */
  run<T>(step: string, begin: () => Promise<T>): Promise<T> {
    return this.race(step, begin, () => undefined);
  }

  /** Closes every started component, last started first; failures are returned, not thrown. */
  async closeAll(): Promise<CloseFailure[]> {
    const failures: CloseFailure[] = [];
    for (const { step, close } of this.started.splice(0).reverse()) {
      try {
        await close();
      } catch (error) {
        failures.push({ step, error });
      }
    }
    return failures;
  }

  private race<T>(step: string, begin: () => Promise<T>, discardLate: (late: T) => unknown): Promise<T> {
    if (this.stop.aborted) return Promise.reject(new StopRequested(String(this.stop.reason)));
    let pending: Promise<T>;
    try {
      pending = begin();
    } catch (err) {
      pending = Promise.reject(err);
    }
    return new Promise<T>((resolve, reject) => {
      const onStop = (): void => {
        pending.then(discardLate, () => undefined);
        reject(new StopRequested(String(this.stop.reason)));
      };
      this.stop.addEventListener('abort', onStop, { once: true });
      pending.then(
        (value) => {
          this.stop.removeEventListener('abort', onStop);
          resolve(value);
        },
        (err: unknown) => {
          this.stop.removeEventListener('abort', onStop);
          reject(new StartupError(step, err));
        },
      );
    });
  }
}
