import { request as httpRequest } from 'node:http';
import type { Visitor } from './visitor.js';

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A request exactly as written, for bodies and headers that fetch would refuse to send. */
export function rawRequest(
  baseUrl: string,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string | Buffer,
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const { hostname, port } = new URL(baseUrl);
    // The path goes out exactly as given (a URL object would resolve `%2E%2E` away).
    const request = httpRequest({ hostname, port, path, method, headers }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: text }));
    });
    request.on('error', reject);
    request.end(body);
  });
}

/** A multipart body from raw parts: each part's header lines and content. */
export function multipartBody(
  boundary: string,
  parts: Array<{ headers: string[]; content: string | Buffer }>,
  close = true,
): Buffer {
  const chunks: Buffer[] = [];
  for (const part of parts) {
    chunks.push(Buffer.from(`--${boundary}\r\n${part.headers.join('\r\n')}\r\n\r\n`));
    chunks.push(Buffer.isBuffer(part.content) ? part.content : Buffer.from(part.content));
    chunks.push(Buffer.from('\r\n'));
  }
  if (close) chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return Buffer.concat(chunks);
}

/**
 * A multipart upload written as given, by `visitor`: its session is made first (a GET of the
 * bundle, as the page holding the form would), so that the raw request carries its cookie.
 */
export async function rawUpload(
  baseUrl: string,
  visitor: Visitor,
  bundle: string,
  boundary: string,
  body: Buffer,
): Promise<RawResponse> {
  await visitor.json(`/attachments/${bundle}`);
  return rawRequest(
    baseUrl,
    'POST',
    `/attachments/${bundle}`,
    { cookie: visitor.cookie ?? '', 'content-type': `multipart/form-data; boundary=${boundary}` },
    body,
  );
}
