import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { AttachmentStorage } from '../storage/attachment-storage.js';
import type { AssembledBlob, UploadBytes, WrittenBytes } from './upload-bytes.js';
import type { UploadPart, UploadRow } from './upload-records.js';

/**
 * The parts strategy, for any AttachmentStorage (S3 included): each PATCH's bytes become one
 * object of their own, recorded as a part by the PATCH's compare-and-set commit. At the finish
 * the parts are streamed in order into one new object, hashed on the way; an upload of one part
 * keeps that object as its blob (read once for the hash, unless the caller hashed it on its way in).
 */
export class PartsBytes implements UploadBytes {
  readonly keepsParts = true;

  constructor(private readonly storage: AttachmentStorage) {}

  start(): Promise<string | null> {
    return Promise.resolve(null);
  }

  async write(upload: UploadRow, body: Readable): Promise<WrittenBytes> {
    let bytes = 0;
    body.on('data', (chunk: Buffer) => (bytes += chunk.byteLength));
    // The listener must not start the flow before the storage's consumer is attached.
    body.pause();
    const { key } = await this.storage.write(body);
    if (bytes === 0) {
      await this.storage.delete(key);
      return { bytes, part: null };
    }
    return { bytes, part: { offset: upload.offset, length: bytes, storageKey: key } };
  }

  async discard(_upload: UploadRow, written: WrittenBytes): Promise<void> {
    if (written.part) await this.storage.delete(written.part.storageKey);
  }

  async head(_upload: UploadRow, parts: UploadPart[], bytes: number): Promise<Buffer> {
    const chunks: Buffer[] = [];
    let length = 0;
    for (const part of parts) {
      if (length >= bytes) break;
      const end = Math.min(part.length, bytes - length) - 1;
      for await (const chunk of await this.storage.read(part.storageKey, { start: 0, end })) {
        chunks.push(chunk as Buffer);
        length += (chunk as Buffer).byteLength;
      }
    }
    return Buffer.concat(chunks, length).subarray(0, bytes);
  }

  read(_upload: UploadRow, parts: UploadPart[]): Promise<Readable> {
    const storage = this.storage;
    async function* joined(): AsyncGenerator<Buffer> {
      for (const part of parts) {
        for await (const chunk of await storage.read(part.storageKey)) yield chunk as Buffer;
      }
    }
    return Promise.resolve(Readable.from(joined(), { objectMode: false }));
  }

  async assemble(upload: UploadRow, parts: UploadPart[], sha256?: string): Promise<AssembledBlob> {
    const hash = createHash('sha256');
    if (parts.length === 1) {
      const [only] = parts as [UploadPart];
      if (sha256 !== undefined) return { key: only.storageKey, sha256, leftovers: [], made: [] };
      for await (const chunk of await this.storage.read(only.storageKey)) hash.update(chunk as Buffer);
      return { key: only.storageKey, sha256: hash.digest('hex'), leftovers: [], made: [] };
    }
    const joined = await this.read(upload, parts);
    // The copy reads every part anyway; a known hash only spares hashing them again.
    if (sha256 === undefined) {
      joined.on('data', (chunk: Buffer) => hash.update(chunk));
      joined.pause();
    }
    const { key } = await this.storage.write(joined);
    return { key, sha256: sha256 ?? hash.digest('hex'), leftovers: parts.map((part) => part.storageKey), made: [key] };
  }

  keys(_upload: UploadRow, parts: UploadPart[]): string[] {
    return parts.map((part) => part.storageKey);
  }
}
