import { createHash, type Hash } from 'node:crypto';
import type { ByteSource } from './storage/attachment-storage.js';

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
  /** How many leading bytes `inspectHead` wants to see. */
  headBytes: number;
  /** Called once with the leading bytes (all of them for a shorter source); may throw to refuse. */
  inspectHead: (head: Uint8Array) => Promise<void>;
}

/**
 * Counts and hashes bytes as they stream past, lets the caller inspect the first bytes (for
 * the content type), and stops the stream the moment it exceeds the limit, so an oversized or
 * refused file fails early, never after buffering.
 */
export class ByteMeter {
  private readonly hash: Hash = createHash('sha256');
  private counted = 0;
  private limit: ByteLimit;

  constructor(private readonly options: ByteMeterOptions) {
    this.limit = options.limit;
  }

  get size(): number {
    return this.counted;
  }

  async *measure(source: ByteSource): AsyncGenerator<Uint8Array> {
    const head: Uint8Array[] = [];
    let inspected = false;
    let recheck = this.options.recheck;
    for await (const chunk of source as AsyncIterable<Uint8Array>) {
      this.counted += chunk.byteLength;
      if (recheck && this.counted > recheck.afterBytes) {
        const tighter = await recheck.limit();
        if (tighter.maxBytes < this.limit.maxBytes) this.limit = tighter;
        recheck = undefined;
      }
      if (this.counted > this.limit.maxBytes) throw this.limit.tooLarge();
      this.hash.update(chunk);
      if (!inspected) {
        head.push(chunk);
        if (this.counted >= this.options.headBytes) {
          inspected = true;
          await this.options.inspectHead(Buffer.concat(head));
        }
      }
      yield chunk;
    }
    if (!inspected) await this.options.inspectHead(Buffer.concat(head));
  }

  sha256(): string {
    return this.hash.digest('hex');
  }
}
