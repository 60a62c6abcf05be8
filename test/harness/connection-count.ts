// Counts the connections a test server has accepted, and lets a test wait for the n-th.
export class ConnectionCount {
  private readonly waiters: (() => void)[] = [];
  total = 0;

  /** Records one more connection and wakes whoever waits. */
  add(): void {
    this.total += 1;
    for (const w of this.waiters.splice(0)) w();
  }

  /** Resolves once at least `n` connections have been made in total. */
  async waitFor(n: number, what: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.total < n) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${n} ${what} (have ${this.total})`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 100);
      });
    }
  }
}
