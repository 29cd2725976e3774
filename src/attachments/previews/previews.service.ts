import { Inject, Injectable, Logger } from '@nestjs/common';
import { Readable } from 'node:stream';
import { AttachmentsException } from '../attachments.errors.js';
import type { ResolvedAttachmentsOptions, ResolvedPreviews } from '../attachments.options.js';
import { AttachmentsService, type StoredAttachment } from '../attachments.service.js';
import { RESOLVED_ATTACHMENTS_OPTIONS } from '../attachments.tokens.js';
import type { OwnerKey } from '../owner.js';
import { AttachmentStorage, InjectAttachmentStorage } from '../storage/attachment-storage.js';
import { StorageUnavailableError } from '../storage/storage-unavailable.js';
import { isPreviewable } from './previewable-types.js';
import { PreviewRecords } from './preview-records.js';
import { renderPreview, renderVersion } from './preview-render.js';
import { withSecondLookUp } from '../second-look-up.js';
import { SharedRuns } from './shared-runs.js';
import { Turns, TurnWaitExpired } from './turns.js';

/** What making previews needs; there is none of it in a module without previews. */
interface Making {
  previews: ResolvedPreviews;
  /**
   * Turns to read a source and run sharp on it, `previews.concurrency` at once. Each holds its
   * whole source in memory (up to the file size limit) and the decoded pixels, and occupies
   * libuv's thread pool, which the disk storage's reads and writes share: without a bound, a
   * burst of first requests for different images held every source at once (16 of 38 MB: a
   * gigabyte more). Later requests wait for a turn, holding nothing, for at most the preview's
   * time budget (then `503 preview_busy`); a preview already stored is streamed without one.
   */
  turns: Turns;
  /** How this process makes previews (see renderVersion): in their ETag and their stored identity. */
  version: string;
}

/**
 * Previews of image attachments: made with the host's sharp on the first request for a
 * (content, size), stored through the same storage, streamed from there afterwards. Hostile
 * images (decompression bombs, truncated or corrupt files) are refused from their header or
 * within the time budget, as `preview_unavailable`; they never fail the upload.
 */
@Injectable()
export class PreviewsService {
  private readonly logger = new Logger('AttachmentPreviews');
  /**
   * Previews being made in this process, so that concurrent first requests wait for one
   * sharp run instead of each making their own. Only a saving: the table's unique key decides
   * between instances. Entries leave when their preview is stored or refused, or when every
   * request waiting for it has gone while it still waited for a turn.
   */
  private readonly making = new SharedRuns<string>();
  /** Undefined without previews: nothing is made then, so no limit or version is made up for it. */
  private readonly enabled: Making | undefined;

  constructor(
    private readonly attachments: AttachmentsService,
    private readonly records: PreviewRecords,
    @InjectAttachmentStorage() private readonly storage: AttachmentStorage,
    @Inject(RESOLVED_ATTACHMENTS_OPTIONS) options: ResolvedAttachmentsOptions,
  ) {
    const { previews } = options;
    this.enabled = previews && {
      previews,
      turns: new Turns(previews.concurrency, previews.timeoutSeconds * 1000),
      version: renderVersion(previews.sharp),
    };
  }

  /**
   * What names the bytes of this attachment's preview at `size`, for its ETag: the content, the
   * size and how previews are made here, so that a new sharp or recipe is not answered `304`.
   */
  validatorOf(attachment: StoredAttachment, size: number): string {
    return `${attachment.sha256}-${size}-${this.requireEnabled().version}`;
  }

  /** The attachment a preview is asked of; `not_found` for someone else's, `no_preview` for a non-image. */
  async find(owner: OwnerKey, bundle: string, name: string): Promise<StoredAttachment> {
    const attachment = await this.attachments.find(owner, bundle, name);
    this.requireEnabled();
    if (!isPreviewable(attachment.mimetype)) throw AttachmentsException.create('no_preview', 'it is not an image');
    return attachment;
  }

  /**
   * Looks the name up and opens the preview, at `size`, of the attachment found, or nothing
   * when `wanted` says its bytes are not needed (a 304). A replace or delete that commits
   * between the look-up and the making of the preview takes the old bytes (and any preview of
   * them) away: the name is then looked up once more, and answers with what it now is (or
   * `not_found`), as a download does. The caller must consume or destroy the stream. When
   * `gone` aborts (the client went away) while the preview waits for a turn, the wait ends at
   * once with its reason.
   */
  async findAndOpen(
    owner: OwnerKey,
    bundle: string,
    name: string,
    size: number,
    wanted: (attachment: StoredAttachment) => boolean,
    gone?: AbortSignal,
  ): Promise<{ attachment: StoredAttachment; body: Readable | undefined }> {
    return withSecondLookUp(
      () => this.find(owner, bundle, name),
      async (attachment) => ({
        attachment,
        body: wanted(attachment) ? await this.open(attachment, size, gone) : undefined,
      }),
    );
  }

  /** The stored preview's bytes, made first when this is the first request for it. */
  async open(attachment: StoredAttachment, size: number, gone?: AbortSignal): Promise<Readable> {
    // A stored preview whose bytes went missing (deleted by hand, a lost disk) is made again once.
    for (let attempt = 0; ; attempt += 1) {
      const stored = await this.records.find(attachment.sha256, size, this.requireEnabled().version);
      const key = stored ?? (await this.makeOnce(attachment, size, gone));
      try {
        return await this.storage.read(key);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || attempt > 0) throw error;
        await this.records.forget(key);
      }
    }
  }

  private makeOnce(attachment: StoredAttachment, size: number, gone: AbortSignal | undefined): Promise<string> {
    const id = `${attachment.sha256}:${size}`;
    return this.making.join(id, (abandoned) => this.make(attachment, size, abandoned), gone);
  }

  /**
   * Makes, stores and records a preview; returns the storage key of the one that counts.
   * `abandoned` aborts when no request waits for it any more: it then leaves the turns' queue.
   */
  private async make(attachment: StoredAttachment, size: number, abandoned: AbortSignal): Promise<string> {
    const { previews, turns, version } = this.requireEnabled();
    const image = await turns
      .run(async () => this.render(await this.bytesOf(attachment, previews.timeoutSeconds * 1000), size, previews), abandoned)
      .catch((error: unknown) => {
        // As a source read past the budget: retryable, and nothing is remembered of it.
        if (error instanceof TurnWaitExpired)
          throw AttachmentsException.create('preview_busy', `no turn to make it came within ${error.waitedMs} ms`, {
            cause: error,
          });
        throw error;
      });
    const { key } = await this.storage.write(Readable.from([image]));
    const recorded = await this.records
      .record({ sha256: attachment.sha256, size, version, sourceKey: attachment.storageKey, storageKey: key })
      .catch(async (error: unknown) => {
        await this.deleteBlob(key);
        throw error;
      });
    if (recorded.stored) return key;
    await this.deleteBlob(key);
    // Another instance was first, or the attachment was removed or replaced meanwhile.
    if (recorded.existing === undefined) throw AttachmentsException.create('not_found');
    return recorded.existing;
  }

  /** A hostile image (a bomb, truncated, corrupt, too slow to decode) is `preview_unavailable`. */
  private async render(input: Buffer, size: number, previews: ResolvedPreviews): Promise<Buffer> {
    try {
      return await renderPreview(previews, input, size);
    } catch (error) {
      this.logger.debug(`No preview: ${String(error)}`);
      throw AttachmentsException.create('preview_unavailable', undefined, { cause: error });
    }
  }

  /**
   * The whole attachment (sharp reads a stream into memory too; bounded by the file size limit),
   * within `budgetMs` (the preview's time budget): a read that stalls (an S3 connection that
   * stops answering) would otherwise keep its turn, and every first preview of the process
   * would wait behind it. Past the budget: `503 storage_unavailable`, retry.
   */
  private async bytesOf(attachment: StoredAttachment, budgetMs: number): Promise<Buffer> {
    const late = () => new StorageUnavailableError(`the bytes of a preview's source did not arrive within ${budgetMs} ms`);
    let stream: Readable | undefined;
    let timedOut = false;
    let expire!: (error: Error) => void;
    const deadline = new Promise<never>((_, reject) => (expire = reject));
    const timer = setTimeout(() => {
      timedOut = true;
      expire(late());
      stream?.destroy(late());
    }, budgetMs);
    const opening = this.attachments.read(attachment);
    // Opened after the budget: nobody reads it.
    opening.then(
      (opened) => timedOut && opened.destroy(),
      () => undefined,
    );
    try {
      stream = await Promise.race([opening, deadline]);
      const chunks: Buffer[] = [];
      for await (const chunk of stream) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Not for host code: previews waiting for a turn to be made (for the tests that prove the bound).
   * @internal
   */
  get waitingForTurn(): number {
    return this.enabled?.turns.waiting ?? 0;
  }

  /** What making previews needs; `no_preview` in a module without previews. */
  private requireEnabled(): Making {
    if (!this.enabled) throw AttachmentsException.create('no_preview', 'previews are not enabled');
    return this.enabled;
  }

  private async deleteBlob(key: string): Promise<void> {
    await this.storage.delete(key).catch((error: unknown) => {
      this.logger.warn(`Could not delete a preview blob; the orphan sweep will: ${String(error)}`);
    });
  }
}
