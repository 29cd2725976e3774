import type { Readable } from 'node:stream';
import { DiskStorage, type ByteRange } from '../../src/attachments/index.js';

/**
 * A DiskStorage (with its ResumableWrites) that records every read: which key, which range. For
 * the tests that prove a step reads nothing back, or that it does.
 */
export class ReadCountingDiskStorage extends DiskStorage {
  readonly reads: Array<{ key: string; range: ByteRange | undefined }> = [];

  override read(key: string, range?: ByteRange): Promise<Readable> {
    this.reads.push({ key, range });
    return super.read(key, range);
  }

  /** How many reads of `key` there were. */
  readsOf(key: string): number {
    return this.reads.filter((read) => read.key === key).length;
  }
}
