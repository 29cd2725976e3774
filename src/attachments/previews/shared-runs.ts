interface Run<T> {
  result: Promise<T>;
  callers: number;
  /** Aborts when every caller has left: the run's work may stop waiting then. */
  abandoned: AbortController;
}

/**
 * One run per key at a time in this process: a caller that asks for a key already under way
 * joins its run instead of starting another. A caller leaves when its own signal aborts (its
 * client went away) and is answered at once with the signal's reason; when the last one has
 * left, the run's signal aborts, so that a run still waiting (for a turn) goes instead of
 * taking one for nobody. A run that got as far as working is not stopped by it: only waiting is.
 */
export class SharedRuns<T> {
  private readonly runs = new Map<string, Run<T>>();

  join(key: string, start: (signal: AbortSignal) => Promise<T>, signal?: AbortSignal): Promise<T> {
    signal?.throwIfAborted();
    let run = this.runs.get(key);
    // An abandoned run is about to settle with its abort; a newcomer starts afresh.
    if (!run || run.abandoned.signal.aborted) {
      const abandoned = new AbortController();
      const created: Run<T> = { result: Promise.resolve(undefined as T), callers: 0, abandoned };
      created.result = start(abandoned.signal).finally(() => {
        if (this.runs.get(key) === created) this.runs.delete(key);
      });
      // Every caller may have left: nobody else would handle its failure.
      created.result.catch(() => undefined);
      this.runs.set(key, created);
      run = created;
    }
    run.callers += 1;
    return signal ? this.until(run, signal) : run.result;
  }

  private until(run: Run<T>, signal: AbortSignal): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const leave = () => {
        reject(signal.reason as Error);
        run.callers -= 1;
        if (run.callers === 0) run.abandoned.abort(signal.reason);
      };
      signal.addEventListener('abort', leave, { once: true });
      run.result.finally(() => signal.removeEventListener('abort', leave)).then(resolve, reject);
    });
  }
}
