// tus 1.0 requests as a client sends them, over real HTTP, for the tests that interrupt, kill
// and restart under an upload: creation, HEAD, a whole PATCH, and a PATCH whose body the test
// writes piece by piece so that it can cut it off (or kill the server) half-way.
import { request as httpRequest, type ClientRequest, type IncomingHttpHeaders } from 'node:http';
import type { AttachmentBody, Visitor } from './visitor.js';

export const TUS_RESUMABLE = { 'tus-resumable': '1.0.0' } as const;
const PATCH_TYPE = 'application/offset+octet-stream';

/** tus metadata: `key base64(value)` pairs. */
export function tusMetadata(values: Record<string, string>): string {
  return Object.entries(values)
    .map(([key, value]) => `${key} ${Buffer.from(value).toString('base64')}`)
    .join(',');
}

/** POST …/tus: a new upload of `length` bytes named `name`; resolves its path (the Location). */
export async function createTusUpload(visitor: Visitor, bundle: string, name: string, length: number): Promise<string> {
  const response = await visitor.request('POST', `/attachments/${bundle}/tus`, {
    headers: { ...TUS_RESUMABLE, 'upload-length': String(length), 'upload-metadata': tusMetadata({ filename: name }) },
  });
  if (response.status !== 201) throw new Error(`tus creation answered ${response.status}: ${await response.text()}`);
  const location = response.headers.get('location');
  if (!location) throw new Error('tus creation answered 201 without a Location');
  return location;
}

/** HEAD: the offset the server has stored (undefined unless 200), and who answered. */
export async function tusOffset(
  visitor: Visitor,
  path: string,
): Promise<{ status: number; offset: number | undefined; servedBy: string | null }> {
  const response = await visitor.request('HEAD', path, { headers: TUS_RESUMABLE });
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
      'content-type': PATCH_TYPE,
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
