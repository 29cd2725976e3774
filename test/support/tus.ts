import type { Visitor } from './visitor.js';

/** The header every tus request but OPTIONS carries. */
export const TUS_RESUMABLE = { 'tus-resumable': '1.0.0' } as const;

/** An Upload-Metadata header: each value base64, as tus clients send it. */
export function uploadMetadata(pairs: Record<string, string>): string {
  return Object.entries(pairs)
    .map(([key, value]) => `${key} ${Buffer.from(value, 'utf8').toString('base64')}`)
    .join(',');
}

/** POST …/:bundle/tus for a file of `length` bytes; resolves the response and the upload's path. */
export async function createUpload(
  visitor: Visitor,
  bundle: string,
  name: string,
  length: number,
  init: { headers?: Record<string, string>; body?: Uint8Array } = {},
): Promise<{ response: Response; location: string }> {
  const response = await visitor.request('POST', `/attachments/${bundle}/tus`, {
    headers: {
      ...TUS_RESUMABLE,
      'upload-length': String(length),
      'upload-metadata': uploadMetadata({ filename: name }),
      ...(init.body ? { 'content-type': 'application/offset+octet-stream' } : {}),
      ...init.headers,
    },
    ...(init.body ? { body: new Uint8Array(init.body) } : {}),
  });
  return { response, location: response.headers.get('location') ?? '' };
}

/** PATCH bytes at `offset`. */
export function patchUpload(
  visitor: Visitor,
  location: string,
  offset: number,
  bytes: Uint8Array,
  headers: Record<string, string> = {},
): Promise<Response> {
  return visitor.request('PATCH', location, {
    headers: {
      ...TUS_RESUMABLE,
      'content-type': 'application/offset+octet-stream',
      'upload-offset': String(offset),
      ...headers,
    },
    body: new Uint8Array(bytes),
  });
}

/** HEAD of an upload. */
export function headUpload(visitor: Visitor, location: string, headers: Record<string, string> = {}): Promise<Response> {
  return visitor.request('HEAD', location, { headers: { ...TUS_RESUMABLE, ...headers } });
}
