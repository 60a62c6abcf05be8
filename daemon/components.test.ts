import { describe, expect, it } from 'vitest';
import { Components, StartupError, StopRequested } from './components.js';

/** A component that records when it is closed, in a log shared by the test. */
function part(name: string, log: string[], closeError?: Error) {
  return {
    name,
    close: async () => {
      log.push(`close ${name}`);
      if (closeError !== undefined) throw closeError;
    },
  };
}

function deferred<T>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

describe('Components', () => {
  it('closes what started, last first', async () => {
    const log: string[] = [];
    const c = new Components(new AbortController().signal);
    await c.start('a', async () => part('a', log));
    await c.start('b', async () => part('b', log));
    expect(await c.closeAll()).toEqual([]);
    expect(log).toEqual(['close b', 'close a']);
  });

  it('a failing step is a StartupError naming the step, and earlier parts are still closable', async () => {
    const log: string[] = [];
    const c = new Components(new AbortController().signal);
    await c.start('socket', async () => part('socket', log));
    const failed = c.run('--listen-tcp 127.0.0.1:1', () => Promise.reject(new Error('EADDRINUSE')));
    await expect(failed).rejects.toBeInstanceOf(StartupError);
    await expect(failed).rejects.toThrow('--listen-tcp 127.0.0.1:1: EADDRINUSE');
    await c.closeAll();
    expect(log).toEqual(['close socket']);
  });

  it('a step that throws synchronously fails the same way', async () => {
    const c = new Components(new AbortController().signal);
    await expect(
      c.run('bad', () => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('bad: boom');
  });

  it('a stop during a hung step abandons it at once, and closes what it starts late', async () => {
    const log: string[] = [];
    const stop = new AbortController();
    const c = new Components(stop.signal);
    await c.start('first', async () => part('first', log));
    const hung = deferred<ReturnType<typeof part>>();
    const step = c.start('hung', () => hung.promise);
    stop.abort('SIGTERM');
    await expect(step).rejects.toEqual(new StopRequested('SIGTERM'));
    await c.closeAll();
    expect(log).toEqual(['close first']);
    hung.resolve(part('hung', log));
    await new Promise((r) => setImmediate(r));
    expect(log).toEqual(['close first', 'close hung']);
  });

  it('no step starts once a stop was requested', async () => {
    const stop = new AbortController();
    stop.abort('SIGINT');
    let began = false;
    const c = new Components(stop.signal);
    await expect(
      c.run('never', async () => {
        began = true;
      }),
    ).rejects.toBeInstanceOf(StopRequested);
    expect(began).toBe(false);
  });

  it('closeAll carries on past a failing close and reports it', async () => {
    const log: string[] = [];
    const c = new Components(new AbortController().signal);
    await c.start('a', async () => part('a', log));
    await c.start('b', async () => part('b', log, new Error('stuck')));
    const failures = await c.closeAll();
    expect(log).toEqual(['close b', 'close a']);
    expect(failures).toMatchObject([{ step: 'b', error: new Error('stuck') }]);
  });
});
