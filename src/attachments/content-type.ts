import { fileTypeFromBuffer, supportedMimeTypes } from 'file-type';
import mime from 'mime-types';
import { extname } from 'node:path';

/** What we call a file whose type nothing reveals (RFC 2046), not the original's `octet/stream`. */
export const UNKNOWN_TYPE = 'application/octet-stream';

/** How many leading bytes the content sniffing needs (file-type's documented sample size). */
export const SNIFF_BYTES = 4100;

/**
 * The media type of an uploaded file, decided so that host code can trust it:
 *
 * 1. Markup is recognised from the content, whatever the name: after an optional UTF-8 BOM,
 *    whitespace and `<!-- -->` comments, `<svg` (or an `<?xml` / `<!DOCTYPE svg` prologue
 *    before an `<svg` root) is `image/svg+xml`; `<!DOCTYPE html`, `<html` or a common HTML tag
 *    (`<script`, `<body`, `<div`, … the WHATWG sniffing list) is `text/html`, and so is a
 *    leading comment before anything else; any other `<?xml` is `application/xml`.
 * 2. Otherwise the content's magic numbers decide (file-type).
 * 3. Otherwise the extension may name the type only if that type has no signature of its own
 *    (file-type cannot detect it), is not markup, and is textual (`text/*`, `application/json`,
 *    `+json`), and only if the sniffed head really is text: valid UTF-8 (a character cut at the
 *    end of the head allowed) without the bytes WHATWG calls binary (NUL and the C0 controls
 *    other than tab, line feed, form feed, carriage return and escape).
 * 4. Anything else is `application/octet-stream`.
 *
 * So an HTML page named `evil.pdf` is `text/html`, a `.pdf` without PDF magic or a `.txt` that
 * holds binary is `application/octet-stream`. The type the client declared is never used.
 */
export async function detectType(head: Uint8Array, name: string): Promise<string> {
  const sample = head.subarray(0, SNIFF_BYTES);
  const markup = markupType(sample);
  if (markup) return markup;
  const sniffed = await fileTypeFromBuffer(sample);
  if (sniffed) return sniffed.mime;
  // extname, not the whole name: mime-types would take a bare `json` or `txt` for an extension.
  const extension = extname(name);
  const named = extension ? mime.lookup(extension) : false;
  if (named && mayBeNamedByExtension(named) && isText(sample)) return named;
  return UNKNOWN_TYPE;
}

/**
 * Whether `type` matches one of `allowed`: exact types, or `image/*` style wildcards. A
 * wildcard never matches a markup type (HTML, SVG, XML can carry script): `image/svg+xml` is
 * accepted only when listed exactly.
 */
export function isAllowedType(type: string, allowed: readonly string[] | undefined): boolean {
  if (!allowed) return true;
  return allowed.some((pattern) =>
    pattern.endsWith('/*') ? !isMarkupType(type) && type.startsWith(pattern.slice(0, -1)) : type === pattern,
  );
}

/** HTML, SVG and every XML type: formats that a browser may render, and that can run script. */
function isMarkupType(type: string): boolean {
  return MARKUP_TYPES.has(type) || type.endsWith('+xml');
}

const MARKUP_TYPES = new Set(['text/html', 'text/xml', 'application/xml', 'text/xsl', 'application/xslt+xml']);

function mayBeNamedByExtension(type: string): boolean {
  const textual = type.startsWith('text/') || type === 'application/json' || type.endsWith('+json');
  return textual && !isMarkupType(type) && !supportedMimeTypes.has(type);
}

// The tags WHATWG MIME sniffing (7.1, "identifying a resource with an unknown MIME type") takes
// for HTML, each followed by a space or `>` (its `<!--` is handled with the comments).
const HTML_START = /^<(?:!doctype\s+html|html|head|script|iframe|h1|div|font|table|a|style|title|b|body|br|p)[\s>]/i;
const SVG_ROOT = /<svg[\s>/]/i;
const XML_PROLOGUE = /^<\?xml[\s?]/i;
const SVG_DOCTYPE = /^<!doctype\s+svg[\s>]/i;

/** The bytes whose latin1 characters String.prototype.trimStart removes. */
const LATIN1_WHITESPACE: ReadonlySet<number> = new Set([0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x20, 0xa0]);

function markupType(head: Uint8Array): string | undefined {
  let start = 0;
  if (head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf) start = 3;
  // Every markup answer below needs a `<` first after the whitespace that trimStart skips (of
  // a latin1 string: tab, LF, VT, FF, CR, space, NBSP). Most uploads are not markup: they are
  // answered here without making a string of their whole head.
  let first = start;
  while (first < head.byteLength && LATIN1_WHITESPACE.has(head[first]!)) first += 1;
  if (head[first] !== 0x3c) return undefined;
  // From the `<` on: what trimStart would have skipped is skipped already.
  const text = Buffer.from(head.buffer, head.byteOffset, head.byteLength).toString('latin1', first);
  // Comments before the root tell nothing (an SVG may start with one), but a browser takes a
  // leading comment for HTML: that is the answer when nothing more telling follows.
  let rest = text;
  let commented = false;
  while (rest.startsWith('<!--')) {
    const end = rest.indexOf('-->');
    if (end < 0) return 'text/html';
    rest = rest.slice(end + 3).trimStart();
    commented = true;
  }
  if (/^<svg[\s>/]/i.test(rest)) return 'image/svg+xml';
  if (XML_PROLOGUE.test(rest) || SVG_DOCTYPE.test(rest)) {
    if (SVG_ROOT.test(rest)) return 'image/svg+xml';
    if (/<html[\s>]/i.test(rest)) return 'text/html';
    return 'application/xml';
  }
  if (HTML_START.test(rest) || commented) return 'text/html';
  return undefined;
}

/** Whether the sniffed head is UTF-8 text; a multi-byte character cut by the sniff limit counts. */
function isText(head: Uint8Array): boolean {
  if (head.some(isBinaryByte)) return false;
  try {
    // `stream: true` forgives an incomplete sequence at the very end, which only the cut of a
    // longer file can produce; a complete file shorter than the head must end on a character.
    new TextDecoder('utf-8', { fatal: true }).decode(head, { stream: head.byteLength >= SNIFF_BYTES });
    return true;
  } catch {
    return false;
  }
}

/** WHATWG's binary data bytes: 0x00-0x08, 0x0B, 0x0E-0x1A, 0x1C-0x1F (never part of a UTF-8 sequence). */
function isBinaryByte(byte: number): boolean {
  return byte <= 0x08 || byte === 0x0b || (byte >= 0x0e && byte <= 0x1a) || (byte >= 0x1c && byte <= 0x1f);
}
