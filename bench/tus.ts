// The bench's tus client: a file uploaded as a tus client sends it (creation, then one PATCH
// after another of `patchSize` bytes on one kept-alive connection, each waiting for the answer
// of the one before, as tus-js-client and Uppy do).
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { Agent, request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { curlSequence } from './curl-client.js';

export interface TusUploadResult {
  status: number;
  seconds: number;
  patches: number;
  /** How long the final PATCH took (its bytes, then the finish: hash, commit). */
  lastPatchSeconds: number;
  cookie: string | undefined;
  /** The final PATCH's `Attachment` header (the stored attachment's JSON). */
  attachment: string | undefined;
}

const TUS = { 'tus-resumable': '1.0.0' };

function send(
  agent: Agent,
  url: string,
  method: string,
  headers: Record<string, string>,
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string }> {
  return new Promise((done, fail) => {
    const request = httpRequest(url, { method, headers, agent }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () => done({ status: response.statusCode ?? 0, headers: response.headers, text }));
    });
    request.on('error', fail);
    request.end();
  });
}

/**
 * The file cut into PATCH-sized files beside it (made once per source and size, kept for the
 * run): curl sends each PATCH's body from its own file. Call it before measuring, and settle
 * after, so that no measurement pays for writing them.
 */
const chunkFiles = new Map<string, Promise<string[]>>();
export function chunksOf(source: string, size: number, patchSize: number): Promise<string[]> {
  const key = `${source}:${patchSize}`;
  let chunks = chunkFiles.get(key);
  if (!chunks) {
    chunks = (async () => {
      const folder = `${source}.patches-${patchSize}`;
      await mkdir(folder, { recursive: true });
      const paths: string[] = [];
      for (let offset = 0; offset < size; offset += patchSize) {
        const path = join(folder, String(offset));
        await pipeline(
          createReadStream(source, { start: offset, end: Math.min(offset + patchSize, size) - 1 }),
          createWriteStream(path),
        );
        paths.push(path);
      }
      return paths;
    })();
    chunkFiles.set(key, chunks);
  }
  return chunks;
}

/**
 * Uploads `source` (`size` bytes) into `bundle` over tus; resolves when the last PATCH is
 * answered. The creation goes from Node; the PATCHes from one curl process on one kept-alive
 * connection (see curl-client.ts for why the big bytes are sent by curl).
 */
export async function tusUploadFile(
  baseUrl: string,
  bundle: string,
  source: string,
  size: number,
  name: string,
  patchSize: number,
  cookie?: string,
): Promise<TusUploadResult> {
  const chunks = await chunksOf(source, size, patchSize);
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const started = performance.now();
    const created = await send(agent, `${baseUrl}/attachments/${bundle}/tus`, 'POST', {
      ...TUS,
      ...(cookie ? { cookie } : {}),
      'upload-length': String(size),
      'upload-metadata': `filename ${Buffer.from(name).toString('base64')}`,
    });
    const location = created.headers.location;
    if (created.status !== 201 || typeof location !== 'string')
      throw new Error(`tus creation answered ${created.status}: ${created.text}`);
    const setCookie = created.headers['set-cookie'];
    const session = (Array.isArray(setCookie) ? setCookie[0]?.split(';')[0] : undefined) ?? cookie;
    const answers = await curlSequence(
      chunks.map((path, index) => ({
        url: baseUrl + location,
        method: 'PATCH',
        headers: {
          ...TUS,
          ...(session ? { cookie: session } : {}),
          'content-type': 'application/offset+octet-stream',
          'upload-offset': String(index * patchSize),
        },
        body: path,
      })),
      'attachment',
    );
    const seconds = (performance.now() - started) / 1000;
    const refused = answers.find((answer) => answer.status !== 204);
    const last = answers.at(-1)!;
    return {
      status: refused?.status ?? last.status,
      seconds: refused ? 0 : seconds,
      patches: answers.length,
      lastPatchSeconds: last.seconds,
      cookie: session,
      attachment: last.header || undefined,
    };
  } finally {
    agent.destroy();
  }
}
