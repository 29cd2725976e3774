import { AttachmentsException } from './attachments.errors.js';

/**
 * The one rule set for file names and bundle ids. Names are only ever data (rows, JSON,
 * Content-Disposition), never part of a path, so these rules exist for the people who read
 * names and the programs that display them, not to keep the disk safe.
 */

/** Longest file name, in UTF-8 bytes: what common file systems allow for one segment. */
export const MAX_NAME_BYTES = 255;

/** Bundle ids: ASCII letters, digits, `-`, `_` and `.`, starting with a letter or digit, 1-64 long. */
export const BUNDLE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

// C0 and C1 controls and DEL; bidirectional embeddings, overrides and isolates, which let a
// name display as something else (`invoice\u202Efdp.exe` reads as `invoiceexe.pdf`).
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const FORBIDDEN_CHARACTERS = /[\u0000-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]/u;

/**
 * The stored name of an uploaded file: the last segment of what the client sent (browsers on
 * Windows have sent full `C:\Users\...` paths), in Unicode NFC so that a name typed on macOS
 * (NFD) and on Windows (NFC) is the same attachment.
 */
export function normalizeFileName(raw: string): string {
  const lastSegment = raw.split(/[/\\]/).pop() ?? '';
  const name = lastSegment.normalize('NFC');
  assertFileName(name);
  return name;
}

/** Checks a name that arrives in a URL: it must already be in its stored form. */
export function assertFileName(name: string): void {
  if (name === '' || name === '.' || name === '..') {
    throw AttachmentsException.create('invalid_name', 'a name may not be empty, "." or ".."');
  }
  if (/[/\\]/.test(name)) {
    throw AttachmentsException.create('invalid_name', 'a name may not contain "/" or "\\"');
  }
  if (FORBIDDEN_CHARACTERS.test(name)) {
    throw AttachmentsException.create('invalid_name', 'a name may not contain control or bidirectional-override characters');
  }
  if (Buffer.byteLength(name, 'utf8') > MAX_NAME_BYTES) {
    throw AttachmentsException.create('invalid_name', `a name may be at most ${MAX_NAME_BYTES} bytes in UTF-8`);
  }
}

/** The stored form of a name from a URL: NFC, so NFD and NFC spellings find the same file. */
export function fileNameFromUrl(name: string): string {
  const normalized = name.normalize('NFC');
  assertFileName(normalized);
  return normalized;
}

export function assertBundleId(bundle: string): void {
  if (!BUNDLE_PATTERN.test(bundle)) {
    throw AttachmentsException.create(
      'invalid_bundle',
      'use 1-64 ASCII letters, digits, ".", "_" or "-", starting with a letter or digit',
    );
  }
}
