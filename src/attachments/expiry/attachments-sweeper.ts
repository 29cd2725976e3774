import { Inject, Injectable, Logger } from '@nestjs/common';
import { RESOLVED_ATTACHMENTS_OPTIONS } from '../attachments.tokens.js';
import type { ResolvedAttachmentsOptions } from '../attachments.options.js';
import { ExpiryRecords, type OutdatedRow } from '../persistence/expiry-records.js';
import { SweepLock } from '../persistence/sweep-lock.js';
import { storedKeys } from '../inline-content.js';
import { PreviewRecords } from '../previews/preview-records.js';
import { UploadRecords } from '../resumable/upload-records.js';
import { AttachmentStorage, InjectAttachmentStorage, supportsBulkDeletes } from '../storage/attachment-storage.js';

export interface RemoveOutdatedOptions {
  /** Remove attachments last written longer ago than this many milliseconds. */
  olderThan: number;
  /** Report what would go, remove nothing (in `sweep`, orphans too). */
  dryRun?: boolean;
  /** Called for each attachment removed (or, in a dry run, that would be). */
  onRemoved?: (row: OutdatedRow) => void;
  /** Called after each batch with the running count and the count there was to remove at the start. */
  onProgress?: (done: number, total: number) => void;
  /**
   * Ends the round early once aborted (the app is closing): no new batch starts, the batch
   * under way finishes (its rows, then their blobs), and the report says what went until then.
   */
  signal?: AbortSignal;
}

export interface RemovalReport {
  count: number;
  bytes: number;
  durationMs: number;
}

export interface SweepReport {
  outdated: RemovalReport;
  orphans: number;
  /** Unfinished resumable uploads removed (untouched for `resumableExpireAfter`), with their bytes. */
  uploads: number;
}

const ORPHAN_CHECK_CHUNK = 500;

/**
 * Removes what is stale: attachments not written for a while, and blobs no row references
 * (bytes whose row never committed, temporary files of interrupted uploads). Works in bounded
 * batches, each its own short transaction, and deletes a batch's blobs only after its rows
 * have gone, so uploads keep flowing during a sweep of any size.
 */
@Injectable()
export class AttachmentsSweeper {
  private readonly logger = new Logger('AttachmentsSweep');

  constructor(
    private readonly records: ExpiryRecords,
    private readonly lock: SweepLock,
    @InjectAttachmentStorage() private readonly storage: AttachmentStorage,
    @Inject(RESOLVED_ATTACHMENTS_OPTIONS) private readonly options: ResolvedAttachmentsOptions,
    private readonly previews: PreviewRecords,
    private readonly uploads: UploadRecords,
  ) {}

  /**
   * One round, scheduled or by the command: expiry (after `expireAfter` unless `outdated` says
   * otherwise), unfinished resumable uploads (after `resumableExpireAfter`) and orphans (after
   * `orphanGracePeriod`), by one instance of the cluster at a time. Resolves to undefined when
   * another instance holds the sweep lock.
   */
  async sweep(outdated: RemoveOutdatedOptions = { olderThan: this.options.expireAfter }): Promise<SweepReport | undefined> {
    return this.lock.asOnlySweeper(async () => {
      const { signal } = outdated;
      const report = await this.removeOutdated(outdated);
      const uploads = outdated.dryRun ? 0 : await this.removeStaleUploads(this.options.resumableExpireAfter, signal);
      return {
        outdated: report,
        uploads,
        orphans: await this.removeOrphans(this.options.orphanGracePeriod, outdated.dryRun ?? false, signal),
      };
    });
  }

  /**
   * Removes unfinished resumable uploads untouched for `olderThan` ms, with their bytes, and
   * forgets finished ones' records after as long (never their attachments, which expire as any
   * other). Returns how many unfinished uploads went.
   */
  async removeStaleUploads(olderThan: number, signal?: AbortSignal): Promise<number> {
    if (signal?.aborted || !(await this.uploads.isInstalled())) return 0;
    const cutoff = Date.now() - olderThan;
    let removed = 0;
    for (;;) {
      if (signal?.aborted) return removed;
      const batch = await this.uploads.expireBatch(cutoff, this.options.sweepBatchSize);
      removed += batch.unfinished;
      await this.deleteBlobs(batch.keys);
      if (batch.scanned < this.options.sweepBatchSize) return removed;
    }
  }

  async removeOutdated(options: RemoveOutdatedOptions): Promise<RemovalReport> {
    const started = performance.now();
    const cutoff = Date.now() - options.olderThan;
    // Files a take() is handing over stay to it; a claim older than uploadTimeout is stale (its
    // process died), as take() itself decides.
    const claimedSince = Date.now() - this.options.uploadTimeout;
    const total = options.onProgress ? (await this.records.countOlderThan(cutoff)).count : 0;
    let count = 0;
    let bytes = 0;
    const batchSize = this.options.sweepBatchSize;
    let last: OutdatedRow | undefined;
    // A batch's blobs are deleted while the next batch's rows are: the two wait on different
    // things (the disk, the database), and rows always go before their blobs.
    let pendingBlobs: Promise<void> = Promise.resolve();
    const previews = !options.dryRun && (await this.previews.isInstalled());
    for (;;) {
      if (options.signal?.aborted) break;
      const batch = options.dryRun
        ? await this.records.findPage(cutoff, claimedSince, last, batchSize)
        : await this.records.deleteBatch(cutoff, claimedSince, batchSize);
      await pendingBlobs;
      if (batch.length === 0) break;
      if (!options.dryRun)
        pendingBlobs = this.deleteAttachmentBlobs(
          batch.map((row) => row.storageKey),
          previews,
        );
      for (const row of batch) {
        count += 1;
        bytes += row.size;
        options.onRemoved?.(row);
      }
      last = batch.at(-1);
      options.onProgress?.(count, Math.max(total, count));
      if (batch.length < batchSize) break;
    }
    await pendingBlobs;
    return { count, bytes, durationMs: performance.now() - started };
  }

  /**
   * Deletes stored objects that no row references, once older than `gracePeriod` ms, and
   * counts them; a dry run only counts.
   */
  async removeOrphans(gracePeriod: number, dryRun = false, signal?: AbortSignal): Promise<number> {
    if (signal?.aborted) return 0;
    const cutoff = Date.now() - gracePeriod;
    let removed = 0;
    // Whether or not this process makes previews (the command does not), others may have.
    const previews = await this.previews.isInstalled();
    if (previews) {
      // Previews whose attachment went while they were being recorded: their rows go first,
      // then their blobs, like any other. A dry run counts them (their rows still reference
      // their blobs, so none is counted twice below).
      if (dryRun) {
        removed += await this.previews.countOrphaned(cutoff);
      } else {
        const stale = await this.previews.removeOrphaned(cutoff);
        await this.deleteBlobs(stale);
        removed += stale.length;
      }
    }
    // A stored preview is referenced by its row, the parts and in-place objects of resumable
    // uploads under way by theirs: all asked at once (see referencedKeys for why).
    const tables = { previews, uploads: await this.uploads.isInstalled() };
    let candidates: string[] = [];
    const flush = async () => {
      const referenced = await this.records.referencedKeys(candidates, tables);
      const orphans = candidates.filter((key) => !referenced.has(key));
      if (!dryRun) await this.deleteBlobs(orphans);
      removed += orphans.length;
      candidates = [];
    };
    for await (const object of this.storage.list()) {
      // Leaving the loop ends the listing (its iterator's return()).
      if (signal?.aborted) return removed;
      if (object.modifiedAt.getTime() >= cutoff) continue;
      candidates.push(object.key);
      if (candidates.length >= ORPHAN_CHECK_CHUNK) await flush();
    }
    if (candidates.length > 0) await flush();
    return removed;
  }

  /**
   * The bytes of removed attachments, and the previews made of them. The attachments' blobs go
   * while the previews' rows do (their own rows are gone already); the previews' blobs after
   * their rows.
   */
  private async deleteAttachmentBlobs(keys: string[], withPreviews: boolean): Promise<void> {
    const [previews] = await Promise.all([
      withPreviews
        ? this.previews.removeForSources(keys).catch((error: unknown) => {
            this.logger.warn(`Could not remove the previews of swept attachments; the orphan sweep will: ${String(error)}`);
            return [];
          })
        : [],
      this.deleteBlobs(keys),
    ]);
    if (previews.length > 0) await this.deleteBlobs(previews);
  }

  private async deleteBlobs(keys: string[]): Promise<void> {
    // Rows of small files hold their bytes themselves: nothing to delete in the storage. A
    // storage that deletes batches itself gets the batch (S3: one request per 1,000 keys);
    // another gets every key at once, so its deletes run side by side.
    const stored = storedKeys(keys);
    const failed = supportsBulkDeletes(this.storage)
      ? (await this.storage.deleteMany(stored)).length
      : (await Promise.allSettled(stored.map((key) => this.storage.delete(key)))).filter((result) => result.status === 'rejected')
          .length;
    if (failed > 0) this.logger.warn(`${failed} blob(s) could not be deleted; the orphan sweep will retry`);
  }
}
