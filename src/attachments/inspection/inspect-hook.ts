import type { Readable } from 'node:stream';

/** What an `inspect` hook is shown of one uploaded file, its bytes already stored. */
export interface InspectedFile {
  /** The name as it will be stored (normalized). */
  name: string;
  /** The media type detected from the content. */
  mimetype: string;
  size: number;
  sha256: string;
  /** The stored bytes, from the start. The module destroys it once the hook settles. */
  stream: Readable;
}

/**
 * Resolves to accept the file; throws `AttachmentRejected` to refuse it (422), anything else
 * when it cannot decide (503). `signal` aborts when `inspectTimeout` has passed: stop then.
 */
export type InspectHook = (file: InspectedFile, signal: AbortSignal) => Promise<void>;
