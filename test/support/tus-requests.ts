// tus requests for the tests that interrupt, kill and restart under an upload (on top of
// ./tus.ts): a PATCH whose body the test writes piece by piece over node:http, so that it can
// cut it off (or kill the server) half-way, and what its answer says.
import { request as httpRequest, type ClientRequest, type IncomingHttpHeaders } from 'node:http';
import { createUpload, headUpload, TUS_RESUMABLE } from './tus.js';
import type { AttachmentBody, Visitor } from './visitor.js';
import type { DataSource } from 'typeorm';

/** A new upload of `length` bytes named `name`, which must be created (201); resolves its path. */
export async function createTusUpload(visitor: Visitor, bundle: string, name: string, length: number): Promise<string> {
  const { response, location } = await createUpload(visitor, bundle, name, length);
  if (response.status !== 201) throw new Error(`tus creation answered ${response.status}: ${await response.text()}`);
  return location;
}

/** HEAD: the offset the server has stored (undefined unless 200), and who answered. */
export async function tusOffset(
  visitor: Visitor,
  path: string,
): Promise<{ status: number; offset: number | undefined; servedBy: string | null }> {
  const response = await headUpload(visitor, path);
  const offset = response.headers.get('upload-offset');
  return {
    status: response.status,
    offset: response.status === 200 && offset !== null ? Number(offset) : undefined,
    servedBy: response.headers.get('x-served-by'),
  };
}

export interface PatchAnswer {
  status: number;
  offset: number | undefined;
  /** The `Attachment` header of the final PATCH, parsed. */
  attachment: AttachmentBody | undefined;
  servedBy: string | undefined;
  body: string;
}

function answerOf(status: number, headers: IncomingHttpHeaders, body: string): PatchAnswer {
  const offset = headers['upload-offset'];
  const attachment = headers.attachment;
  return {
    status,
    offset: typeof offset === 'string' ? Number(offset) : undefined,
    attachment: typeof attachment === 'string' ? (JSON.parse(attachment) as AttachmentBody) : undefined,
    servedBy: headers['x-served-by'] as string | undefined,
    body,
  };
}

/**
 * A PATCH at `offset` declaring `length` body bytes, that the caller writes as it likes; it can
 * end it, or cut it off (the socket destroyed, as a train's tunnel does).
 */
export function streamingPatch(url: string, cookie: string | undefined, offset: number, length: number) {
  const request: ClientRequest = httpRequest(url, {
    method: 'PATCH',
    headers: {
      ...TUS_RESUMABLE,
      ...(cookie ? { cookie } : {}),
      'content-type': 'application/offset+octet-stream',
      'upload-offset': String(offset),
      'content-length': String(length),
    },
  });
  const answer = new Promise<PatchAnswer | Error>((resolve) => {
    request.once('error', resolve);
    request.once('response', (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.once('error', resolve);
      response.once('end', () => resolve(answerOf(response.statusCode ?? 0, response.headers, body)));
    });
  });
  request.flushHeaders();
  return {
    answer,
    /** Resolves once the chunk is handed to the socket (not that the server has read it). */
    write: (chunk: Buffer) => new Promise<void>((done, fail) => request.write(chunk, (error) => (error ? fail(error) : done()))),
    end: () => new Promise<void>((done) => request.end(() => done())),
    destroy: () => request.destroy(),
  };
}

/** One whole PATCH of `bytes` at `offset`. */
export async function tusPatch(url: string, cookie: string | undefined, offset: number, bytes: Buffer): Promise<PatchAnswer> {
  const patch = streamingPatch(url, cookie, offset, bytes.length);
  await patch.write(bytes);
  await patch.end();
  const answer = await patch.answer;
  if (answer instanceof Error) throw answer;
  return answer;
}

/**
 * A PATCH with a chunked body (no Content-Length), as a client streaming a file of unknown size
 * sends it: the server finds out how long it is only as it reads. Resolves the status.
 */
export function chunkedPatch(url: string, cookie: string | undefined, offset: number, body: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(url, {
      method: 'PATCH',
      headers: {
        ...TUS_RESUMABLE,
        ...(cookie ? { cookie } : {}),
        'content-type': 'application/offset+octet-stream',
        'upload-offset': String(offset),
      },
    });
    request.once('error', reject);
    request.once('response', (response) => {
      response.resume();
      response.once('end', () => resolve(response.statusCode ?? 0));
    });
    for (let start = 0; start < body.length; start += 64 * 1024) request.write(body.subarray(start, start + 64 * 1024));
    request.end();
  });
}

/** How many resumable uploads (finished or not) the database holds for `bundle`, of any owner. */
export async function uploadRowsIn(dataSource: DataSource, bundle: string): Promise<number> {
  const placeholder = dataSource.options.type === 'postgres' ? '$1' : '?';
  const [row] = await dataSource.query<Array<{ n: string | number }>>(
    `SELECT COUNT(*) AS n FROM session_attachment_uploads WHERE bundle = ${placeholder}`,
    [bundle],
  );
  return Number(row?.n);
}

/**
 * The disk storage's two ways of keeping an unfinished upload: one object grown in place, or a
 * file per PATCH (`partsOnDisk`, as a storage without in-place writes): tests that depend on
 * where an upload's bytes are run in both.
 */
export const UPLOAD_STRATEGIES = [
  { name: 'in place', partsOnDisk: false },
  { name: 'parts', partsOnDisk: true },
] as const;
