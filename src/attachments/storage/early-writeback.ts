import { fdatasync } from 'node:fs';
import type { Readable } from 'node:stream';

/** How often, in bytes written, a big file is flushed while it is still arriving. */
export const EARLY_WRITEBACK_EVERY = 64 * 1024 * 1024;

type Flush = (fd: number, done: () => void) => void;
const dataSync: Flush = (fd, done) => fdatasync(fd, () => done());

/**
 * Watches `source` on its way to the open file `fd` and every `every` bytes starts an
 * fdatasync of what has been written so far, without waiting for it and without a stage in
 * the stream (a listener, like the hash). The kernel otherwise keeps a whole big file dirty
 * until the final fsync, which then writes all of it while the client waits; this way the
 * device writes while the network delivers, and the final fsync finds only the tail. Files
 * under `every` bytes never trigger it. One flush runs at a time.
 *
 * `settled()` waits for the flush still running, so that the caller closes the file after it.
 * If the upload fails and the file is closed meanwhile, a flush still running may meet a
 * closed (or reused) descriptor: it then fails with EBADF or flushes another file, both
 * harmless, and its result is ignored.
 */
export function startEarlyWriteback(
  source: Readable,
  fd: number,
  every = EARLY_WRITEBACK_EVERY,
  flush = dataSync,
): { settled(): Promise<void> } {
  let seen = 0;
  let flushedAt = 0;
  let running: Promise<void> | undefined;
  source.on('data', (chunk: Buffer) => {
    seen += chunk.byteLength;
    if (running || seen - flushedAt < every) return;
    flushedAt = seen;
    running = new Promise<void>((settled) => flush(fd, settled)).finally(() => {
      running = undefined;
    });
  });
  return { settled: async () => await running };
}
