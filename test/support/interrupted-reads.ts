import type { Readable } from 'node:stream';
import { DiskStorage } from '../../src/attachments/index.js';

/**
 * A DiskStorage that runs `beforeNextRead` (once) before a read: between a route's look-up and
 * its read, where a test replaces or deletes the file to prove the race is handled.
 */
export class InterruptedReads extends DiskStorage {
  beforeNextRead: (() => Promise<void>) | undefined;

  override async read(key: string, range?: { start: number; end: number }): Promise<Readable> {
    const interrupt = this.beforeNextRead;
    this.beforeNextRead = undefined;
    await interrupt?.();
    return super.read(key, range);
  }
}
