// Hostile input, case by case: each asserts the status, the error code, and what is stored after.
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { DATABASE_KINDS } from '../support/databases.js';
import { multipartBody, rawRequest } from '../support/raw-http.js';
import { startApp, type RunningApp } from '../support/test-app.js';
import { Visitor, type AttachmentBody } from '../support/visitor.js';

const PNG = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000', 'hex');
const EXE = Buffer.concat([Buffer.from('MZ'), Buffer.alloc(62), Buffer.from('PE\0\0'), Buffer.alloc(200)]);
const BOUNDARY = 'adversarial-boundary';

interface State {
  rows: number;
  blobs: number;
  temporary: number;
}

for (const kind of DATABASE_KINDS) {
  describe(`adversarial input on ${kind}`, () => {
    let running: RunningApp;
    const state = async (): Promise<State> => ({
      rows: await running.rowCount(),
      blobs: await running.blobCount(),
      temporary: await running.temporaryCount(),
    });
    /** Runs `attack` and asserts it was refused with `status`/`code` and stored nothing. */
    const refused = async (status: number, code: string, attack: () => Promise<{ status: number; body: string }>) => {
      const before = await state();
      const response = await attack();
      assert.equal(response.status, status, response.body);
      assert.equal((JSON.parse(response.body) as { code: string }).code, code);
      assert.deepEqual(await state(), { ...before, temporary: 0 });
    };
    const viaFetch = async (response: Promise<Response>) => {
      const done = await response;
      return { status: done.status, body: await done.text() };
    };
    const raw = (visitor: Visitor, bundle: string, parts: Array<{ headers: string[]; content: string | Buffer }>, close = true) =>
      rawRequest(
        running.baseUrl,
        'POST',
        `/attachments/${bundle}`,
        { cookie: visitor.cookie ?? '', 'content-type': `multipart/form-data; boundary=${BOUNDARY}` },
        multipartBody(BOUNDARY, parts, close),
      );
    const filePart = (disposition: string, content: string | Buffer = 'x') => ({
      headers: [`Content-Disposition: form-data; name="f"; ${disposition}`, 'Content-Type: application/octet-stream'],
      content,
    });

    before(async () => {
      running = await startApp(kind, {
        attachments: {
          limits: {
            fileSize: 4096,
            filesPerRequest: 3,
            filesPerBundle: 5,
            bytesPerSession: 12_000,
            bundlesPerSession: 4,
            fields: 5,
            fieldSize: 1024,
            parts: 20,
            headerPairs: 5,
          },
          // Markup only by exact listing: the download tests below store HTML and SVG.
          allowedTypes: ['text/*', 'image/*', 'application/octet-stream', 'text/html', 'image/svg+xml'],
          trustedOrigins: ['https://trusted.example'],
          uploadIdleTimeout: 400,
          uploadTimeout: 5000,
        },
      });
    });
    after(() => running.close());

    describe('names', () => {
      for (const [sent, stored] of [
        ['../x.txt', 'x.txt'],
        ['..\\x.txt', 'x.txt'],
        ['/etc/passwd', 'passwd'],
        ['C:\\x.txt', 'x.txt'],
      ] as const) {
        test(`path traversal ${JSON.stringify(sent)} keeps only the last segment, as data`, async () => {
          const visitor = new Visitor(running.baseUrl);
          const response = await visitor.upload('/attachments/names', [['f', sent, 'text']]);
          assert.equal(response.status, 201);
          assert.deepEqual(
            ((await response.json()) as AttachmentBody[]).map((a) => a.name),
            [stored],
          );
          assert.equal(await visitor.text(`/attachments/names/${encodeURIComponent(stored)}`), 'text');
        });
      }

      for (const [label, disposition] of [
        ['".."', 'filename=".."'],
        ['a NUL byte', "filename*=UTF-8''a%00b.txt"],
        ['CR/LF', "filename*=UTF-8''a%0D%0Ab.txt"],
        ['a C1 control', "filename*=UTF-8''a%C2%85b.txt"],
        ['an RTL override', "filename*=UTF-8''invoice%E2%80%AEfdp.exe"],
        ['256 UTF-8 bytes', `filename="${'n'.repeat(256)}"`],
      ] as const) {
        test(`a name with ${label} is refused`, async () => {
          const visitor = new Visitor(running.baseUrl);
          await visitor.json('/attachments/bad-names');
          await refused(400, 'invalid_name', () => raw(visitor, 'bad-names', [filePart(disposition)]));
        });
      }

      test('a 255-byte name is accepted', async () => {
        const visitor = new Visitor(running.baseUrl);
        const response = await visitor.upload('/attachments/long', [['f', `${'n'.repeat(251)}.txt`, 'long']]);
        assert.equal(response.status, 201);
      });

      test('NFC and NFD spellings of a name are one attachment', async () => {
        const visitor = new Visitor(running.baseUrl);
        await visitor.upload('/attachments/twins', [['f', 'Cafe\u0301.txt', 'nfd']]);
        await visitor.upload('/attachments/twins', [['f', 'Caf\u00e9.txt', 'nfc']]);
        const list = await visitor.json<AttachmentBody[]>('/attachments/twins');
        assert.deepEqual(
          list.map((a) => a.name),
          ['Caf\u00e9.txt'],
        );
        assert.equal(await visitor.text(`/attachments/twins/${encodeURIComponent('Cafe\u0301.txt')}`), 'nfc');
      });

      test('"delete" works as a file name', async () => {
        const visitor = new Visitor(running.baseUrl);
        assert.equal((await visitor.upload('/attachments/words', [['f', 'delete', 'word']])).status, 201);
        assert.equal(await visitor.text('/attachments/words/delete'), 'word');
      });

      test('an encoded slash in a URL name is refused', async () => {
        const visitor = new Visitor(running.baseUrl);
        await refused(400, 'invalid_name', () => viaFetch(visitor.get('/attachments/names/..%2Fx.txt')));
      });

      test('an encoded ".." bundle and an over-long bundle are refused', async () => {
        const visitor = new Visitor(running.baseUrl);
        await refused(400, 'invalid_bundle', () => raw(visitor, '%2E%2E', [filePart('filename="a.txt"')]));
        await refused(400, 'invalid_bundle', () =>
          viaFetch(visitor.upload(`/attachments/${'b'.repeat(65)}`, [['f', 'a.txt', 'a']])),
        );
      });
    });

    describe('malformed multipart', () => {
      test('no boundary', async () => {
        await refused(400, 'invalid_multipart', () =>
          rawRequest(running.baseUrl, 'POST', '/attachments/mp', { 'content-type': 'multipart/form-data' }, 'x'),
        );
      });

      test('not multipart at all', async () => {
        await refused(400, 'invalid_multipart', () =>
          rawRequest(running.baseUrl, 'POST', '/attachments/mp', { 'content-type': 'application/json' }, '{"a":1}'),
        );
      });

      test('a truncated body stores nothing', async () => {
        const visitor = new Visitor(running.baseUrl);
        await visitor.json('/attachments/mp');
        await refused(400, 'invalid_multipart', () =>
          raw(visitor, 'mp', [filePart('filename="a.txt"', 'complete'), filePart('filename="b.txt"', 'cut')], false),
        );
      });

      test('a part without a filename is a field, and a body of only fields has no files', async () => {
        const visitor = new Visitor(running.baseUrl);
        await visitor.json('/attachments/mp');
        await refused(400, 'no_files', () =>
          raw(visitor, 'mp', [{ headers: ['Content-Disposition: form-data; name="f"'], content: 'not a file' }]),
        );
      });

      test('thousands of parts', async () => {
        const visitor = new Visitor(running.baseUrl);
        await visitor.json('/attachments/mp');
        const parts = Array.from({ length: 3000 }, (_, index) => ({
          headers: [`Content-Disposition: form-data; name="p${index}"`],
          content: 'v',
        }));
        await refused(400, 'too_many_parts', () => raw(visitor, 'mp', parts));
      });

      test('oversized part headers', async () => {
        const visitor = new Visitor(running.baseUrl);
        await visitor.json('/attachments/mp');
        const headers = [
          'Content-Disposition: form-data; name="f"; filename="h.txt"',
          ...Array.from({ length: 50 }, (_, i) => `X-Padding-${i}: ${'p'.repeat(2000)}`),
        ];
        const response = await raw(visitor, 'mp', [{ headers, content: 'x' }]);
        assert.equal(response.status, 400, response.body);
        assert.ok(['invalid_multipart', 'too_many_parts'].includes((JSON.parse(response.body) as { code: string }).code));
        assert.equal(await running.temporaryCount(), 0);
        assert.deepEqual(await visitor.json('/attachments/mp'), []);
      });
    });

    describe('limits', () => {
      test('a file over limits.fileSize', async () => {
        const visitor = new Visitor(running.baseUrl);
        await visitor.json('/attachments/lim');
        await refused(413, 'file_too_large', () =>
          viaFetch(visitor.upload('/attachments/lim', [['f', 'big.txt', 'x'.repeat(4097)]])),
        );
      });

      test('more files than limits.filesPerRequest', async () => {
        const visitor = new Visitor(running.baseUrl);
        await visitor.json('/attachments/lim');
        const files = ['1', '2', '3', '4'].map((n) => ['f', `${n}.txt`, n] as [string, string, string]);
        await refused(400, 'too_many_files', () => viaFetch(visitor.upload('/attachments/lim', files)));
      });

      test('more attachments than limits.filesPerBundle', async () => {
        const visitor = new Visitor(running.baseUrl);
        for (const batch of [
          ['1', '2', '3'],
          ['4', '5'],
        ]) {
          assert.equal(
            (
              await visitor.upload(
                '/attachments/full',
                batch.map((n) => ['f', `${n}.txt`, n]),
              )
            ).status,
            201,
          );
        }
        await refused(400, 'bundle_full', () => viaFetch(visitor.upload('/attachments/full', [['f', '6.txt', '6']])));
        assert.equal((await visitor.upload('/attachments/full', [['f', '5.txt', 'replacing is fine']])).status, 201);
      });

      test('more bytes than limits.bytesPerSession, refused while streaming', async () => {
        const visitor = new Visitor(running.baseUrl);
        for (const name of ['a', 'b']) {
          assert.equal((await visitor.upload('/attachments/quota', [['f', `${name}.txt`, 'q'.repeat(4000)]])).status, 201);
        }
        await refused(413, 'session_quota_exceeded', () =>
          viaFetch(visitor.upload('/attachments/quota2', [['f', 'c.txt', 'q'.repeat(4096)]])),
        );
      });

      test('more bundles than limits.bundlesPerSession', async () => {
        const visitor = new Visitor(running.baseUrl);
        for (const bundle of ['b1', 'b2', 'b3', 'b4']) {
          assert.equal((await visitor.upload(`/attachments/${bundle}`, [['f', 'x.txt', 'x']])).status, 201);
        }
        await refused(400, 'too_many_bundles', () => viaFetch(visitor.upload('/attachments/b5', [['f', 'x.txt', 'x']])));
      });

      test('more fields than limits.fields', async () => {
        const visitor = new Visitor(running.baseUrl);
        await visitor.json('/attachments/fields');
        const fields = Object.fromEntries(Array.from({ length: 6 }, (_, i) => [`field${i}`, 'v']));
        await refused(400, 'too_many_parts', () =>
          viaFetch(visitor.upload('/attachments/fields', [['f', 'x.txt', 'x']], fields)),
        );
      });

      test('a field over limits.fieldSize', async () => {
        const visitor = new Visitor(running.baseUrl);
        await visitor.json('/attachments/fields');
        await refused(400, 'field_too_large', () =>
          viaFetch(visitor.upload('/attachments/fields', [['f', 'x.txt', 'x']], { meta: 'm'.repeat(2000) })),
        );
      });
    });

    describe('types', () => {
      test('an executable disguised as .txt is refused by its content', async () => {
        const visitor = new Visitor(running.baseUrl);
        await visitor.json('/attachments/types');
        await refused(415, 'type_not_allowed', () =>
          viaFetch(visitor.upload('/attachments/types', [['f', 'harmless.txt', EXE]])),
        );
      });

      test('a PDF named .txt is refused as the PDF it is', async () => {
        const visitor = new Visitor(running.baseUrl);
        await visitor.json('/attachments/types');
        await refused(415, 'type_not_allowed', () =>
          viaFetch(visitor.upload('/attachments/types', [['f', 'notes.txt', '%PDF-1.7\n%binary']])),
        );
      });

      test('the type comes from the content, not the name nor the declared type', async () => {
        const visitor = new Visitor(running.baseUrl);
        const form = new FormData();
        form.append('f', new Blob([PNG], { type: 'application/pdf' }), 'picture.txt');
        form.append('f', new Blob(['plain words'], { type: 'image/png' }), 'words.txt');
        const response = await visitor.request('POST', '/attachments/types', { body: form });
        assert.equal(response.status, 201);
        const stored = (await response.json()) as AttachmentBody[];
        assert.deepEqual(
          stored.map((a) => [a.name, a.mimetype]),
          [
            ['picture.txt', 'image/png'],
            ['words.txt', 'text/plain'],
          ],
        );
      });
    });

    describe('downloads', () => {
      let visitor: Visitor;
      before(async () => {
        visitor = new Visitor(running.baseUrl);
        await visitor.upload('/attachments/dl', [
          ['f', 'page.html', '<script>alert(1)</script>'],
          ['f', 'image.svg', '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'],
          ['f', 'digits.txt', '0123456789'],
        ]);
      });

      for (const [name, type] of [
        ['page.html', 'text/html'],
        ['image.svg', 'image/svg+xml'],
      ] as const) {
        test(`${name} is served as a sandboxed download, never rendered inline`, async () => {
          const response = await visitor.get(`/attachments/dl/${name}`);
          assert.equal(response.status, 200);
          assert.equal(response.headers.get('content-type'), type);
          assert.match(response.headers.get('content-disposition') ?? '', /^attachment;/);
          assert.equal(response.headers.get('x-content-type-options'), 'nosniff');
          assert.match(response.headers.get('content-security-policy') ?? '', /sandbox/);
          assert.match(response.headers.get('cache-control') ?? '', /private/);
        });
      }

      test('Range: bytes=2-5 → 206 with Content-Range', async () => {
        const response = await visitor.get('/attachments/dl/digits.txt', { range: 'bytes=2-5' });
        assert.equal(response.status, 206);
        assert.equal(response.headers.get('content-range'), 'bytes 2-5/10');
        assert.equal(await response.text(), '2345');
      });

      test('Range: bytes=-3 → the last three bytes', async () => {
        const response = await visitor.get('/attachments/dl/digits.txt', { range: 'bytes=-3' });
        assert.equal(response.status, 206);
        assert.equal(await response.text(), '789');
      });

      test('Range: a suffix longer than the file → all of it, as a 206 (RFC 9110 14.1.1)', async () => {
        for (const range of ['bytes=-10', 'bytes=-11', 'bytes=-700000']) {
          const response = await visitor.get('/attachments/dl/digits.txt', { range });
          assert.equal(response.status, 206, range);
          assert.equal(response.headers.get('content-range'), 'bytes 0-9/10', range);
          assert.equal(await response.text(), '0123456789', range);
        }
        const zero = await visitor.get('/attachments/dl/digits.txt', { range: 'bytes=-0' });
        assert.equal(zero.status, 416);
        await zero.arrayBuffer();
      });

      test('Range past the end → 416 with Content-Range */size', async () => {
        const response = await visitor.get('/attachments/dl/digits.txt', { range: 'bytes=20-30' });
        assert.equal(response.status, 416);
        assert.equal(response.headers.get('content-range'), 'bytes */10');
        assert.equal(((await response.json()) as { code: string }).code, 'range_not_satisfiable');
      });

      test('several ranges, or a malformed one, → the whole file', async () => {
        for (const range of ['bytes=0-1,5-6', 'pages=1-2', 'bytes=x-y']) {
          const response = await visitor.get('/attachments/dl/digits.txt', { range });
          assert.equal(response.status, 200, range);
          assert.equal(await response.text(), '0123456789');
        }
      });

      test('If-None-Match with the ETag → 304', async () => {
        const first = await visitor.get('/attachments/dl/digits.txt');
        await first.arrayBuffer();
        const etag = first.headers.get('etag')!;
        assert.match(etag, /^"[0-9a-f]{64}"$/);
        const again = await visitor.get('/attachments/dl/digits.txt', { 'if-none-match': etag });
        assert.equal(again.status, 304);
      });

      test('HEAD → headers, no body', async () => {
        const response = await visitor.request('HEAD', '/attachments/dl/digits.txt');
        assert.equal(response.status, 200);
        assert.equal(response.headers.get('content-length'), '10');
        assert.equal(await response.text(), '');
      });
    });

    describe('cross-site requests', () => {
      test('a POST the browser marks cross-site → 403, nothing stored', async () => {
        const visitor = new Visitor(running.baseUrl);
        await visitor.json('/attachments/csrf');
        const form = new FormData();
        form.append('f', new Blob(['x']), 'x.txt');
        await refused(403, 'cross_site_request', () =>
          viaFetch(visitor.request('POST', '/attachments/csrf', { body: form, headers: { 'sec-fetch-site': 'cross-site' } })),
        );
      });

      test('a DELETE from a foreign Origin → 403, the file stays', async () => {
        const visitor = new Visitor(running.baseUrl);
        await visitor.upload('/attachments/csrf', [['f', 'keep.txt', 'keep']]);
        await refused(403, 'cross_site_request', () =>
          viaFetch(visitor.request('DELETE', '/attachments/csrf/keep.txt', { headers: { origin: 'https://evil.example' } })),
        );
        await refused(403, 'cross_site_request', () =>
          viaFetch(visitor.request('POST', '/attachments/csrf/delete', { headers: { origin: 'null' } })),
        );
        assert.equal(await visitor.text('/attachments/csrf/keep.txt'), 'keep');
      });

      test('same-origin, trusted origins and header-less clients pass', async () => {
        const visitor = new Visitor(running.baseUrl);
        const upload = (headers: Record<string, string>) => {
          const form = new FormData();
          form.append('f', new Blob(['ok']), 'ok.txt');
          return visitor.request('POST', '/attachments/csrf-ok', { body: form, headers });
        };
        assert.equal((await upload({ origin: running.baseUrl, 'sec-fetch-site': 'same-origin' })).status, 201);
        assert.equal((await upload({ origin: 'https://trusted.example', 'sec-fetch-site': 'cross-site' })).status, 201);
        assert.equal((await upload({})).status, 201);
      });
    });

    describe('other sessions and broken clients', () => {
      test('a foreign session guessing names gets 404 every time and changes nothing', async () => {
        const owner = new Visitor(running.baseUrl);
        await owner.upload('/attachments/secret', [['f', 'letter.txt', 'secret words']]);
        const guesser = new Visitor(running.baseUrl);
        for (const name of ['letter.txt', 'LETTER.txt', 'letter.txt ', 'cv.pdf']) {
          await refused(404, 'not_found', () => viaFetch(guesser.get(`/attachments/secret/${encodeURIComponent(name)}`)));
          await refused(404, 'not_found', () => viaFetch(guesser.delete(`/attachments/secret/${encodeURIComponent(name)}`)));
        }
        assert.equal(await owner.text('/attachments/secret/letter.txt'), 'secret words');
      });

      test('a slow client that stops sending → 408, no temporary file, no row', async () => {
        const visitor = new Visitor(running.baseUrl);
        await visitor.json('/attachments/slow');
        const before = await state();
        const status = await new Promise<number>((resolve, reject) => {
          const request = httpRequest(new URL('/attachments/slow', running.baseUrl), {
            method: 'POST',
            headers: {
              cookie: visitor.cookie!,
              'content-type': `multipart/form-data; boundary=${BOUNDARY}`,
              'content-length': '10000',
            },
          });
          request.on('response', (response) => {
            response.resume();
            resolve(response.statusCode ?? 0);
          });
          request.on('error', reject);
          request.write(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="f"; filename="slow.txt"\r\n\r\nthe start`);
        });
        assert.equal(status, 408);
        assert.deepEqual(await state(), { ...before, temporary: 0 });
      });
    });
  });
}
