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
