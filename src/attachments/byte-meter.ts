import { createHash, type Hash } from 'node:crypto';
import type { ByteSource } from './storage/attachment-storage.js';

export interface ByteMeterOptions {
  /** Most bytes the source may have; one more fails with `tooLarge()`. */
  maxBytes: number;
  tooLarge: () => Error;
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

  constructor(private readonly options: ByteMeterOptions) {}

  get size(): number {
    return this.counted;
  }

  async *measure(source: ByteSource): AsyncGenerator<Uint8Array> {
    const head: Uint8Array[] = [];
    let inspected = false;
    for await (const chunk of source as AsyncIterable<Uint8Array>) {
      this.counted += chunk.byteLength;
      if (this.counted > this.options.maxBytes) {
        throw this.options.tooLarge();
      }
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
