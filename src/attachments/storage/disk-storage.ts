import { randomBytes } from 'node:crypto';
import { close as closeFile, createWriteStream, fdatasync, fsync, open as openFile } from 'node:fs';
import { mkdir, opendir, rename, stat, unlink } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { finished, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { AttachmentStorage, ByteRange, ByteSource, ResumableWrites, StoredObject } from './attachment-storage.js';
import { BlobFileStream } from './blob-file-stream.js';
import { FolderFlusher, flushFolder } from './folder-flusher.js';

const BLOB_KEY = /^[0-9a-f]{32}$/;
const TEMPORARY_KEY = /^[0-9a-f]{32}\.part$/;
/**
 * Most bytes the file's stream holds before it asks the source to wait; what arrives while a
 * write runs goes out in one writev. One socket chunk (64 KiB), not more: a chunk held across
 * two young-generation collections is promoted, and only a full collection frees its bytes.
 * Holding 1 MiB did that to most chunks of a big upload: 26 to 43 full collections per 1 GiB
 * (none at 16 or 64 KiB), and 160 against 231 MiB/s (bench/upload-alone.ts).
 */
const WRITE_BATCH_BYTES = 64 * 1024;
/** How many bytes writeAt lets reach the file before it flushes them while the rest still arrives. */
const FLUSH_AHEAD_BYTES = 2 * 1024 * 1024;

export interface DiskStorageOptions {
  /** Folder that holds everything; created on first write. */
  directory: string;
  /**
   * Flush each file (and its folder entry) to the device before the write resolves, so an
   * acknowledged upload survives a power loss, not only a crash. Default true.
   */
  durable?: boolean;
}

/**
 * Files on a local disk, under `<directory>/blobs/<2 hex>/<32 hex>`; writes go to
 * `<directory>/tmp/<key>.part` and are renamed into place once complete, so a reader never sees
 * half a file. Keys are random, and a key only becomes a path after it matches the key pattern.
 *
 * Folders it made are remembered, to spare a system call per write, but not trusted: a file
 * that cannot be created or renamed for want of its folder (someone removed the directory while
 * the app runs) makes it create the folder again and try once more.
 */
export class DiskStorage implements AttachmentStorage, ResumableWrites {
  private readonly root: string;
  private readonly durable: boolean;
  /** Folders known to exist, each with the creation (and, if durable, its flush) it took. */
  private readonly folders = new Map<string, Promise<void>>();
  private readonly flusher: FolderFlusher;

  /**
   * `flushOne` (how one folder is flushed, an fsync by default) and `flushAhead` (how writeAt
   * flushes a file's data while the rest arrives, an fdatasync by default) are for tests that
   * prove what is flushed when; they are not part of the public API.
   */
  constructor(
    options: DiskStorageOptions,
    flushOne: (folder: string) => Promise<void> = flushFolder,
    private readonly flushAhead: (fd: number) => Promise<void> = flushFileData,
  ) {
    this.root = resolve(options.directory);
    this.durable = options.durable ?? true;
    this.flusher = new FolderFlusher(flushOne);
  }

  async write(source: ByteSource): Promise<{ key: string }> {
    const key = newKey();
    const temporary = this.pathOf(`${key}.part`);
    const final = this.pathOf(key);
    const bytes = source instanceof Readable ? source : Readable.from(source, { objectMode: false });
    const fd = await this.inFolder(join(this.root, 'tmp'), () => openExclusive(temporary));
    // The bytes go from the source straight to the file, with no stage between (the hash
    // listens), and the chunks that arrive while a write runs go out in one writev.
    // `flush` fsyncs the file before it closes: an acknowledged upload survives a power loss.
    // One fsync at the end, as the durable ceiling does: flushing every few MiB while the file
    // arrives (fdatasync, each a journal commit and a device cache flush) measured no faster.
    const target = createWriteStream(temporary, { fd, flush: this.durable, highWaterMark: WRITE_BATCH_BYTES });
    try {
      await pipeline(bytes, target);
    } catch (error) {
      if (!target.closed) await new Promise<void>((closed) => target.once('close', () => closed()));
      await unlink(temporary).catch(() => undefined);
      throw error;
    }
    const folder = join(this.root, 'blobs', key.slice(0, 2));
    try {
      await this.inFolder(folder, () => rename(temporary, final));
    } catch (error) {
      await unlink(temporary).catch(() => undefined);
      throw error;
    }
    if (this.durable) await this.flusher.flush(folder);
    return { key };
  }

  /**
   * A new empty blob for a resumable upload, under a blob key like any other (listed, read,
   * deleted, and finally an attachment's blob as it is). Durable: the file and its folder entry
   * are flushed before it resolves, so a key the caller records names a file that exists.
   */
  async createEmpty(): Promise<{ key: string }> {
    const key = newKey();
    const folder = join(this.root, 'blobs', key.slice(0, 2));
    const fd = await this.inFolder(folder, () => openExclusive(this.pathOf(key)));
    try {
      if (this.durable) await new Promise<void>((done, failed) => fsync(fd, (error) => (error ? failed(error) : done())));
    } finally {
      await new Promise<void>((done) => closeFile(fd, () => done()));
    }
    if (this.durable) await this.flusher.flush(folder);
    return { key };
  }

  /**
   * Writes what `source` gives at `offset`, `offset + 1`, ... of the blob `key` (made by
   * `createEmpty`), leaving the bytes before and after that range as they were (never
   * truncates), and resolves how many bytes of the source are now in the file, once they are
   * on the device when durable. The count is exact however the source stops: at its end, or
   * destroyed early (a client that went away), or with an error (a limit that refused the
   * rest): every byte it gave before that is written, none after. So a source's own failure
   * is not this call's: who needs to know why the source stopped asks the source. At most
   * `maxBytes` are written; the source is still read to its end past them (its owner decides
   * what more bytes mean), but the file does not grow with them.
   *
   * Rejects only when the file cannot take the bytes: an unknown key (`ENOENT`), a key that is
   * not a blob key, a failed write or flush. How much then reached the file is unknown; the
   * caller keeps the offset it had committed.
   */
  async writeAt(key: string, offset: number, source: Readable, maxBytes = Number.POSITIVE_INFINITY): Promise<number> {
    if (!BLOB_KEY.test(key)) throw new Error(`DiskStorage: "${key}" is not a blob key`);
    if (!Number.isSafeInteger(offset) || offset < 0) throw new RangeError(`DiskStorage: offset ${offset} is not a byte offset`);
    if (!(maxBytes >= 0)) throw new RangeError(`DiskStorage: maxBytes ${maxBytes} is not a byte count`);
    // Everything is attached before the first await: a source that fails or flows meanwhile
    // (the file is still opening) must neither go unheard nor lose bytes. As in write, bytes
    // go straight from the source into the file, batched into writev; `flush` fsyncs it before
    // it closes. However the source stops, the file stream is ended, not destroyed: what it
    // already took is written, not dropped. 'r+' opens the existing file without truncating
    // it (an unknown key fails with ENOENT).
    const target = createWriteStream(this.pathOf(key), {
      flags: 'r+',
      start: offset,
      flush: this.durable,
      highWaterMark: WRITE_BATCH_BYTES,
    });
    // A PATCH's client waits for its answer before it sends the next one, so the flush at the
    // end is time nobody sends in. Flushing what has reached the file every few MiB while the
    // rest arrives leaves that last flush only the last few MiB. One flush at a time, and
    // the file is ended (closed) only once none runs.
    const ahead = new FlushAhead(this.flushAhead);
    target.once('open', (fd: number) => (ahead.fd = fd));
    let room = maxBytes;
    // pipe(), but cutting at `room`: the chunk that crosses it is written up to it.
    const onData = (chunk: Buffer) => {
      if (room <= 0) return;
      const piece = chunk.byteLength > room ? chunk.subarray(0, room) : chunk;
      room -= piece.byteLength;
      if (!target.write(piece)) source.pause();
      if (this.durable) ahead.maybeFlush(target.bytesWritten);
    };
    const onDrain = () => source.resume();
    const detach = () => {
      source.off('data', onData);
      target.off('drain', onDrain);
    };
    await new Promise<void>((done, failed) => {
      // The watch stays after a failed write too: the source's own later error is heard here.
      const stopWatching = finished(source, { writable: false }, () => {
        stopWatching();
        detach();
        void ahead.idle().then(() => {
          if (!target.destroyed) target.end();
        });
      });
      target.once('error', (error) => {
        detach();
        failed(error);
      });
      target.once('close', () => done());
      target.on('drain', onDrain);
      source.on('data', onData);
      source.resume();
    });
    // A flush that failed may have been the one to hear of a failed write: the bytes are not durable.
    if (ahead.error) throw ahead.error;
    return target.bytesWritten;
  }

  async read(key: string, range?: ByteRange): Promise<Readable> {
    // Plain fs.read on a descriptor (a FileHandle's stream goes through promises, measurably
    // slower), opened first so that a missing file fails here (ENOENT), not mid-response; a
    // download has it write itself into the answer reusing its buffers (blob-file-stream.ts).
    return BlobFileStream.open(this.pathOf(key), range);
  }

  async delete(key: string): Promise<void> {
    // unlink, not rm: one system call per blob, which is what a sweep of many spends its time on.
    // The sweep calls this for a whole batch at once, so the unlinks run side by side on the
    // thread pool: an unlink of a flushed file waits on the device, and a thread unlinking a
    // batch in a loop measured 1,000-9,000 files/s where the pool did 18,000-19,000 (no
    // `deleteMany` here for that reason).
    await unlink(this.pathOf(key)).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
    });
  }

  async *list(): AsyncIterable<StoredObject> {
    yield* this.listFolder(join(this.root, 'tmp'), TEMPORARY_KEY);
    const blobs = await opendirOrNothing(join(this.root, 'blobs'));
    if (!blobs) return;
    for await (const entry of blobs) {
      if (entry.isDirectory() && /^[0-9a-f]{2}$/.test(entry.name)) {
        yield* this.listFolder(join(this.root, 'blobs', entry.name), BLOB_KEY);
      }
    }
  }

  private async *listFolder(folder: string, pattern: RegExp): AsyncIterable<StoredObject> {
    const entries = await opendirOrNothing(folder);
    if (!entries) return;
    for await (const entry of entries) {
      if (!entry.isFile() || !pattern.test(entry.name)) continue;
      const info = await stat(join(folder, entry.name)).catch(() => undefined);
      if (info) yield { key: entry.name, modifiedAt: info.mtime };
    }
  }

  /** The only place a key becomes a path: anything but our own key shapes is refused. */
  private pathOf(key: string): string {
    if (BLOB_KEY.test(key)) return join(this.root, 'blobs', key.slice(0, 2), key);
    if (TEMPORARY_KEY.test(key)) return join(this.root, 'tmp', key);
    throw new Error(`DiskStorage: "${key}" is not a storage key`);
  }

  /**
   * Runs `work`, which creates an entry in `folder`, once the folder exists; if it fails with
   * ENOENT the folder is created again (it was removed behind our back) and `work` runs once more.
   */
  private async inFolder<T>(folder: string, work: () => Promise<T>): Promise<T> {
    await this.ensureFolder(folder);
    try {
      return await work();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      this.folders.delete(folder);
      await this.ensureFolder(folder);
      return work();
    }
  }

  /**
   * Makes `folder` exist. Writers that arrive while it is being made wait for the same
   * creation, so none acknowledges a file in a folder whose own entry is not yet durable.
   */
  private ensureFolder(folder: string): Promise<void> {
    let ready = this.folders.get(folder);
    if (!ready) {
      ready = this.createFolder(folder);
      this.folders.set(folder, ready);
      const created = ready;
      created.catch(() => {
        if (this.folders.get(folder) === created) this.folders.delete(folder);
      });
    }
    return ready;
  }

  /**
   * mkdir -p, and in durable mode a flush of the parent of every folder it made: a new folder's
   * entry lives in its parent, and without that flush a power loss can take the folder, and
   * every acknowledged file in it, away.
   */
  private async createFolder(folder: string): Promise<void> {
    const first = await mkdir(folder, { recursive: true });
    if (!this.durable || first === undefined) return;
    await Promise.all(parentsOfNewFolders(first, folder).map((parent) => this.flusher.flush(parent)));
  }
}

/** The parents of `first` and of each folder below it down to `last`: those that hold new entries. */
function parentsOfNewFolders(first: string, last: string): string[] {
  const parents: string[] = [];
  for (let folder = last; ; folder = dirname(folder)) {
    parents.push(dirname(folder));
    if (folder === first || dirname(folder) === folder) return parents;
  }
}

/** Opens a new file for writing (a plain descriptor: its stream writes without promises). */
function openExclusive(path: string): Promise<number> {
  return new Promise((opened, failed) => openFile(path, 'wx', (error, fd) => (error ? failed(error) : opened(fd))));
}

async function opendirOrNothing(folder: string) {
  try {
    return await opendir(folder);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/**
 * 32 hex digits: the first two name the folder and follow the clock (a new one every 100 ms),
 * so that files finishing together land in one folder and share its flush; the other 120 bits
 * are random.
 */
function newKey(): string {
  const folder = Math.floor(Date.now() / 100) % 256;
  return folder.toString(16).padStart(2, '0') + randomBytes(15).toString('hex');
}

/** An fdatasync: the file's bytes (not its times) to the device. */
function flushFileData(fd: number): Promise<void> {
  return new Promise((done, failed) => fdatasync(fd, (error) => (error ? failed(error) : done())));
}

/** writeAt's flushes while a write goes on: at most one at a time, each of what reached the file. */
class FlushAhead {
  fd: number | undefined;
  error: Error | undefined;
  private running: Promise<void> | undefined;
  private flushedUpTo = 0;

  constructor(private readonly flush: (fd: number) => Promise<void>) {}

  /** Flushes the file when `written` is `FLUSH_AHEAD_BYTES` past the last flush and none runs. */
  maybeFlush(written: number): void {
    const fd = this.fd;
    if (fd === undefined || this.running || this.error || written - this.flushedUpTo < FLUSH_AHEAD_BYTES) return;
    this.flushedUpTo = written;
    this.running = this.flush(fd).then(
      () => {
        this.running = undefined;
      },
      (error: unknown) => {
        this.error ??= error instanceof Error ? error : new Error(String(error));
        this.running = undefined;
      },
    );
  }

  /** Resolves once no flush runs (the descriptor may then be closed). */
  idle(): Promise<void> {
    return this.running ?? Promise.resolve();
  }
}
