/**
 * Thrown by an `inspect` hook to refuse a file: the upload answers `422 file_rejected` with
 * this message, so write it for the visitor ("the file contains a virus"), not for operators.
 * Any other error from the hook means the inspection could not be done (503, retry).
 */
export class AttachmentRejected extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AttachmentRejected';
  }
}
