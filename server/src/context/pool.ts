// Bounded concurrency for file-system work. libuv runs fs calls on a small thread pool; starting thousands of
// reads at once costs memory (one buffer each) and starves other I/O (the LSP's own), so hashing goes through this.

export class Semaphore {
  private active = 0;
  // FIFO of waiters with a moving head: Array#shift is O(n) and walks queue tens of thousands of waiters.
  private waiters: Array<(() => void) | undefined> = [];
  private head = 0;

  constructor(private readonly limit: number) {
    if (!(limit >= 1)) throw new RangeError('Semaphore limit must be at least 1');
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiters.push(resolve));
    else this.active++;
    try {
      return await fn();
    } finally {
      this.release();
    }
  }

  private release(): void {
    if (this.head < this.waiters.length) {
      const next = this.waiters[this.head];
      this.waiters[this.head++] = undefined;
      if (this.head > 1024 && this.head * 2 > this.waiters.length) {
        this.waiters = this.waiters.slice(this.head);
        this.head = 0;
      }
      // Hand the slot straight to the next waiter so `active` never drops below the real count.
      next!();
    } else {
      this.active--;
    }
  }
}
