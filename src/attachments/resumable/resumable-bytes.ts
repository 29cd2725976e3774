import { Injectable } from '@nestjs/common';
import { AttachmentStorage, InjectAttachmentStorage } from '../storage/attachment-storage.js';
import { PartsBytes } from './parts-bytes.js';
import type { UploadBytes } from './upload-bytes.js';
import type { UploadRow } from './upload-records.js';

/**
 * Picks where an upload's bytes go: the strategy for a new upload, and for a stored one the
 * strategy it was created with (an upload with a `storageKey` grows in place; one without
 * has parts), so that uploads under way keep working whatever the storage offers now.
 */
@Injectable()
export class ResumableBytes {
  private readonly parts: UploadBytes;
  /** The in-place strategy, for storages with `ResumableWrites` (see `supportsResumableWrites`). */
  private readonly inPlace: UploadBytes | undefined;

  constructor(@InjectAttachmentStorage() storage: AttachmentStorage) {
    this.parts = new PartsBytes(storage);
    this.inPlace = undefined;
  }

  forNewUpload(): UploadBytes {
    return this.inPlace ?? this.parts;
  }

  of(upload: UploadRow): UploadBytes {
    if (upload.storageKey === null) return this.parts;
    if (!this.inPlace) throw new Error('This upload grows in place, and the storage in use offers no ResumableWrites');
    return this.inPlace;
  }
}
