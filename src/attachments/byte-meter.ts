import { createHash, type Hash } from 'node:crypto';
import type { Readable } from 'node:stream';

/** How many bytes a source may have, and the error for one byte more. */
export interface ByteLimit {
  maxBytes: number;
  tooLarge: () => Error;
}

export interface ByteMeterOptions {
  limit: ByteLimit;
  /**
   * A costlier limit, asked for once the source has passed `afterBytes` (it may only lower the
   * limit): lets a small file skip a look-up that only a big file needs to fail early.
   */
  recheck?: { afterBytes: number; limit: () => Promise<ByteLimit> };
}

/**
 * Counts and hashes bytes as they stream past and fails the moment they exceed the limit, so
 * an oversized file fails early, never after buffering. It is not a stage of the stream: it
 * listens to the chunks on their way to the consumer (`watch`) or is fed them (`feed`), and
 * does its work synchronously, with no promise, no copy and no buffer per chunk.
 */
export class ByteMeter {
  private readonly hash: Hash = createHash('sha256');
  private counted = 0;
  private limit: ByteLimit;
  private recheck: ByteMeterOptions['recheck'];
  private rechecked: Promise<void> = Promise.resolve();
  /** Where an error found after the fact (by the recheck) goes, besides `verdict()`. */
  private onLateFailure: ((error: Error) => void) | undefined;

  constructor(options: ByteMeterOptions) {
    this.limit = options.limit;
    this.recheck = options.recheck;
  }

  get size(): number {
    return this.counted;
  }

  /** The limit as it stands (the recheck may lower it). */
  get limitBytes(): number {
    return this.limit.maxBytes;
  }

  /** Counts and hashes one chunk; throws the limit's error once the source is too large. */
  feed(chunk: Uint8Array): void {
    this.counted += chunk.byteLength;
    if (this.counted > this.limit.maxBytes) throw this.limit.tooLarge();
    this.hash.update(chunk);
    const recheck = this.recheck;
    if (recheck && this.counted > recheck.afterBytes) {
      this.recheck = undefined;
      this.rechecked = recheck
        .limit()
        .then((tighter) => {
          if (tighter.maxBytes < this.limit.maxBytes) this.limit = tighter;
          if (this.counted > this.limit.maxBytes) throw this.limit.tooLarge();
        })
        .catch((error: unknown) => {
          // Too large after all, or the look-up failed: either way the rest need not arrive.
          this.onLateFailure?.(error as Error);
          throw error;
        });
      // verdict() reports it; until then it must not count as unhandled.
      this.rechecked.catch(() => undefined);
    }
  }

  /**
   * Meters `stream` as it flows to whoever consumes it, and destroys it with the limit's error
   * once it is too large (the consumer then fails with that error). The stream is paused, so
   * that nothing flows before its consumer is attached.
   */
  watch(stream: Readable): void {
    stream.pause();
    this.onLateFailure = (error) => stream.destroy(error);
    stream.on('data', (chunk: Buffer) => {
      try {
        this.feed(chunk);
      } catch (error) {
        stream.destroy(error as Error);
      }
    });
  }

  /** Settles once the bytes seen so far are known to be within the (rechecked) limit. */
  verdict(): Promise<void> {
    return this.rechecked;
  }

  sha256(): string {
    return this.hash.digest('hex');
  }
}
