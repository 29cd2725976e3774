import { Inject } from '@nestjs/common';
import type { Readable } from 'node:stream';

/** Bytes, as a stream or any async iterable of chunks. */
export type ByteSource = Readable | AsyncIterable<Uint8Array>;

/** Inclusive byte offsets, as in an HTTP Range header. */
export interface ByteRange {
  start: number;
  end: number;
}

/** One object the storage holds: a stored blob, or a temporary one an interrupted write left. */
export interface StoredObject {
  key: string;
  modifiedAt: Date;
}

/**
 * Where attachment bytes live. Keys are opaque and chosen by the storage: a user's file name
 * never reaches it. The contract covers what expiry needs as well as reads and writes.
 *
 * - `write` stores the whole source under a new key and resolves only when the bytes are
 *   complete and visible; if the source fails, nothing stays visible under any key.
 * - `read` fails with an error whose `code` is `ENOENT` for an unknown key.
 * - `delete` is idempotent: deleting an unknown key succeeds.
 * - `list` yields every object, including leftovers of interrupted writes, so that the orphan
 *   sweep can remove what no row references. Keys it yields are accepted by `delete`.
 */
export interface AttachmentStorage {
  write(source: ByteSource): Promise<{ key: string }>;
  read(key: string, range?: ByteRange): Promise<Readable>;
  delete(key: string): Promise<void>;
  list(): AsyncIterable<StoredObject>;
}

/** Injection token for the storage in use, named like the interface (as @nestjs/throttler does). */
export const AttachmentStorage = Symbol('AttachmentStorage');

/** Injects the storage the module was configured with. */
export const InjectAttachmentStorage = (): ParameterDecorator => Inject(AttachmentStorage);

/**
 * Optional capability for resumable (tus) uploads: one object that grows by positional writes,
 * so that PATCHes land in place instead of as one object per PATCH. Storages without it get
 * the parts strategy, which works on any `AttachmentStorage`.
 *
 * - `createEmpty` makes an empty object, listed by `list` like any other.
 * - `writeAt` writes the source at `offset` and resolves the number of bytes written once they
 *   are durable, also when the source ended early (a client that went away) or failed (a
 *   limit that refused the rest): the count is exactly what the source gave before it
 *   stopped, at most `maxBytes` (what it gives past them is read but not written, so that an
 *   object never grows past its upload's length). It rejects only when the object cannot take
 *   the bytes (an unknown key: `ENOENT`).
 */
export interface ResumableWrites {
  createEmpty(): Promise<{ key: string }>;
  writeAt(key: string, offset: number, source: Readable, maxBytes?: number): Promise<number>;
}

/** Whether a storage offers positional writes for resumable uploads. */
export function supportsResumableWrites(s: AttachmentStorage): s is AttachmentStorage & ResumableWrites {
  const candidate = s as Partial<ResumableWrites>;
  return typeof candidate.createEmpty === 'function' && typeof candidate.writeAt === 'function';
}

/**
 * Optional capability: deleting many keys in one call, for a storage that can do a batch
 * cheaper than one `delete` per key (the sweep removes thousands at a time). For each key the
 * contract is `delete`'s (an unknown key is deleted already); it resolves the keys that could
 * not be deleted instead of rejecting for one of them, and the orphan sweep retries those.
 */
export interface BulkDeletes {
  deleteMany(keys: readonly string[]): Promise<string[]>;
}

/** Whether a storage deletes batches itself. */
export function supportsBulkDeletes(s: AttachmentStorage): s is AttachmentStorage & BulkDeletes {
  return typeof (s as Partial<BulkDeletes>).deleteMany === 'function';
}
