import { fdatasync } from 'node:fs';
import type { ByteSource } from './attachment-storage.js';

/** How often, in bytes written, a big file is flushed while it is still arriving. */
export const EARLY_WRITEBACK_EVERY = 32 * 1024 * 1024;

type Flush = (fd: number, done: () => void) => void;
const dataSync: Flush = (fd, done) => fdatasync(fd, () => done());

/**
 * Passes `source` through to the stream writing the open file `fd`, and every `every` bytes
 * starts an fdatasync of what has been written so far, without waiting for it. The kernel
 * otherwise keeps gigabytes dirty until the final fsync, which then writes the whole file while
 * the client waits; this way the device writes while the network delivers, and the final fsync
 * finds only the tail. Files under `every` bytes never trigger it.
 *
 * The stream ends only after the last flush has settled, so the file is closed after it. If
 * the upload fails and the stream is destroyed meanwhile, a flush still running may meet a
 * closed (or reused) descriptor: it then fails with EBADF or flushes another file, both
 * harmless, and its result is ignored.
 */
export async function* withEarlyWriteback(source: ByteSource, fd: number, every = EARLY_WRITEBACK_EVERY, flush = dataSync) {
  let written = 0;
  let flushedAt = 0;
  let running: Promise<void> | undefined;
  try {
    for await (const chunk of source as AsyncIterable<Uint8Array>) {
      yield chunk;
      written += chunk.byteLength;
      if (!running && written - flushedAt >= every) {
        flushedAt = written;
        running = new Promise<void>((settled) => flush(fd, settled)).finally(() => {
          running = undefined;
        });
      }
    }
  } finally {
    await running;
  }
}
