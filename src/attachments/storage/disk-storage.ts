import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, opendir, rename, stat, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { AttachmentStorage, ByteRange, ByteSource, StoredObject } from './attachment-storage.js';
import { withEarlyWriteback } from './early-writeback.js';
import { FolderFlusher } from './folder-flusher.js';

const BLOB_KEY = /^[0-9a-f]{32}$/;
const TEMPORARY_KEY = /^[0-9a-f]{32}\.part$/;

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
 */
export class DiskStorage implements AttachmentStorage {
  private readonly root: string;
  private readonly durable: boolean;
  private readonly knownFolders = new Set<string>();
  private readonly flusher = new FolderFlusher();

  constructor(options: DiskStorageOptions) {
    this.root = resolve(options.directory);
    this.durable = options.durable ?? true;
  }

  async write(source: ByteSource): Promise<{ key: string }> {
    const key = newKey();
    const temporary = this.pathOf(`${key}.part`);
    const final = this.pathOf(key);
    await this.ensureFolder(join(this.root, 'tmp'));
    // `flush` fsyncs the file before it closes: an acknowledged upload survives a power loss.
    const target = createWriteStream(temporary, { flags: 'wx', flush: this.durable, highWaterMark: 256 * 1024 });
    try {
      await pipeline(this.durable ? withEarlyWriteback(source, target) : source, target);
    } catch (error) {
      // A write that fails while the file is still being opened creates it afterwards: wait
      // for the stream to close, or the unlink would run first and leave the file behind.
      if (!target.closed) await new Promise<void>((closed) => target.once('close', () => closed()));
      await unlink(temporary).catch(() => undefined);
      throw error;
    }
    const folder = join(this.root, 'blobs', key.slice(0, 2));
    await this.ensureFolder(folder);
    await rename(temporary, final);
    if (this.durable) await this.flusher.flush(folder);
    return { key };
  }

  async read(key: string, range?: ByteRange): Promise<Readable> {
    // fs.createReadStream reads with plain fs.read (a FileHandle's stream goes through promises,
    // measurably slower); waiting for 'open' makes a missing file fail here (ENOENT), not
    // mid-response.
    const stream = createReadStream(this.pathOf(key), { start: range?.start, end: range?.end, highWaterMark: 256 * 1024 });
    await new Promise<void>((opened, failed) => {
      stream.once('open', () => opened());
      stream.once('error', failed);
    });
    return stream;
  }

  async delete(key: string): Promise<void> {
    // unlink, not rm: one system call per blob, which is what a sweep of many spends its time on.
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

  private async ensureFolder(folder: string): Promise<void> {
    if (this.knownFolders.has(folder)) return;
    await mkdir(folder, { recursive: true });
    this.knownFolders.add(folder);
  }
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
