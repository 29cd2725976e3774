import type { Readable } from 'node:stream';
import type { ByteSource } from './storage/attachment-storage.js';

/** An attachment as the service hands it out. */
export interface Attachment {
  bundle: string;
  name: string;
  mimetype: string;
  size: number;
  sha256: string;
  created: Date;
  updated: Date;
}

/**
 * A bundle's entry as the list route reads it: times as epoch milliseconds, no `Date` per row
 * (the route writes them straight into its JSON). Not part of the public API.
 * @internal
 */
export interface ListedAttachment {
  name: string;
  mimetype: string;
  size: number;
  sha256: string;
  createdAt: number;
  updatedAt: number;
}

/** A file on its way in: what the client called it and its bytes. */
export interface IncomingFile {
  name: string;
  content: ByteSource;
}

/** An attachment opened for reading. The caller must consume or destroy `stream`. */
export interface OpenedAttachment {
  attachment: Attachment;
  stream: Readable;
}

/** Bytes a download asks for; inclusive, as in an HTTP Range header. */
export interface ReadRange {
  start: number;
  end: number;
}
