import { randomBytes } from 'node:crypto';
import { close as closeFile, fdatasync, fsync, open as openFile, unlink as unlinkFile } from 'node:fs';
import { mkdir, opendir, rename, stat, unlink } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { Readable } from 'node:stream';
import type {
  AttachmentStorage,
  BulkDeletes,
  ByteRange,
  ByteSource,
  ResumableWrites,
  StoredObject,
} from './attachment-storage.js';
import { writeBatchedToFile } from './batched-file-write.js';
import { BlobFileStream } from './blob-file-stream.js';
import { FolderFlusher, flushFolder } from './folder-flusher.js';
import { refuseUnknownOptions } from './known-options.js';

const BLOB_KEY = /^[0-9a-f]{32}$/;
const TEMPORARY_KEY = /^[0-9a-f]{32}\.part$/;
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
export class DiskStorage implements AttachmentStorage, ResumableWrites, BulkDeletes {
  private readonly root: string;
  /** `<root>/blobs/`, so that a checked key becomes its path by concatenation (see pathOf). */
  private readonly blobsPrefix: string;
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
    checkDiskStorageOptions(options);
    this.root = resolve(options.directory);
    this.blobsPrefix = join(this.root, 'blobs') + sep;
    this.durable = options.durable ?? true;
    this.flusher = new FolderFlusher(flushOne);
  }

  async write(source: ByteSource): Promise<{ key: string }> {
    const key = newKey();
    const temporary = this.pathOf(`${key}.part`);
    const final = this.pathOf(key);
    const bytes = source instanceof Readable ? source : Readable.from(source, { objectMode: false });
    // The bytes go from the source straight to the file, in batches (batched-file-write.ts),
    // with no stage between (the hash listens). Durable: one fsync at the end, before the file
    // closes, as the durable ceiling does: flushing every few MiB while the file arrives
    // (fdatasync, each a journal commit and a device cache flush) measured no faster.
    try {
      const { sourceError } = await writeBatchedToFile(bytes, {
        open: () => this.inFolder(join(this.root, 'tmp'), () => openExclusive(temporary)),
        flush: this.durable,
        onSourceFailure: 'discard',
      });
      if (sourceError) throw sourceError;
    } catch (error) {
      // Either way the file goes. A file that could not take the bytes lets the source go, as a
      // pipe would (a source that failed is destroyed already).
      if (!bytes.destroyed) bytes.destroy(error as Error);
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
    // As in write, the bytes go straight from the source into the file, in batches; every byte
    // the source gave is written however it stops (at its end, destroyed, failed), and flushed
    // before the file closes when durable. 'r+' opens the existing file without truncating it
    // (an unknown key fails with ENOENT).
    //
    // A PATCH's client waits for its answer before it sends the next one, so the flush at the
    // end is time nobody sends in. Flushing what has reached the file every few MiB while the
    // rest arrives leaves that last flush only the last few MiB. One flush at a time, and the
    // file is closed only once none runs.
    const ahead = new FlushAhead(this.flushAhead);
    const path = this.pathOf(key);
    const { written } = await writeBatchedToFile(source, {
      open: () => openForUpdate(path),
      position: offset,
      maxBytes,
      flush: this.durable,
      onSourceFailure: 'keep',
      afterWrite: this.durable ? (fd, bytes) => ahead.maybeFlush(fd, bytes) : undefined,
      beforeClose: () => ahead.idle(),
    });
    // A flush that failed may have been the one to hear of a failed write: the bytes are not durable.
    if (ahead.error) throw ahead.error;
    return written;
  }

  async read(key: string, range?: ByteRange): Promise<Readable> {
    // Plain fs.read on a descriptor (a FileHandle's stream goes through promises, measurably
    // slower), opened first so that a missing file fails here (ENOENT), not mid-response; a
    // download has it write itself into the answer reusing its buffers (blob-file-stream.ts).
    return BlobFileStream.open(this.pathOf(key), range);
  }

  async delete(key: string): Promise<void> {
    // unlink, not rm: one system call per blob.
    await unlink(this.pathOf(key)).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
    });
  }

  /**
   * The sweep's deletes: every unlink of the batch is queued at once, so that they run side by
   * side on the thread pool (an unlink of a flushed file waits on the device; a thread
   * unlinking a batch in a loop measured 1,000-9,000 files/s where the pool did 18,000-19,000),
   * each with a plain callback and one counter for the batch. One promise per key (`delete`
   * under `Promise.allSettled`) took over twice the user CPU for the same files per second
   * (bench/delete-alone.ts: 100,000 flushed one-byte blobs, 0.79 s against 1.80 s; the unlinks
   * themselves, system time and device, bound the rate either way).
   * Resolves the keys that could not be deleted: not ours, or an unlink that failed otherwise
   * than with ENOENT (gone already counts as deleted).
   */
  deleteMany(keys: readonly string[]): Promise<string[]> {
    const failed: string[] = [];
    const paths: Array<[key: string, path: string]> = [];
    for (const key of keys) {
      const path = this.pathOrUndefined(key);
      if (path === undefined) failed.push(key);
      else paths.push([key, path]);
    }
    if (paths.length === 0) return Promise.resolve(failed);
    return new Promise((done) => {
      let pending = paths.length;
      for (const [key, path] of paths)
        unlinkFile(path, (error) => {
          if (error && error.code !== 'ENOENT') failed.push(key);
          if (--pending === 0) done(failed);
        });
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

  /** A key's path, or an error for anything but our own key shapes. */
  private pathOf(key: string): string {
    const path = this.pathOrUndefined(key);
    if (path === undefined) throw new Error(`DiskStorage: "${key}" is not a storage key`);
    return path;
  }

  /** The only place a key becomes a path: anything but our own key shapes has none. */
  private pathOrUndefined(key: string): string | undefined {
    // A key that matched is 32 hex digits: concatenation makes the same path as join, which
    // normalises (6 % of a sweep's main-thread time went into it).
    if (BLOB_KEY.test(key)) return this.blobsPrefix + key.slice(0, 2) + sep + key;
    if (TEMPORARY_KEY.test(key)) return join(this.root, 'tmp', key);
    return undefined;
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

/** Opens a new file for writing. */
function openExclusive(path: string): Promise<number> {
  return openDescriptor(path, 'wx');
}

/** Opens an existing file for writing, without truncating it. */
function openForUpdate(path: string): Promise<number> {
  return openDescriptor(path, 'r+');
}

/** A plain descriptor (batched-file-write.ts writes on it without promises per write). */
function openDescriptor(path: string, flags: string): Promise<number> {
  return new Promise((opened, failed) => openFile(path, flags, (error, fd) => (error ? failed(error) : opened(fd))));
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
  error: Error | undefined;
  private running: Promise<void> | undefined;
  private flushedUpTo = 0;

  constructor(private readonly flush: (fd: number) => Promise<void>) {}

  /** Flushes the file when `written` is `FLUSH_AHEAD_BYTES` past the last flush and none runs. */
  maybeFlush(fd: number, written: number): void {
    if (this.running || this.error || written - this.flushedUpTo < FLUSH_AHEAD_BYTES) return;
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

/** Every option (a Record, so that a new option of the interface must be added here). */
const DISK_STORAGE_OPTIONS: Record<keyof DiskStorageOptions, true> = { directory: true, durable: true };

/** A directory that is a path, a `durable` that is a boolean, and no key of another name. */
function checkDiskStorageOptions(options: DiskStorageOptions): void {
  if (typeof options !== 'object' || options === null) {
    throw new Error('DiskStorage: options must be an object such as { directory: "var/attachments" }');
  }
  refuseUnknownOptions('DiskStorage', options, Object.keys(DISK_STORAGE_OPTIONS));
  const directory: unknown = options.directory;
  if (typeof directory !== 'string' || directory === '') {
    throw new Error(`DiskStorage: \`directory\` must be the path of a folder; got ${JSON.stringify(directory) ?? 'undefined'}`);
  }
  const durable: unknown = options.durable;
  if (durable !== undefined && typeof durable !== 'boolean') {
    throw new Error(`DiskStorage: \`durable\` must be true or false; got ${JSON.stringify(durable)}`);
  }
}
