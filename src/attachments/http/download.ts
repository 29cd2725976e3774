import { create as contentDisposition } from 'content-disposition';
import type { Request, Response } from 'express';
import { ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import rangeParser from 'range-parser';
import type { ReadRange } from '../attachment.js';
import type { StoredAttachment } from '../attachments.service.js';
import { AttachmentsException } from '../attachments.errors.js';
import { sendsItself } from '../storage/blob-file-stream.js';
import { whenConnectionGone } from './connection-gone.js';

/**
 * The response headers that make a download safe whatever the file holds: always a download
 * (never rendered inline, even for HTML or SVG), no type sniffing, a sandbox should a browser
 * render it anyway, and private to this visitor's browser cache. Only for an answer that is the
 * file (200, 206, 304): an error answer carries its own headers, not the file's.
 */
export function setDownloadHeaders(response: Response, attachment: StoredAttachment): void {
  response.setHeader('Content-Type', attachment.mimetype);
  response.setHeader('Content-Disposition', contentDisposition(attachment.name, { type: 'attachment' }));
  setSafetyHeaders(response);
  response.setHeader('ETag', `"${attachment.sha256}"`);
  response.setHeader('Last-Modified', attachment.updated.toUTCString());
  response.setHeader('Accept-Ranges', 'bytes');
}

/**
 * What every answer that carries an attachment's bytes (or a preview of them) sends: no type
 * sniffing, a sandbox should a browser render it, and private to this visitor's browser
 * cache, revalidated (a name's content changes when it is replaced).
 */
export function setSafetyHeaders(response: Response): void {
  response.setHeader('X-Content-Type-Options', 'nosniff');
  response.setHeader('Content-Security-Policy', "default-src 'none'; sandbox");
  response.setHeader('Cache-Control', 'private, no-cache');
}

/**
 * The part of the file a request asks for: undefined for the whole file (no Range header, a
 * malformed one, several ranges, or an If-Range that no longer matches); `range_not_satisfiable`
 * for a range outside the file.
 */
export function requestedRange(request: Request, attachment: StoredAttachment): ReadRange | undefined {
  const header = request.headers.range;
  if (!header || attachment.size === 0) return undefined;
  const ifRange = request.headers['if-range'];
  if (ifRange && ifRange !== `"${attachment.sha256}"`) return undefined;
  const ranges = rangeParser(attachment.size, withLongSuffixesWhole(header, attachment.size), { combine: true });
  if (ranges === -1) throw AttachmentsException.create('range_not_satisfiable');
  if (ranges === -2 || ranges.type !== 'bytes' || ranges.length !== 1) return undefined;
  return { start: ranges[0]!.start, end: ranges[0]!.end };
}

/**
 * A suffix range longer than the file asks for all of it (RFC 9110 14.1.1: "the entire
 * representation is used"); range-parser 1.3 gives it a negative start and calls it
 * unsatisfiable, so such a range becomes `0-` first.
 */
function withLongSuffixesWhole(header: string, size: number): string {
  return header.replace(LONG_SUFFIX_CANDIDATE, (spec, before: string, digits: string) =>
    Number(digits) >= size ? `${before}0-` : spec,
  );
}

/** A suffix range (`-N`) right after `bytes=` or a comma, up to the next comma or the end. */
const LONG_SUFFIX_CANDIDATE = /(^bytes=|,)\s*-\s*(\d+)\s*(?=,|$)/g;

/** If-None-Match (RFC 9110 13.1.2): `*`, or a list of tags compared weakly. */
export function matchesETag(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  if (header.trim() === '*') return true;
  return header.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag);
}

/**
 * Sends a download's body and ends the answer. A stream that can write itself (a disk blob)
 * does, reusing its buffers, but only into Node's own `write`: a host middleware that wraps it
 * (compression, say) may keep a chunk past its callback or never call back, so such an answer
 * gets the plain pipe. A client that goes away mid-download ends the sending, even when this
 * answer waits behind others on a pipelined connection (see whenConnectionGone); nothing to
 * report to it. A source that fails mid-way cuts the connection, so the client sees an
 * incomplete answer rather than a short one that looks whole.
 */
export async function sendBody(body: Readable, response: Response): Promise<void> {
  const gone = new AbortController();
  const stopWaiting = whenConnectionGone(response.req.socket, () => gone.abort());
  try {
    if (gone.signal.aborted) {
      body.destroy();
      response.destroy();
      return;
    }
    if (!sendsItself(body) || response.write !== ServerResponse.prototype.write) {
      await pipeline(body, response, { signal: gone.signal }).catch(() => undefined);
      return;
    }
    try {
      await body.sendTo(response, gone.signal);
    } catch (error) {
      response.destroy(error as Error);
      return;
    }
    if (gone.signal.aborted) response.destroy();
    else if (!response.destroyed) response.end();
  } finally {
    stopWaiting();
  }
}
