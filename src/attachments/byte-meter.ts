import { createHash, type Hash } from 'node:crypto';
import type { ByteSource } from './storage/attachment-storage.js';
import { AttachmentsException } from './attachments.errors.js';

/**
 * Counts and hashes bytes as they stream past, and stops the stream the moment it exceeds
 * the limit, so an oversized file is refused after `maxBytes + 1` bytes, never after buffering.
 */
export class ByteMeter {
  private readonly hash: Hash = createHash('sha256');
  private counted = 0;

  constructor(private readonly maxBytes: number) {}

  get size(): number {
    return this.counted;
  }

  /** Passes the source through; throws `file_too_large` once it exceeds the limit. */
  async *measure(source: ByteSource): AsyncGenerator<Uint8Array> {
    for await (const chunk of source as AsyncIterable<Uint8Array>) {
      this.counted += chunk.byteLength;
      if (this.counted > this.maxBytes) {
        throw AttachmentsException.create('file_too_large', `at most ${this.maxBytes} bytes per file`);
      }
      this.hash.update(chunk);
      yield chunk;
    }
  }

  sha256(): string {
    return this.hash.digest('hex');
  }
}
