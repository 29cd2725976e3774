import { close as closeFile, fsync, writev } from 'node:fs';
import { finished, type Readable } from 'node:stream';

/**
 * Bytes held before one writev takes them to the file. Every write to a file is a trip through
 * libuv's thread pool and back (a cross-core wake-up each way, dear on a virtual machine), and a
 * trip per 64 KiB socket chunk, as a file stream of the default size makes, costs more system
 * time than the copies themselves: `bench/write-parts.ts` (512 MiB through busboy and SHA-256)
 * measured 2.98 ms of CPU per MiB with fs.createWriteStream and 2.17 with these batches, 396
 * against 548 MiB/s. Not much more: a chunk held across two young-generation collections is
 * promoted, and only a full collection frees its bytes; held about a millisecond at these
 * speeds, 512 KiB batches cost no full collection in a 512 MiB upload (`--trace-gc`).
 */
export const FILE_BATCH_BYTES = 512 * 1024;

export interface BatchedFileWriteOptions {
  /** Opens the file. Chunks that arrive meanwhile are held (the source waits after one batch). */
  open: () => Promise<number>;
  /** Offset in the file of the source's first byte. Default 0. */
  position?: number;
  /** Most bytes written; past them the source is still read to its end but nothing is written. */
  maxBytes?: number;
  /** fsync the file before it is closed. */
  flush: boolean;
  /**
   * When the source fails or closes early: `keep` writes (and flushes) every byte it gave
   * before that, `discard` stops at once (the caller removes the file).
   */
  onSourceFailure: 'keep' | 'discard';
  /** Called after each write with the descriptor and the bytes written so far. */
  afterWrite?: (fd: number, written: number) => void;
  /** Awaited before the final flush and before the file is closed, on every path. */
  beforeClose?: () => Promise<void>;
}

export interface BatchedFileWrite {
  /** Bytes of the source now in the file. */
  written: number;
  /** Why the source stopped, when it did not end (a limit, a client that went away). */
  sourceError: Error | undefined;
}

/**
 * Writes what `source` gives into a file, in batches of up to `FILE_BATCH_BYTES`, each one
 * writev at its position, while the next batch arrives (two batches at most: then the source
 * waits). What arrived by the end of a turn of the event loop is written then, full batch or
 * not, when no write runs.
 * Listens to the source's chunks instead of piping it into a file stream, so that other
 * listeners (the hash) see the same chunks and no stream machinery runs per chunk.
 *
 * Resolves once the source has stopped and what it gave is written (flushed when `flush`) and
 * the file closed. Rejects when the file cannot be opened, written, flushed or closed, after
 * any write in flight has finished and the file is closed; how much reached the file is then
 * unknown. Everything is attached before anything is awaited, so a source that flows or fails
 * while the file opens loses nothing and goes unheard by no one.
 */
export function writeBatchedToFile(source: Readable, options: BatchedFileWriteOptions): Promise<BatchedFileWrite> {
  return new Promise((resolve, reject) => {
    let fd: number | undefined;
    let held: Buffer[] = [];
    let heldBytes = 0;
    let room = options.maxBytes ?? Number.POSITIVE_INFINITY;
    let position = options.position ?? 0;
    let written = 0;
    let writing = false;
    let stopped = false;
    let sourceError: Error | undefined;
    let settled = false;
    let scheduled = false;

    const onData = (chunk: Buffer) => {
      if (room <= 0) return;
      const piece = chunk.byteLength > room ? chunk.subarray(0, room) : chunk;
      room -= piece.byteLength;
      held.push(piece);
      heldBytes += piece.byteLength;
      if (heldBytes < FILE_BATCH_BYTES) writeSoon();
      else if (writing || fd === undefined) source.pause();
      else writeHeld();
    };

    // A batch that does not fill is written once this turn of the event loop has read what the
    // socket had: a slow client's bytes reach the file as they come, and a server holds at most
    // what one turn brought per upload, not a batch per slow client.
    const writeSoon = () => {
      if (scheduled || writing || fd === undefined) return;
      scheduled = true;
      setImmediate(() => {
        scheduled = false;
        if (!settled && !writing && heldBytes > 0) writeHeld();
      });
    };

    const writeHeld = () => {
      const batch = held;
      const size = heldBytes;
      held = [];
      heldBytes = 0;
      writing = true;
      writeAll(fd!, batch, size, position, (error) => {
        writing = false;
        if (error) return fail(error);
        position += size;
        written += size;
        options.afterWrite?.(fd!, written);
        next();
      });
    };

    /** After a write, or once the file is open, or once the source stopped: what comes next. */
    const next = () => {
      if (settled || writing || fd === undefined) return;
      if (stopped) {
        if (sourceError && options.onSourceFailure === 'discard') return finish(false);
        if (heldBytes > 0) return writeHeld();
        return finish(options.flush);
      }
      if (heldBytes >= FILE_BATCH_BYTES) writeHeld();
      else writeSoon();
      source.resume();
    };

    const stopWatching = finished(source, { writable: false }, (error) => {
      stopWatching();
      source.off('data', onData);
      stopped = true;
      sourceError = error ?? undefined;
      next();
    });

    /** Flushes (if asked) and closes the file, then settles with the outcome. */
    const finish = (flush: boolean, failure?: Error) => {
      settled = true;
      const descriptor = fd!;
      void (options.beforeClose?.() ?? Promise.resolve()).then(() => {
        const close = (error: Error | null | undefined) =>
          closeFile(descriptor, (closeError) => {
            const problem = failure ?? error ?? closeError;
            if (problem) reject(problem);
            else resolve({ written, sourceError });
          });
        if (flush) fsync(descriptor, close);
        else close(undefined);
      });
    };

    const fail = (error: Error) => {
      // The watch on the source stays: an error it meets later (its owner destroys it with
      // this one, as a pipe would) is heard here, not thrown as an unhandled 'error'.
      source.off('data', onData);
      if (fd === undefined) {
        settled = true;
        reject(error);
      } else finish(false, error);
    };

    source.on('data', onData);
    options.open().then(
      (opened) => {
        fd = opened;
        next();
      },
      (error: unknown) => fail(error instanceof Error ? error : new Error(String(error))),
    );
  });
}

/** writev until all `size` bytes of `buffers` are written at `position` (a write may take fewer). */
function writeAll(fd: number, buffers: Buffer[], size: number, position: number, done: (error?: Error) => void): void {
  writev(fd, buffers, position, (error, bytes) => {
    if (error) return done(error);
    if (bytes === size) return done();
    if (bytes === 0) return done(new Error(`writev wrote no byte of ${size} at ${position}`));
    writeAll(fd, dropFront(buffers, bytes), size - bytes, position + bytes, done);
  });
}

/** `buffers` without their first `count` bytes. */
function dropFront(buffers: Buffer[], count: number): Buffer[] {
  let left = count;
  let index = 0;
  while (left >= buffers[index]!.byteLength) left -= buffers[index++]!.byteLength;
  return [buffers[index]!.subarray(left), ...buffers.slice(index + 1)];
}
