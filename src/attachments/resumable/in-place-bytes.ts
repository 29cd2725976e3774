import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { AttachmentStorage, ResumableWrites } from '../storage/attachment-storage.js';
import type { AssembledBlob, UploadBytes, WrittenBytes } from './upload-bytes.js';
import type { UploadPart, UploadRow } from './upload-records.js';

/**
 * The in-place strategy, for storages with `ResumableWrites` (DiskStorage): an upload is one
 * object from its creation, every PATCH writes at its offset into it, and at the finish that
 * object becomes the attachment's blob without a copy (read once for the hash, unless the
 * caller hashed the bytes on their way in).
 *
 * Nothing is ever discarded: bytes past the committed offset are overwritten by the PATCH that
 * resumes there, and the loser of a race at one offset wrote the same file's bytes at the same
 * places as the winner (a tus client sends one file). The object is the upload's until the
 * finish commits, so a finish that fails leaves it to the upload (`made` is empty), and it is
 * removed with the upload (termination, expiry, refusal: `keys`).
 */
export class InPlaceBytes implements UploadBytes {
  readonly keepsParts = false;

  constructor(private readonly storage: AttachmentStorage & ResumableWrites) {}

  async start(): Promise<string> {
    return (await this.storage.createEmpty()).key;
  }

  async write(upload: UploadRow, body: Readable): Promise<WrittenBytes> {
    // Never past the upload's length, even by the chunk that a refusal of too many bytes
    // arrives with: the object becomes the blob as it is, and its readers read it whole.
    const bytes = await this.storage.writeAt(keyOf(upload), upload.offset, body, upload.length - upload.offset);
    // writeAt counts what the body gave however it stopped; a refused body (an error, not an
    // early end) counts for nothing, as the contract of `write` says.
    if (body.errored) throw body.errored;
    return { bytes, part: null };
  }

  discard(): Promise<void> {
    return Promise.resolve();
  }

  async head(upload: UploadRow, _parts: UploadPart[], bytes: number): Promise<Buffer> {
    if (bytes <= 0) return Buffer.alloc(0);
    const chunks: Buffer[] = [];
    for await (const chunk of await this.storage.read(keyOf(upload), { start: 0, end: bytes - 1 })) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).subarray(0, bytes);
  }

  read(upload: UploadRow): Promise<Readable> {
    // Only the upload's length: nothing a PATCH wrote past it (none can) would reach the blob's readers.
    return this.storage.read(keyOf(upload), upload.length > 0 ? { start: 0, end: upload.length - 1 } : undefined);
  }

  async assemble(upload: UploadRow, _parts: UploadPart[], sha256?: string): Promise<AssembledBlob> {
    if (sha256 !== undefined) return { key: keyOf(upload), sha256, leftovers: [], made: [] };
    const hash = createHash('sha256');
    for await (const chunk of await this.read(upload)) hash.update(chunk as Buffer);
    return { key: keyOf(upload), sha256: hash.digest('hex'), leftovers: [], made: [] };
  }

  keys(upload: UploadRow): string[] {
    return [keyOf(upload)];
  }
}

function keyOf(upload: UploadRow): string {
  if (upload.storageKey === null) throw new Error(`Upload ${upload.id} has no object to grow in: it is not an in-place upload`);
  return upload.storageKey;
}
