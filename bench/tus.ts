// The bench's tus client: a file uploaded as a tus client sends it (creation, then one PATCH
// after another of `patchSize` bytes on one kept-alive connection, each waiting for the answer
// of the one before, as tus-js-client and Uppy do).
import { createReadStream } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';

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
  body?: { path: string; start: number; end: number },
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string }> {
  return new Promise((done, fail) => {
    const request = httpRequest(url, { method, headers, agent }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () => done({ status: response.statusCode ?? 0, headers: response.headers, text }));
    });
    request.on('error', fail);
    if (!body) {
      request.end();
      return;
    }
    const file = createReadStream(body.path, { start: body.start, end: body.end, highWaterMark: 1024 * 1024 });
    file.on('error', fail);
    file.pipe(request);
  });
}

/** Uploads `source` (`size` bytes) into `bundle` over tus; resolves when the last PATCH is answered. */
export async function tusUploadFile(
  baseUrl: string,
  bundle: string,
  source: string,
  size: number,
  name: string,
  patchSize: number,
  cookie?: string,
): Promise<TusUploadResult> {
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
    let offset = 0;
    let patches = 0;
    let last: Awaited<ReturnType<typeof send>> | undefined;
    let lastPatchSeconds = 0;
    while (offset < size) {
      const length = Math.min(patchSize, size - offset);
      const patchStarted = performance.now();
      last = await send(
        agent,
        baseUrl + location,
        'PATCH',
        {
          ...TUS,
          ...(session ? { cookie: session } : {}),
          'content-type': 'application/offset+octet-stream',
          'upload-offset': String(offset),
          'content-length': String(length),
        },
        { path: source, start: offset, end: offset + length - 1 },
      );
      patches += 1;
      lastPatchSeconds = (performance.now() - patchStarted) / 1000;
      if (last.status !== 204)
        return { status: last.status, seconds: 0, patches, lastPatchSeconds, cookie: session, attachment: last.text };
      offset = Number(last.headers['upload-offset']);
    }
    const attachment = last?.headers.attachment;
    return {
      status: last?.status ?? 0,
      seconds: (performance.now() - started) / 1000,
      patches,
      lastPatchSeconds,
      cookie: session,
      attachment: typeof attachment === 'string' ? attachment : undefined,
    };
  } finally {
    agent.destroy();
  }
}
