/** Why a piece of work got no turn: it waited as long as it may. */
export class TurnWaitExpired extends Error {
  constructor(readonly waitedMs: number) {
    super(`no turn came within ${waitedMs} ms`);
    this.name = 'TurnWaitExpired';
  }
}

/**
 * At most `limit` pieces of work at once; the others wait in arrival order, each for at most
 * `maxWaitMs` (then `TurnWaitExpired`) and only while its `signal` has not aborted: when work
 * is slow, waiters would otherwise pile up and wait for ever. A waiter that leaves takes no
 * turn with it. There is no bound on the queue's length: a waiter holds a closure and a timer,
 * and the time bound already caps how many can gather (arrivals per `maxWaitMs`).
 */
export class Turns {
  private running = 0;
  /** In arrival order (a Set iterates so), and a waiter that leaves is taken out at once. */
  private readonly queue = new Set<() => void>();

  constructor(
    private readonly limit: number,
    private readonly maxWaitMs: number,
  ) {}

  get waiting(): number {
    return this.queue.size;
  }

  async run<T>(work: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    signal?.throwIfAborted();
    if (this.running < this.limit) this.running += 1;
    // A finishing turn hands itself over: `running` stays counted for the one it wakes.
    else await this.turn(signal);
    try {
      return await work();
    } finally {
      this.handOver();
    }
  }

  private turn(signal: AbortSignal | undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const settle = () => {
        this.queue.delete(given);
        clearTimeout(timer);
        signal?.removeEventListener('abort', aborted);
      };
      const given = () => {
        settle();
        resolve();
      };
      const aborted = () => {
        settle();
        reject(signal!.reason as Error);
      };
      const timer = setTimeout(() => {
        settle();
        reject(new TurnWaitExpired(this.maxWaitMs));
      }, this.maxWaitMs);
      this.queue.add(given);
      signal?.addEventListener('abort', aborted, { once: true });
    });
  }

  private handOver(): void {
    const [next] = this.queue;
    if (next) next();
    else this.running -= 1;
  }
}
