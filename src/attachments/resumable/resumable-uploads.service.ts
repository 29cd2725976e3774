import { Inject, Injectable, Logger } from '@nestjs/common';
import { createHash, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import type { Attachment } from '../attachment.js';
import { AttachmentsException, isAttachmentsException } from '../attachments.errors.js';
import type { ResolvedAttachmentsOptions } from '../attachments.options.js';
import { AttachmentsService } from '../attachments.service.js';
import { RESOLVED_ATTACHMENTS_OPTIONS } from '../attachments.tokens.js';
import { refusalError, rethrowServiceError, serviceError } from '../service-errors.js';
import { detectType, isAllowedType, SNIFF_BYTES } from '../content-type.js';
import { newInlineKey, readPrefix, storedKeys } from '../inline-content.js';
import { assertBundleId, normalizeFileName } from '../names.js';
import type { OwnerKey } from '../owner.js';
import { DatabaseFailure } from '../persistence/database-failure.js';
import type { NewAttachmentRow } from '../persistence/upsert.js';
import { AttachmentStorage, InjectAttachmentStorage } from '../storage/attachment-storage.js';
import { ResumableBytes } from './resumable-bytes.js';
import { RunningHashes, type FollowedPatch } from './running-hashes.js';
import type { UploadBytes, WrittenBytes } from './upload-bytes.js';
import { OffsetMoved, UploadRecords, type QuotaUsage, type UploadPart, type UploadRow } from './upload-records.js';

/** A new upload, as the client declared it. */
export interface NewUpload {
  /** The name from its metadata, as sent (normalised and checked here). */
  name: string;
  length: number;
  /** The Upload-Metadata header exactly as sent, to echo. */
  metadata: string | null;
}

/** Where an upload stands after a request, and the attachment it became if it finished. */
export interface UploadState {
  upload: UploadRow;
  attachment?: Attachment;
}

/**
 * Resumable uploads (tus): create, look up, append, terminate, with the rules of a plain upload
 * applied as bytes arrive. No HTTP in here: the controller speaks tus. Every method is scoped
 * by owner; an upload of another owner or bundle, or one gone stale, is `upload_not_found`.
 *
 * A PATCH writes its bytes first, then commits them with a compare-and-set on the offset: of
 * two PATCHes from one offset exactly one counts, and the other's bytes are discarded. The last
 * PATCH's commit is the attachment's upsert itself, so the file appears in its bundle only
 * then, and only once.
 */
@Injectable()
export class ResumableUploads {
  private readonly logger = new Logger('ResumableUploads');
  /** Each upload's hash as far as this process served it, so that most finishes read nothing back. */
  private readonly hashes: RunningHashes;

  constructor(
    private readonly records: UploadRecords,
    private readonly bytes: ResumableBytes,
    private readonly attachments: AttachmentsService,
    @InjectAttachmentStorage() private readonly storage: AttachmentStorage,
    @Inject(RESOLVED_ATTACHMENTS_OPTIONS) private readonly options: ResolvedAttachmentsOptions,
  ) {
    this.hashes = new RunningHashes(MAX_RUNNING_HASHES, options.resumableExpireAfter);
  }

  /** When an unfinished upload expires, if nothing more arrives. */
  expiresAt(upload: UploadRow): Date {
    return new Date(upload.updatedAt + this.options.resumableExpireAfter);
  }

  /**
   * Records a new upload, refused at once when its declared length cannot fit (the file size
   * limit, the session's quota counting other unfinished uploads) or the bundle has no room.
   * A bundle holding `filesPerBundle` unfinished uploads makes room by superseding the oldest
   * one of the same name (removed with its bytes, as a termination), else it is full.
   * An empty upload is complete at once: its state then carries the attachment.
   */
  async create(owner: OwnerKey, bundle: string, declared: NewUpload): Promise<UploadState> {
    assertBundleId(bundle);
    const name = normalizeFileName(declared.name);
    const { fileSize } = this.options.limits;
    if (declared.length > fileSize) {
      throw AttachmentsException.create('file_too_large', `at most ${fileSize} bytes per file`);
    }
    const strategy = this.bytes.forNewUpload();
    const storageKey = await strategy.start();
    const now = Date.now();
    const upload: UploadRow = {
      id: randomUUID(),
      owner,
      bundle,
      name,
      metadata: declared.metadata,
      length: declared.length,
      offset: 0,
      mimetype: null,
      storageKey,
      finishedAt: null,
      createdAt: now,
      updatedAt: now,
    };
    let creation;
    try {
      creation = await this.records.create(upload, this.options.limits, this.liveSince());
    } catch (error) {
      if (storageKey !== null) await this.deleteKeys([storageKey]);
      throw serviceError(error);
    }
    if (creation.refused) {
      if (storageKey !== null) await this.deleteKeys([storageKey]);
      throw refusalError(creation.refused, this.options.limits);
    }
    // The bundle held as many unfinished uploads as it may: the oldest of this name made room,
    // and its bytes go now that its rows are gone (its client's next request is a 404).
    if (creation.superseded) {
      this.hashes.forget(creation.superseded.id);
      await this.deleteKeys(creation.superseded.keys);
    }
    if (upload.length === 0) return this.finish(upload, strategy, [], { bytes: 0, part: null }, null, undefined);
    return { upload };
  }

  /** The owner's upload; `upload_not_found` when it is someone else's, elsewhere, or stale. */
  find(owner: OwnerKey, bundle: string, id: string): Promise<UploadRow> {
    return this.lookUp(bundle, id, () => this.records.find(owner, bundle, id, this.liveSince()));
  }

  /** What `look` finds of the upload `id` in `bundle`, or `upload_not_found` (no query for a non-id). */
  private async lookUp<T>(bundle: string, id: string, look: () => Promise<T | undefined>): Promise<T> {
    assertBundleId(bundle);
    const found = UPLOAD_ID.test(id) ? await look().catch(rethrowServiceError) : undefined;
    if (found === undefined) throw AttachmentsException.create('upload_not_found');
    return found;
  }

  /**
   * Appends one PATCH's body at `offset`, which must be the upload's. Never stores more than
   * the declared length or the session's quota leaves (the refusal stores nothing of this
   * PATCH). The type is sniffed as soon as the first bytes are there, before more are stored.
   * A body cut short (the client went away) counts as far as it arrived.
   */
  async append(
    owner: OwnerKey,
    bundle: string,
    id: string,
    offset: number,
    body: Readable,
    declaredLength?: number,
  ): Promise<UploadState> {
    // The upload and its owner's quota usage in one query: a PATCH's round trips are time nobody sends in.
    const { upload, usage } = await this.lookUp(bundle, id, () =>
      this.records.findWithUsage(owner, bundle, id, this.liveSince()),
    );
    if (offset !== upload.offset) {
      throw AttachmentsException.create('offset_mismatch', `the upload is at ${upload.offset}`);
    }
    const room = upload.length - upload.offset;
    if (declaredLength !== undefined && declaredLength > room) {
      throw AttachmentsException.create('upload_length_exceeded', `${room} more byte(s) at most`);
    }
    // A finished upload has no room left: an empty PATCH at its end is answered as it stands.
    if (upload.finishedAt !== null) return { upload };
    const strategy = this.bytes.of(upload);
    // One query fewer per PATCH when the bytes grow in one object.
    const parts = strategy.keepsParts ? await this.records.partsOf(upload.id).catch(rethrowServiceError) : [];
    // Each PATCH of the parts strategy is one object and one row: a client sending a byte at a
    // time must not make millions of them.
    if (parts.length >= MAX_PARTS && declaredEnd(upload, declaredLength) < upload.length) {
      throw AttachmentsException.create('too_many_parts', `at most ${MAX_PARTS} PATCHes per upload; send larger ones`);
    }
    const sniffed = await this.sniff(upload, strategy, parts, body);
    const source = sniffed.source;
    const limit = this.limitFor(upload, usage, room);
    watchLimit(source, limit.maxBytes, limit.tooLarge);
    // Hashed as the storage cuts it (at the upload's room); a refused body never counts anyway.
    const followed = this.hashes.follow(upload.id, upload.offset, source, room);
    let written: WrittenBytes;
    try {
      written = await strategy.write(upload, source);
    } catch (error) {
      throw serviceError(error);
    }
    const end = upload.offset + written.bytes;
    if (end === upload.length) return this.finish(upload, strategy, parts, written, sniffed.mimetype, followed);
    const now = Date.now();
    let moved: boolean;
    try {
      moved = await this.records.advance(upload.id, upload.offset, end, sniffed.mimetype, written.part, now);
    } catch (error) {
      // When the commit's outcome is unknown, its part may be referenced: the orphan sweep decides.
      if (error instanceof DatabaseFailure && !error.mayHaveWritten) await this.discard(strategy, upload, written);
      throw serviceError(error);
    }
    if (!moved) {
      await this.discard(strategy, upload, written);
      if (await this.removedMeanwhile(upload.id)) throw uploadRemoved();
      throw AttachmentsException.create('offset_mismatch', 'another request moved the upload on meanwhile');
    }
    this.hashes.keep(followed, upload.id, written.bytes);
    return { upload: { ...upload, offset: end, mimetype: sniffed.mimetype, updatedAt: now } };
  }

  /**
   * Removes an upload whose creation's answer will not reach its client (a creation-with-upload
   * whose body was refused or cut off): nobody knows its URL, so nobody could resume it, and
   * until it expired it would hold the session's quota and a place in its bundle. Best effort:
   * what cannot be removed now expires like any stale upload.
   */
  async forgetUnannounced(upload: UploadRow): Promise<void> {
    await this.removeUpload(upload.id).catch((error: unknown) => {
      this.logger.warn(`Could not remove an upload nobody can resume; the sweep will once it is stale: ${String(error)}`);
    });
  }

  /** Removes the owner's upload and its bytes (tus termination). */
  async terminate(owner: OwnerKey, bundle: string, id: string): Promise<void> {
    const upload = await this.find(owner, bundle, id);
    this.hashes.forget(upload.id);
    const keys = await this.records.remove(upload.id).catch(rethrowServiceError);
    await this.deleteKeys(keys ?? []);
  }

  /**
   * Decides the type once the first bytes are there (`SNIFF_BYTES`, or the whole upload if it is
   * shorter): those stored before and this body's first ones. A body that ends before them
   * leaves the decision to the PATCH that completes them. A refused type removes the upload.
   */
  private async sniff(
    upload: UploadRow,
    strategy: UploadBytes,
    parts: UploadPart[],
    body: Readable,
  ): Promise<{ source: Readable; mimetype: string | null }> {
    if (upload.mimetype !== null) return { source: body, mimetype: upload.mimetype };
    const sniffLength = Math.min(SNIFF_BYTES, upload.length);
    const needed = sniffLength - upload.offset;
    const prefix = needed > 0 ? await readPrefix(body, needed) : { head: Buffer.alloc(0), ended: false };
    const head = prefix.head;
    // A body whose last bytes were the prefix may have ended meanwhile: nothing can go back then.
    const ended = prefix.ended || body.readableEnded;
    const source = ended ? Readable.from(head.byteLength > 0 ? [head] : [], { objectMode: false }) : body;
    if (!ended && head.byteLength > 0) body.unshift(head);
    if (upload.offset + head.byteLength < sniffLength) return { source, mimetype: null };
    const stored = upload.offset > 0 ? await strategy.head(upload, parts, upload.offset) : Buffer.alloc(0);
    const mimetype = await detectType(Buffer.concat([stored, head]).subarray(0, sniffLength), upload.name);
    if (!isAllowedType(mimetype, this.options.allowedTypes)) {
      source.destroy();
      await this.removeUpload(upload.id);
      throw AttachmentsException.create('type_not_allowed', `${mimetype} is not accepted here`);
    }
    return { source, mimetype };
  }

  /** The bytes this PATCH may bring: the upload's room, or less when the session's quota says so. */
  private limitFor(upload: UploadRow, usage: QuotaUsage, room: number): { maxBytes: number; tooLarge: () => Error } {
    const { bytesPerSession } = this.options.limits;
    const quotaRoom = bytesPerSession - usage.attachmentBytes - usage.reservedBytes - upload.offset;
    return quotaRoom < room
      ? {
          maxBytes: Math.max(0, quotaRoom),
          tooLarge: () => AttachmentsException.create('session_quota_exceeded', `at most ${bytesPerSession} bytes per session`),
        }
      : {
          maxBytes: room,
          tooLarge: () => AttachmentsException.create('upload_length_exceeded', `${room} more byte(s) at most`),
        };
  }

  /**
   * The last bytes are stored: the upload becomes an attachment through the plain upload's
   * upsert, in the transaction that marks it finished (a compare-and-set from this PATCH's
   * offset, so one finish only). Small files go into their row, as a plain upload's do.
   * A refusal (the quota or the bundle taken meanwhile, the inspect hook) removes the upload;
   * a failure to retry (the database, the inspection unavailable) keeps it where it was.
   */
  private async finish(
    upload: UploadRow,
    strategy: UploadBytes,
    before: UploadPart[],
    written: WrittenBytes,
    sniffedType: string | null,
    followed: FollowedPatch | undefined,
  ): Promise<UploadState> {
    const parts = written.part ? [...before, written.part] : before;
    const complete: UploadRow = { ...upload, offset: upload.length };
    const mimetype =
      sniffedType ?? (await detectType(await strategy.head(complete, parts, Math.min(SNIFF_BYTES, upload.length)), upload.name));
    if (!isAllowedType(mimetype, this.options.allowedTypes)) {
      await this.discard(strategy, upload, written);
      await this.removeUpload(upload.id);
      throw AttachmentsException.create('type_not_allowed', `${mimetype} is not accepted here`);
    }
    let made: string[] = [];
    let leftovers: string[] = [];
    // Whether the transaction that commits the attachment got as far as marking the upload finished.
    let marked = false;
    try {
      const { inlineMaxSize } = this.options;
      let row: NewAttachmentRow;
      if (inlineMaxSize > 0 && upload.length <= inlineMaxSize) {
        const content = await readAll(await strategy.read(complete, parts));
        const sha256 = createHash('sha256').update(content).digest('hex');
        row = { name: upload.name, mimetype, size: upload.length, sha256, storageKey: newInlineKey(), content };
        leftovers = strategy.keys(complete, parts);
      } else {
        // Known when this process hashed every byte on its way in; else the blob is read for it.
        const blob = await strategy.assemble(complete, parts, this.hashes.digest(followed, written.bytes, upload.length));
        made = blob.made;
        leftovers = blob.leftovers;
        row = { name: upload.name, mimetype, size: upload.length, sha256: blob.sha256, storageKey: blob.key, content: null };
      }
      const now = Date.now();
      // Stored as resolved: the key is an OwnerKey already (or the adopter's, after an adoption).
      const attachment = await this.attachments.commitUpload(upload.owner as OwnerKey, upload.bundle, row, async (manager) => {
        await this.records.finishIn(manager, upload.id, upload.offset, upload.length, mimetype, now);
        marked = true;
      });
      this.hashes.forget(upload.id);
      await this.deleteKeys(leftovers);
      return { upload: { ...complete, mimetype, storageKey: null, finishedAt: now, updatedAt: now }, attachment };
    } catch (error) {
      // Terminated or swept meanwhile: its bytes may be gone too (whatever read them failed).
      // Nothing committed (the finish's step never ran), so nothing of this finish stays.
      if (!marked && (await this.removedMeanwhile(upload.id))) {
        await this.discard(strategy, upload, written);
        await this.deleteKeys(made);
        throw uploadRemoved();
      }
      if (error instanceof OffsetMoved) {
        await this.discard(strategy, upload, written);
        await this.deleteKeys(made);
        throw AttachmentsException.create('offset_mismatch', 'another request moved the upload on meanwhile');
      }
      // A failure after the commit (following an adoption of the owner) leaves the attachment
      // stored: its bytes are its blob now, and only the parts it was joined from are left over.
      const committed = marked ? await this.finishCommitted(upload.id) : false;
      if (committed !== false) {
        this.hashes.forget(upload.id);
        // Unknown: bytes a row may point at stay, for the orphan sweep, which checks.
        if (committed === true) await this.deleteKeys(leftovers);
        throw serviceError(error);
      }
      const refused = isAttachmentsException(error) && error.getStatus() < 500;
      const unknown = error instanceof DatabaseFailure ? error.mayHaveWritten : !isAttachmentsException(error);
      if (!unknown) {
        await this.discard(strategy, upload, written);
        await this.deleteKeys(made);
      }
      if (refused) await this.removeUpload(upload.id);
      throw serviceError(error);
    }
  }

  /** Whether the upload is marked finished in the database (its finish committed), if that can be told. */
  private finishCommitted(id: string): Promise<boolean | 'unknown'> {
    return this.records.isFinished(id).catch(() => 'unknown' as const);
  }

  /** Whether the upload's row is gone (terminated, swept); false when that cannot be told. */
  private removedMeanwhile(id: string): Promise<boolean> {
    return this.records.exists(id).then(
      (exists) => !exists,
      () => false,
    );
  }

  /** Deletes an upload's row and then its bytes (best effort: the orphan sweep takes the rest). */
  private async removeUpload(id: string): Promise<void> {
    this.hashes.forget(id);
    const keys = await this.records.remove(id).catch(rethrowServiceError);
    await this.deleteKeys(keys ?? []);
  }

  private async discard(strategy: UploadBytes, upload: UploadRow, written: WrittenBytes): Promise<void> {
    await strategy.discard(upload, written).catch((error: unknown) => {
      this.logger.warn(`Could not delete the bytes of a PATCH that did not count; the orphan sweep will: ${String(error)}`);
    });
  }

  private async deleteKeys(keys: string[]): Promise<void> {
    const results = await Promise.allSettled([...new Set(storedKeys(keys))].map((key) => this.storage.delete(key)));
    for (const result of results) {
      if (result.status === 'rejected')
        this.logger.warn(`Could not delete an upload's bytes; the orphan sweep will: ${String(result.reason)}`);
    }
  }

  /** Uploads untouched since before this are stale: gone for the client, the sweep's to remove. */
  private liveSince(): number {
    return Date.now() - this.options.resumableExpireAfter;
  }
}

/** A PATCH or finish whose upload was terminated or swept while it ran. */
function uploadRemoved(): AttachmentsException {
  return AttachmentsException.create('upload_not_found', 'it was removed meanwhile');
}

/** Most uploads whose running hash this process keeps (a few hundred bytes each). */
const MAX_RUNNING_HASHES = 10_000;

/** Most parts one upload may have (tus clients send a few, of megabytes each). */
const MAX_PARTS = 10_000;

/** Where a PATCH would end if it brought what it declared (the last one may always come). */
function declaredEnd(upload: UploadRow, declaredLength: number | undefined): number {
  return declaredLength === undefined ? upload.offset : upload.offset + declaredLength;
}

/** Upload ids are UUIDs: anything else is no upload, without asking the database. */
const UPLOAD_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Counts the bytes flowing to whoever consumes `stream` and destroys it with `tooLarge()` past
 * `maxBytes` (the consumer then fails with it). Listens rather than adding a stage, as ByteMeter.
 */
function watchLimit(stream: Readable, maxBytes: number, tooLarge: () => Error): void {
  let counted = 0;
  stream.on('data', (chunk: Buffer) => {
    counted += chunk.byteLength;
    if (counted > maxBytes) stream.destroy(tooLarge());
  });
  stream.pause();
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
