import { Inject, Injectable, Logger, type BeforeApplicationShutdown } from '@nestjs/common';
import type { Readable } from 'node:stream';
import type { EntityManager } from 'typeorm';
import type { Attachment, IncomingFile, ListedAttachment, OpenedAttachment, ReadRange } from './attachment.js';
import type { AttachmentEntity } from './attachment.entity.js';
import { RESOLVED_ATTACHMENTS_OPTIONS } from './attachments.tokens.js';
import { refusalError, rethrowServiceError, serviceError } from './service-errors.js';
import { AttachmentsException, isAttachmentsException } from './attachments.errors.js';
import type { ResolvedAttachmentsOptions } from './attachments.options.js';
import { ByteMeter, type ByteLimit } from './byte-meter.js';
import { asReadable, inlineStream, isInlineKey, newInlineKey, readPrefix, storedKeys } from './inline-content.js';
import { detectType, isAllowedType, SNIFF_BYTES } from './content-type.js';
import { inspectStoredFile } from './inspection/inspect-stored-file.js';
import { assertBundleId, fileNameFromUrl, normalizeFileName } from './names.js';
import { withSecondLookUp } from './second-look-up.js';
import { AttachmentRecords, type AttachmentRow } from './persistence/attachment-records.js';
import { DatabaseFailure } from './persistence/database-failure.js';
import type { QuotaRefusal } from './persistence/quotas.js';
import type { NewAttachmentRow, UpsertResult } from './persistence/upsert.js';
import type { OwnerKey } from './owner.js';
import { PreviewRecords } from './previews/preview-records.js';
import { AttachmentStorage, InjectAttachmentStorage } from './storage/attachment-storage.js';

/** An attachment with what only the module itself needs to read it. */
export interface StoredAttachment extends Attachment {
  storageKey: string;
  /** The bytes, for a small file that travels with its row; null when the storage holds them. */
  content: Buffer | null;
}

/** Receives each file of a bundle being taken; the bundle is removed only if every call succeeds. */
export type TakeHandler = (file: OpenedAttachment) => Promise<void>;

/**
 * The domain: save, list, open, remove, clear, take, adopt. Every method is scoped by the
 * owner's key (the visitor's session key, or the host's `owner`). Bytes go to storage before rows go to the database, and replaced or removed
 * bytes are deleted only after the rows have committed: a crash leaves at worst an orphan
 * blob (which the sweep removes), never a row without its bytes.
 */
@Injectable()
export class AttachmentsService implements BeforeApplicationShutdown {
  private readonly logger = new Logger('Attachments');
  /** Deletions of replaced bytes that an answer did not wait for (see `deleteReplaced`). */
  private readonly replacedDeletions = new Set<Promise<void>>();

  constructor(
    private readonly records: AttachmentRecords,
    @InjectAttachmentStorage() private readonly storage: AttachmentStorage,
    @Inject(RESOLVED_ATTACHMENTS_OPTIONS) private readonly options: ResolvedAttachmentsOptions,
    private readonly previews: PreviewRecords,
  ) {}

  /**
   * Stores every file of one request into a bundle, all or nothing. A file whose name is
   * already in the bundle replaces it; a name given twice in one request keeps the last.
   */
  async save(owner: OwnerKey, bundle: string, files: AsyncIterable<IncomingFile>): Promise<Attachment[]> {
    assertBundleId(bundle);
    const staged = new Map<string, NewAttachmentRow>();
    const written: string[] = [];
    try {
      for await (const file of files) {
        const row = await this.place(owner, bundle, staged, file, written);
        // Placed but not yet visible: a refusal or a failure here leaves nothing behind.
        if (this.options.inspect) {
          const { storageKey: _key, content, ...shown } = row;
          const bytes = content
            ? inlineStream(Buffer.from(content.buffer, content.byteOffset, content.byteLength))
            : await this.storage.read(row.storageKey);
          await inspectStoredFile(this.options.inspect, this.options.inspectTimeout, shown, bytes);
        }
        staged.set(row.name, row);
      }
      if (staged.size === 0) throw AttachmentsException.create('no_files');
    } catch (error) {
      await this.deleteBlobs(written);
      throw serviceError(error);
    }
    const rows = [...staged.values()];
    const rowKeys = new Set(rows.map((row) => row.storageKey));
    // Earlier copies of a name sent twice in this request: no row ever points at them.
    const superseded = written.filter((key) => !rowKeys.has(key));
    let result: UpsertResult | QuotaRefusal;
    try {
      result = await this.records.upsert(owner, bundle, rows, this.options.limits, { adoptedSince: this.adoptionsSince() });
    } catch (error) {
      // When the write's outcome is unknown (the connection broke after the server may have
      // committed), rows may point at these bytes: they stay, and the orphan sweep, which
      // checks references, removes them if no row does.
      const mayHaveWritten = !(error instanceof DatabaseFailure) || error.mayHaveWritten;
      await this.deleteBlobs(mayHaveWritten ? superseded : written);
      throw serviceError(error);
    }
    if (typeof result === 'string') {
      await this.deleteBlobs(written);
      throw refusalError(result, this.options.limits);
    }
    // The superseded copies never had a row, so no preview was made of them.
    this.deleteReplaced([...result.replacedKeys, ...superseded], result.removedPreviews);
    await this.followAdoption(owner, result.adoptedInto);
    return result.saved.map(toAttachment);
  }

  /**
   * Not for host code: the last step of a resumable upload, whose bytes are already stored
   * (`row`). The same rules as `save` for one file (inspection, quotas, same name replaces),
   * through the same upsert, with `first` (the upload marking itself finished) in its
   * transaction. Throws the plain upload's errors; deletes the bytes it replaced.
   * @internal
   */
  async commitUpload(
    owner: OwnerKey,
    bundle: string,
    row: NewAttachmentRow,
    first: (manager: EntityManager) => Promise<void>,
  ): Promise<Attachment> {
    if (this.options.inspect) {
      const { storageKey: _key, content, ...shown } = row;
      const bytes = content
        ? inlineStream(Buffer.from(content.buffer, content.byteOffset, content.byteLength))
        : await this.storage.read(row.storageKey);
      await inspectStoredFile(this.options.inspect, this.options.inspectTimeout, shown, bytes);
    }
    const result = await this.records.upsert(owner, bundle, [row], this.options.limits, { first }).catch(rethrowServiceError);
    if (typeof result === 'string') throw refusalError(result, this.options.limits);
    this.deleteReplaced(result.replacedKeys, result.removedPreviews);
    await this.followAdoption(owner);
    return toAttachment(result.saved[0]!);
  }

  /**
   * Reads one file, checks its type and size while it streams, and places it: a file of at
   * most `inlineMaxSize` bytes travels with its row (kept in memory until the commit), a
   * larger one goes to the storage (its key is pushed to `written` as soon as it exists).
   * The type is decided from the first bytes, before any byte reaches the storage.
   */
  private async place(
    owner: OwnerKey,
    bundle: string,
    staged: Map<string, NewAttachmentRow>,
    file: IncomingFile,
    written: string[],
  ): Promise<NewAttachmentRow> {
    const name = normalizeFileName(file.name);
    const { inlineMaxSize } = this.options;
    const meter = new ByteMeter({
      // The session quota caps the file too, so both are enforced while streaming: from
      // what this request has staged at once, and from what the session already holds once
      // the file is big enough for the look-up to pay (the exact check runs at commit).
      limit: this.fileLimit(this.options.limits.bytesPerSession - stagedBytes(staged, name)),
      recheck: {
        afterBytes: QUOTA_LOOKUP_AFTER_BYTES,
        limit: async () => this.fileLimit(await this.remainingQuota(owner, bundle, name, staged)),
      },
    });
    const source = asReadable(file.content);
    const prefix = await readPrefix(source, Math.max(inlineMaxSize + 1, SNIFF_BYTES));
    const { head } = prefix;
    // A file already too large within the sniffed bytes fails as too large, as it would have
    // while streaming; the type is checked before any byte is stored.
    if (head.byteLength > meter.limitBytes && meter.limitBytes < SNIFF_BYTES) meter.feed(head);
    const mimetype = await detectType(head, name);
    if (!isAllowedType(mimetype, this.options.allowedTypes)) {
      throw AttachmentsException.create('type_not_allowed', `${mimetype} is not accepted here`);
    }
    // Decided now, after the awaits, and acted on before the next one (see Prefix.ended).
    const { ended } = prefix;
    if (ended && inlineMaxSize > 0 && head.byteLength <= inlineMaxSize) {
      meter.feed(head);
      await meter.verdict();
      return { name, mimetype, size: meter.size, sha256: meter.sha256(), storageKey: newInlineKey(), content: head };
    }
    let bytes: Readable;
    if (ended) {
      meter.feed(head);
      bytes = inlineStream(head);
    } else {
      source.unshift(head);
      meter.watch(source);
      bytes = source;
    }
    const { key } = await this.storage.write(bytes);
    written.push(key);
    if (isInlineKey(key)) throw new Error(`the AttachmentStorage returned the key "${key}", which marks inline rows`);
    await meter.verdict();
    return { name, mimetype, size: meter.size, sha256: meter.sha256(), storageKey: key, content: null };
  }

  /** The bundle's attachments, sorted by name; empty for an unknown bundle. */
  async list(owner: OwnerKey, bundle: string): Promise<Attachment[]> {
    const attachments: Attachment[] = [];
    await this.visitEntries(owner, bundle, (entry) =>
      attachments.push({
        bundle,
        name: entry.name,
        mimetype: entry.mimetype,
        size: entry.size,
        sha256: entry.sha256,
        created: new Date(entry.createdAt),
        updated: new Date(entry.updatedAt),
      }),
    );
    return attachments;
  }

  /**
   * Not for host code (use `list`): the same entries in the same order, with their times as
   * numbers, handed to `visit` one at a time, for the list route, which writes its JSON
   * straight from them and keeps none.
   * @internal
   */
  async visitEntries(owner: OwnerKey, bundle: string, visit: (entry: ListedAttachment) => void): Promise<void> {
    assertBundleId(bundle);
    await this.records.visitAttachments(owner, bundle, visit).catch(rethrowServiceError);
  }

  /** One attachment with its storage key; `not_found` when it is missing or someone else's. */
  async find(owner: OwnerKey, bundle: string, name: string): Promise<StoredAttachment> {
    assertBundleId(bundle);
    const row = await this.records.find(owner, bundle, fileNameFromUrl(name)).catch(rethrowServiceError);
    if (!row) throw AttachmentsException.create('not_found');
    return { ...toAttachment(row), storageKey: row.storageKey, content: row.content };
  }

  /** The bytes of an attachment found with `find`, whole or a range. */
  async read(attachment: StoredAttachment, range?: ReadRange): Promise<Readable> {
    if (attachment.content) return inlineStream(attachment.content, range);
    try {
      return await this.storage.read(attachment.storageKey, range);
    } catch (error) {
      // Replaced or removed between the look-up and the read.
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw AttachmentsException.create('not_found');
      throw error;
    }
  }

  /**
   * Looks the name up and reads what `wanted` asks of the attachment found: a range, the whole
   * file (undefined), or nothing (null: a 304, a HEAD). A replace or delete that commits between
   * the look-up and the read takes the old bytes away: the name is then looked up once more,
   * and answers with what it now is (or `not_found`). `wanted` may throw (a range outside the
   * file). The caller must consume or destroy the stream.
   * @internal
   */
  async findAndRead(
    owner: OwnerKey,
    bundle: string,
    name: string,
    wanted: (attachment: StoredAttachment) => ReadRange | undefined | null,
  ): Promise<{ attachment: StoredAttachment; body: Readable | undefined }> {
    return withSecondLookUp(
      () => this.find(owner, bundle, name),
      async (attachment) => {
        const range = wanted(attachment);
        return { attachment, body: range === null ? undefined : await this.read(attachment, range) };
      },
    );
  }

  /** An attachment and a stream of its bytes. The caller must consume or destroy the stream. */
  async open(owner: OwnerKey, bundle: string, name: string): Promise<OpenedAttachment> {
    const { attachment, body } = await this.findAndRead(owner, bundle, name, () => undefined);
    return { attachment: withoutStorageKey(attachment), stream: body! };
  }

  /** Removes one attachment; `not_found` when it is missing or someone else's. */
  async remove(owner: OwnerKey, bundle: string, name: string): Promise<void> {
    assertBundleId(bundle);
    const key = await this.records.remove(owner, bundle, fileNameFromUrl(name)).catch(rethrowServiceError);
    if (key === undefined) throw AttachmentsException.create('not_found');
    await this.deleteBlobs([key]);
  }

  /** Removes every attachment of the bundle (nothing to remove is not an error). */
  async clear(owner: OwnerKey, bundle: string): Promise<void> {
    assertBundleId(bundle);
    await this.deleteBlobs(await this.records.clear(owner, bundle).catch(rethrowServiceError));
  }

  /**
   * Hands each attachment of the bundle to `handler`, in name order, then removes them. If the
   * handler throws, nothing is removed and the error propagates: the visitor can submit again.
   * A file replaced while the handler ran is not removed (its new content was never handed);
   * one replaced or removed before its turn, whose old bytes are gone by then, is skipped (not
   * in the list returned) rather than failing the take.
   *
   * Each file is handed over once, however many takes of the bundle run at once (a double
   * submit): a take first claims the files no other take holds, and hands over only those.
   * A second take that finds every file claimed hands nothing and resolves to an empty list,
   * as for an empty bundle: the files are on their way in the first one, and an error would
   * tell the visitor that sending failed when it has not. A failed take releases its claim;
   * a claim older than `uploadTimeout` (a process that died mid-take) may be taken again.
   */
  async take(owner: OwnerKey, bundle: string, handler: TakeHandler): Promise<Attachment[]> {
    assertBundleId(bundle);
    const now = Date.now();
    const { claim, rows } = await this.records
      .claim(owner, bundle, now, now - this.options.uploadTimeout)
      .catch(rethrowServiceError);
    if (rows.length === 0) return [];
    const ids = rows.map((row) => row.id);
    const handed: AttachmentEntity[] = [];
    try {
      for (const row of rows) {
        const stream = await this.readClaimed(claim, row);
        // Replaced or removed since the claim, its old bytes gone: no longer this take's.
        if (stream === undefined) continue;
        try {
          await handler({ attachment: toAttachment(row), stream });
        } finally {
          stream.destroy();
        }
        handed.push(row);
      }
    } catch (error) {
      await this.records.releaseClaim(owner, claim, ids).catch((releaseError: unknown) => {
        // The claim goes stale after uploadTimeout; until then these files wait.
        this.logger.warn(`Could not release the claim of a failed take: ${String(releaseError)}`);
      });
      throw error;
    }
    await this.deleteBlobs(await this.records.removeClaimed(owner, claim, ids).catch(rethrowServiceError));
    return handed.map(toAttachment);
  }

  /**
   * The bytes of a row a take claimed, or undefined when the row no longer holds the claim:
   * the visitor uploaded that name again (the new file stays for the next take) or removed
   * it, after the claim and before the row's turn. A row that still holds the claim and has
   * no bytes is `not_found`, as a download of it is.
   */
  private async readClaimed(claim: string, row: AttachmentRow): Promise<Readable | undefined> {
    // Asked before the read: a stored file's old bytes may outlive its replace for a while (their
    // deletion runs after the replace's answer), and a small file's came with the claimed row.
    if (!(await this.records.holdsClaim(claim, row.id).catch(rethrowServiceError))) return undefined;
    try {
      return await this.read({ ...toAttachment(row), storageKey: row.storageKey, content: row.content });
    } catch (error) {
      // Replaced between the question and the read, its old bytes gone already: skipped as well.
      if (!isAttachmentsException(error, 'not_found')) throw error;
      if (await this.records.holdsClaim(claim, row.id).catch(rethrowServiceError)) throw error;
      return undefined;
    }
  }

  /**
   * Moves every attachment of `from` (an anonymous session's key) to `into` (the signed-in
   * user), in one transaction that holds both owners' locks. Where both hold a bundle's name,
   * the newer file (by `updated`) wins, on a tie the one `into` already had; the loser's bytes
   * are deleted after the commit. Never refused by `into`'s quotas: the files are the user's own
   * already. A file a `take()` is handing over moves with its claim, so that take still removes
   * it when it succeeds. An upload to `from` that was still arriving commits after this and then
   * follows it to `into` (within `orphanGracePeriod`, which outlasts any upload). Unfinished
   * resumable uploads move too, and a bundle then keeps at most `limits.filesPerBundle` live
   * ones, as a creation would: the least recently written beyond that are removed, their bytes
   * after the commit (their clients get 404). Returns the attachments that moved.
   */
  async adopt(from: OwnerKey, into: OwnerKey): Promise<Attachment[]> {
    if (from === into) return [];
    const now = Date.now();
    const { moved, discardedKeys, droppedUploadKeys } = await this.records
      .adopt(from, into, now, now - this.options.orphanGracePeriod, {
        filesPerBundle: this.options.limits.filesPerBundle,
        liveSince: now - this.options.resumableExpireAfter,
      })
      .catch(rethrowServiceError);
    // After the commit, as every deletion of bytes: an unfinished upload's have no previews.
    await Promise.all([this.deleteBlobs(discardedKeys), this.deleteBlobs(droppedUploadKeys, [])]);
    return moved.map(toAttachment);
  }

  /**
   * An upload that committed to an owner adopted meanwhile moves on to its adopter. `known` is
   * the first step when the write answered it already (null: not adopted), saving a query.
   */
  private async followAdoption(owner: OwnerKey, known?: string | null): Promise<void> {
    let from = owner;
    // Adoptions chain only when a user's key is adopted again (rare); a few steps cover it.
    for (let step = 0; step < 4; step += 1) {
      const into =
        step === 0 && known !== undefined
          ? (known ?? undefined)
          : await this.records.adopterOf(from, this.adoptionsSince()).catch(rethrowServiceError);
      if (into === undefined) return;
      await this.adopt(from, into as OwnerKey);
      from = into as OwnerKey;
    }
  }

  /** Adoptions are remembered for the orphan grace period: an upload cannot take longer. */
  private adoptionsSince(): number {
    return Date.now() - this.options.orphanGracePeriod;
  }

  /**
   * Bytes the file `name` may still add to the session, counting what this request has staged.
   * The file it would replace (of that name in the bundle, held or staged) is left out, as the
   * commit leaves it out: a new version of a large file needs no room for both. The exact check
   * runs again, under the session's lock, when the rows are written.
   */
  private async remainingQuota(
    owner: OwnerKey,
    bundle: string,
    name: string,
    staged: Map<string, NewAttachmentRow>,
  ): Promise<number> {
    const held = await this.records.bytesHeldBeside(owner, bundle, name).catch(rethrowServiceError);
    return Math.max(0, this.options.limits.bytesPerSession - held - stagedBytes(staged, name));
  }

  /** The per-file limit, or the session's remaining quota when that is smaller. */
  private fileLimit(remainingQuota: number): ByteLimit {
    const { fileSize, bytesPerSession } = this.options.limits;
    return remainingQuota < fileSize
      ? {
          maxBytes: Math.max(0, remainingQuota),
          tooLarge: () => AttachmentsException.create('session_quota_exceeded', `at most ${bytesPerSession} bytes per session`),
        }
      : {
          maxBytes: fileSize,
          tooLarge: () => AttachmentsException.create('file_too_large', `at most ${fileSize} bytes per file`),
        };
  }

  /**
   * Deletes the bytes an upload replaced without making its answer wait: no row points at them
   * any more (the same commit that stored the new file let go of them), so no reader can reach
   * them, and their deletion is housekeeping. Awaiting it cost the uploader the unlink of the
   * old file, which the kernel spends freeing its pages and blocks: 21 ms for 64 MiB, 340 ms
   * for 1 GiB on the bench's machine, as long as a fifth of the upload itself. Explicit
   * deletions (remove, clear, take) still answer only once the bytes are gone. Deletions still
   * running when the app shuts down are awaited; one a crash interrupts leaves an orphan for
   * the sweep, as a failed deletion does.
   */
  private deleteReplaced(keys: string[], removedPreviews: string[] | undefined): void {
    if (keys.length === 0 && !removedPreviews?.length) return;
    const deletion: Promise<void> = this.deleteBlobs(keys, removedPreviews)
      .catch((error: unknown) => this.logger.warn(`Could not delete replaced files; the orphan sweep will: ${String(error)}`))
      .finally(() => this.replacedDeletions.delete(deletion));
    this.replacedDeletions.add(deletion);
  }

  /**
   * Not for host code: settles once every deletion of replaced bytes started so far has (for
   * tests that look at the storage right after a replacing upload).
   * @internal
   */
  async replacedDeleted(): Promise<void> {
    await Promise.all(this.replacedDeletions);
  }

  /** At shutdown, before the database connection closes: the deletions still running finish. */
  async beforeApplicationShutdown(): Promise<void> {
    await this.replacedDeleted();
  }

  /**
   * Best effort: a blob that cannot be deleted now is an orphan the sweep removes later. The
   * previews made of these blobs go with them (a preview left behind is the sweep's too):
   * `removedPreviews` when the write that let go of the blobs removed their preview rows
   * already, else looked up and removed here.
   */
  private async deleteBlobs(keys: string[], removedPreviews?: string[]): Promise<void> {
    const previews =
      removedPreviews ??
      (this.options.previews && keys.length > 0
        ? await this.previews.removeForSources(keys).catch((error: unknown) => {
            this.logger.warn(`Could not remove previews; the sweep will: ${String(error)}`);
            return [];
          })
        : []);
    const results = await Promise.allSettled(storedKeys([...keys, ...previews]).map((key) => this.storage.delete(key)));
    for (const result of results) {
      if (result.status === 'rejected')
        this.logger.warn(`Could not delete a blob; the orphan sweep will: ${String(result.reason)}`);
    }
  }
}

/**
 * Below this size a file is written without first reading the session's usage: a small file
 * that overruns the quota is refused at commit, and its bytes deleted, at no more cost than the
 * look-up would have had.
 */
const QUOTA_LOOKUP_AFTER_BYTES = 1024 * 1024;

/** What this request has staged, without an earlier copy of `name` (the file supersedes it). */
function stagedBytes(staged: Map<string, NewAttachmentRow>, name: string): number {
  let total = 0;
  for (const row of staged.values()) if (row.name !== name) total += row.size;
  return total;
}

function toAttachment(row: AttachmentEntity): Attachment {
  return {
    bundle: row.bundle,
    name: row.name,
    mimetype: row.mimetype,
    size: row.size,
    sha256: row.sha256,
    created: new Date(row.createdAt),
    updated: new Date(row.updatedAt),
  };
}

function withoutStorageKey({ storageKey: _key, content: _content, ...attachment }: StoredAttachment): Attachment {
  return attachment;
}
