// The reference tus client (tus-js-client, in Node) against the module: a large upload whose
// connection drops midway resumes from the offset the server reports, sends only what the
// server lacks, and ends as an attachment with the uploaded bytes.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { Upload, type HttpRequest, type UploadOptions } from 'tus-js-client';
import { startCountingProxy, type CountingProxy } from '../support/counting-proxy.js';
import { DATABASE_KINDS } from '../support/databases.js';
import { startApp, type RunningApp } from '../support/test-app.js';
import { Visitor, type AttachmentBody } from '../support/visitor.js';
import { waitFor } from '../support/wait-for.js';

const MiB = 1024 * 1024;
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

interface Outcome {
  error?: Error;
  /** The requests the client made, as `METHOD` each. */
  methods: string[];
  /** The same with each PATCH's offset and each answer's status (`PATCH @0 → 409`), to print. */
  log: string[];
  attachment?: AttachmentBody;
}

/** Runs one tus-js-client upload to its end (success or the error it gives up with). */
function runUpload(file: Buffer, options: UploadOptions): Promise<{ upload: Upload; outcome: Outcome }> {
  const methods: string[] = [];
  const log: string[] = [];
  return new Promise((resolve) => {
    const upload: Upload = new Upload(file, {
      retryDelays: null,
      ...options,
      onBeforeRequest: (request: HttpRequest) => {
        methods.push(request.getMethod());
        const offset = request.getHeader('Upload-Offset');
        log.push(`${request.getMethod()}${offset === undefined ? '' : ` @${offset}`}`);
      },
      onAfterResponse: (_request, response) => void (log[log.length - 1] += ` → ${response.getStatus()}`),
      onSuccess: ({ lastResponse }) => {
        const header = lastResponse.getHeader('attachment');
        resolve({ upload, outcome: { methods, log, ...(header ? { attachment: JSON.parse(header) as AttachmentBody } : {}) } });
      },
      onError: (error) => resolve({ upload, outcome: { methods, log, error } }),
    });
    upload.start();
  });
}

for (const kind of DATABASE_KINDS) {
  describe(`tus-js-client resumes a large upload after its connection drops (${kind})`, () => {
    let running: RunningApp;
    let proxy: CountingProxy;
    before(async () => {
      running = await startApp(kind, { attachments: { limits: { fileSize: '64MB' } } });
      proxy = await startCountingProxy(running.baseUrl);
    });
    after(async () => {
      await proxy.close();
      await running.close();
    });

    test('32 MiB cut at 12 MiB: the second attempt sends only the rest, and the stored file is the whole', async (t) => {
      const file = randomBytes(32 * MiB);
      const visitor = new Visitor(running.baseUrl);
      await visitor.get('/attachments/video-draft');
      assert.ok(visitor.cookie, 'the list gave the visitor a session');
      const options: UploadOptions = {
        endpoint: `${proxy.baseUrl}/attachments/video-draft/tus`,
        metadata: { filename: 'holiday.mp4.bin', filetype: 'application/octet-stream' },
        headers: { cookie: visitor.cookie },
      };

      const cutDone = proxy.cutAfter(12 * MiB);
      const first = await runUpload(file, options);
      await cutDone;
      assert.ok(first.outcome.error, 'the first attempt fails with the connection');
      assert.deepEqual(first.outcome.methods, ['POST', 'PATCH']);
      const uploadUrl = first.upload.url;
      assert.ok(uploadUrl, 'the upload was created before the cut');
      assert.deepEqual(await visitor.names('video-draft'), [], 'an unfinished upload is not an attachment');

      // The server learns of the cut when its socket ends, and commits what it kept then.
      const path = new URL(uploadUrl).pathname;
      let kept = 0;
      assert.ok(
        await waitFor(async () => {
          const head = await visitor.request('HEAD', path, { headers: { 'tus-resumable': '1.0.0' } });
          assert.equal(head.status, 200);
          kept = Number(head.headers.get('upload-offset'));
          return kept > 0;
        }),
        'the server kept the bytes that arrived before the cut',
      );
      assert.ok(kept <= 12 * MiB, `kept ${kept} bytes, no more than passed the proxy`);

      proxy.resetCount();
      const second = await runUpload(file, { ...options, uploadUrl });
      assert.equal(second.outcome.error, undefined, String(second.outcome.error));
      assert.deepEqual(second.outcome.methods, ['HEAD', 'PATCH'], 'resumed: no new upload was created');
      assert.equal(second.upload.url, uploadUrl);
      const rest = file.length - kept;
      assert.ok(proxy.sent >= rest, `sent ${proxy.sent} bytes, at least the ${rest} the server lacked`);
      assert.ok(proxy.sent < rest + 64 * 1024, `sent ${proxy.sent} bytes: the missing ${rest} and the headers, not more`);
      assert.ok(proxy.sent < file.length, 'fewer bytes the second time than the whole file');
      t.diagnostic(`the server kept ${kept} bytes; the second attempt sent ${proxy.sent} of ${file.length}`);

      const expected = sha256(file);
      assert.equal(second.outcome.attachment?.name, 'holiday.mp4.bin', 'the final PATCH names the attachment');
      assert.equal(second.outcome.attachment?.sha256, expected);
      const [listed] = await visitor.json<AttachmentBody[]>('/attachments/video-draft');
      assert.equal(listed?.size, file.length);
      assert.equal(listed?.sha256, expected);
      const download = new Uint8Array(await (await visitor.get('/attachments/video-draft/holiday.mp4.bin')).arrayBuffer());
      assert.equal(download.length, file.length);
      assert.equal(sha256(download), expected, 'the downloaded bytes are the uploaded ones');
    });

    test('retrying by itself (retryDelays), one upload asks for the offset at once after the cut and finishes', async (t) => {
      const file = randomBytes(24 * MiB);
      const visitor = new Visitor(running.baseUrl);
      await visitor.get('/attachments/retry-draft');
      proxy.resetCount();
      const cutDone = proxy.cutAfter(8 * MiB);
      // The HEAD can reach the server before it has committed the cut PATCH's bytes: then the
      // client sends from an older offset, and the compare-and-set answers one of the two 409,
      // which tus-js-client retries too. Either way the upload ends whole.
      const { outcome } = await runUpload(file, {
        endpoint: `${proxy.baseUrl}/attachments/retry-draft/tus`,
        metadata: { filename: 'retried.bin' },
        headers: { cookie: visitor.cookie! },
        retryDelays: [0, 0, 0],
      });
      await cutDone;
      assert.equal(outcome.error, undefined, String(outcome.error));
      assert.equal(outcome.methods.filter((method) => method === 'POST').length, 1, 'one upload, resumed');
      assert.ok(outcome.methods.includes('HEAD'), `asked the server for its offset: ${outcome.methods.join(', ')}`);
      assert.equal(outcome.attachment?.sha256, sha256(file));
      t.diagnostic(`requests: ${outcome.log.join(', ')}; ${proxy.sent} bytes sent for ${file.length}`);
      const [listed] = await visitor.json<AttachmentBody[]>('/attachments/retry-draft');
      assert.deepEqual([listed?.name, listed?.size, listed?.sha256], ['retried.bin', file.length, sha256(file)]);
    });
  });
}
