import type { Readable } from 'node:stream';
import type { UploadPart, UploadRow } from './upload-records.js';

/** What one PATCH stored: how many bytes, and the part that holds them (null when in place). */
export interface WrittenBytes {
  bytes: number;
  part: UploadPart | null;
}

/** A finished upload's bytes as one blob, before the attachment's row commits. */
export interface AssembledBlob {
  key: string;
  sha256: string;
  /** Keys to delete once the attachment has committed (the parts the blob was made of). */
  leftovers: string[];
  /** Keys to delete if it does not commit (what assembling made; never what a winner owns). */
  made: string[];
}

/**
 * Where a resumable upload's bytes go, behind one interface so that the protocol layer and
 * its rules never ask. Two strategies: parts (any AttachmentStorage: each PATCH one object,
 * joined at the finish) and in place (storages with `ResumableWrites`: one object written at
 * offsets, which becomes the blob without a copy). Which one an upload uses is fixed when it
 * is created: an in-place upload has a `storageKey`, a parts upload has none.
 *
 * Which bytes count is never decided here: the caller's compare-and-set on the offset does,
 * after `write`, and `discard`s what did not count.
 */
export interface UploadBytes {
  /** Whether the upload's bytes are in part rows (else in its one object: no part to look up). */
  readonly keepsParts: boolean;
  /** Made at creation: the key of the object the upload grows in, or null (one object per PATCH). */
  start(): Promise<string | null>;
  /**
   * Stores one PATCH's body at `upload.offset`. The body ends early (without an error) when the
   * client went away: what arrived is stored and counted. It fails with the body's error when the
   * body is refused (too many bytes): then nothing of it counts.
   */
  write(upload: UploadRow, body: Readable): Promise<WrittenBytes>;
  /** Drops what `write` stored for a PATCH that did not count. */
  discard(upload: UploadRow, written: WrittenBytes): Promise<void>;
  /** The first `bytes` bytes stored so far (at most `upload.offset` of them), for the type sniff. */
  head(upload: UploadRow, parts: UploadPart[], bytes: number): Promise<Buffer>;
  /** Every byte of a complete upload, in order. */
  read(upload: UploadRow, parts: UploadPart[]): Promise<Readable>;
  /** A complete upload as one blob, hashed (its `sha256` when the caller knows it: not read again for it). */
  assemble(upload: UploadRow, parts: UploadPart[], sha256?: string): Promise<AssembledBlob>;
  /** Every key that holds the upload's bytes (for termination, expiry, refusal). */
  keys(upload: UploadRow, parts: UploadPart[]): string[];
}
