// tus 1.0 over real HTTP: every method and extension the module offers, and its refusals.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { DataSource } from 'typeorm';
import { AttachmentsSweeper } from '../../src/attachments/index.js';
import { DATABASE_KINDS } from '../support/databases.js';
import { testImage } from '../support/images.js';
import { rawRequest } from '../support/raw-http.js';
import { CollectingLogger, startApp, type RunningApp } from '../support/test-app.js';
import { createUpload, headUpload, patchUpload, TUS_RESUMABLE, uploadMetadata } from '../support/tus.js';
import { Visitor, type AttachmentBody } from '../support/visitor.js';

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const HOUR = 3600_000;
const FILE_SIZE = 1024 * 1024;
const QUOTA = 3 * FILE_SIZE;

async function errorCode(response: Response): Promise<string> {
  return ((await response.json()) as { code: string }).code;
}

for (const kind of DATABASE_KINDS) {
  describe(`tus protocol on ${kind}`, () => {
    const logger = new CollectingLogger();
    let running: RunningApp;
    let dataSource: DataSource;
    before(async () => {
      running = await startApp(kind, {
        attachments: {
          inlineMaxSize: 0,
          limits: { fileSize: FILE_SIZE, bytesPerSession: QUOTA, filesPerBundle: 3 },
          resumableExpireAfter: '1h',
        },
        logger,
      });
      dataSource = running.app.get(DataSource);
    });
    after(() => running.close());

    test('creation, PATCHes, finish: the file appears in the list only after the last byte', async () => {
      const visitor = new Visitor(running.baseUrl);
      const content = randomBytes(300_000);
      const { response, location } = await createUpload(visitor, 'draft', 'video.bin', content.byteLength);
      assert.equal(response.status, 201);
      assert.equal(response.headers.get('tus-resumable'), '1.0.0');
      assert.match(location, /^\/attachments\/draft\/tus\/[0-9a-f-]{36}$/);
      assert.ok(Date.parse(response.headers.get('upload-expires') ?? '') > Date.now());
      const first = await patchUpload(visitor, location, 0, content.subarray(0, 100_000));
      assert.equal(first.status, 204, await first.text());
      assert.equal(first.headers.get('upload-offset'), '100000');
      assert.equal(first.headers.get('tus-resumable'), '1.0.0');
      assert.ok(first.headers.get('upload-expires'));
      assert.equal(first.headers.get('attachment'), null);
      assert.deepEqual(await visitor.names('draft'), [], 'not listed before its last byte');
      const head = await headUpload(visitor, location);
      assert.equal(head.status, 200);
      assert.equal(head.headers.get('upload-offset'), '100000');
      assert.equal(head.headers.get('upload-length'), '300000');
      assert.equal(head.headers.get('cache-control'), 'no-store');
      assert.ok(head.headers.get('upload-expires'));
      const last = await patchUpload(visitor, location, 100_000, content.subarray(100_000));
      assert.equal(last.status, 204, await last.text());
      assert.equal(last.headers.get('upload-offset'), '300000');
      const attachment = JSON.parse(last.headers.get('attachment') ?? 'null') as AttachmentBody;
      const listed = await visitor.json<AttachmentBody[]>('/attachments/draft');
      assert.deepEqual(listed, [attachment], 'the header carries the JSON of the list');
      assert.equal(attachment.sha256, sha256(content));
      assert.equal(attachment.size, 300_000);
      assert.equal(attachment.url, '/attachments/draft/video.bin');
      const downloaded = Buffer.from(await (await visitor.get(attachment.url)).arrayBuffer());
      assert.equal(sha256(downloaded), sha256(content));
      const finished = await headUpload(visitor, location);
      assert.equal(finished.status, 200, 'a finished upload still answers HEAD');
      assert.equal(finished.headers.get('upload-offset'), '300000');
      assert.equal(finished.headers.get('upload-expires'), null);
      assert.equal(await running.blobCount(), 1, 'the parts went once joined');
      assert.deepEqual(logger.problems(), []);
    });

    test('OPTIONS describes the server on both paths', async () => {
      const visitor = new Visitor(running.baseUrl);
      const { location } = await createUpload(visitor, 'options', 'a.bin', 10);
      for (const path of ['/attachments/options/tus', location]) {
        const response = await visitor.request('OPTIONS', path);
        assert.equal(response.status, 204, path);
        assert.equal(response.headers.get('tus-resumable'), '1.0.0');
        assert.equal(response.headers.get('tus-version'), '1.0.0');
        assert.equal(response.headers.get('tus-extension'), 'creation,creation-with-upload,termination,expiration');
        assert.equal(response.headers.get('tus-max-size'), String(FILE_SIZE));
      }
    });

    test('a request without Tus-Resumable: 1.0.0 is 412 with Tus-Version', async () => {
      const visitor = new Visitor(running.baseUrl);
      const { location } = await createUpload(visitor, 'version', 'a.bin', 10);
      const requests: Array<[string, string, Record<string, string>]> = [
        ['POST', '/attachments/version/tus', { 'upload-length': '5', 'upload-metadata': uploadMetadata({ filename: 'b' }) }],
        ['HEAD', location, {}],
        ['PATCH', location, { 'content-type': 'application/offset+octet-stream', 'upload-offset': '0' }],
        ['DELETE', location, { 'tus-resumable': '0.2.2' }],
      ];
      for (const [method, path, headers] of requests) {
        const response = await visitor.request(method, path, { headers });
        assert.equal(response.status, 412, `${method}`);
        assert.equal(response.headers.get('tus-version'), '1.0.0');
        assert.equal(response.headers.get('tus-resumable'), '1.0.0');
        if (method !== 'HEAD') assert.equal(await errorCode(response), 'tus_version_unsupported');
      }
      assert.equal((await headUpload(visitor, location)).status, 200, 'nothing was deleted');
    });

    test('creation refuses a missing or bad length, bad metadata and a missing name', async () => {
      const visitor = new Visitor(running.baseUrl);
      const post = (headers: Record<string, string>) =>
        visitor.request('POST', '/attachments/create/tus', { headers: { ...TUS_RESUMABLE, ...headers } });
      const name = uploadMetadata({ filename: 'a.txt' });
      const cases: Array<[Record<string, string>, number, string]> = [
        [{ 'upload-metadata': name }, 400, 'upload_length_required'],
        [{ 'upload-metadata': name, 'upload-defer-length': '1' }, 400, 'upload_length_required'],
        [{ 'upload-metadata': name, 'upload-length': '-1' }, 400, 'invalid_upload_length'],
        [{ 'upload-metadata': name, 'upload-length': '1e3' }, 400, 'invalid_upload_length'],
        [{ 'upload-metadata': 'filename !!!', 'upload-length': '3' }, 400, 'invalid_upload_metadata'],
        [{ 'upload-metadata': uploadMetadata({ filetype: 'text/plain' }), 'upload-length': '3' }, 400, 'invalid_name'],
        [{ 'upload-length': '3' }, 400, 'invalid_name'],
        [{ 'upload-metadata': uploadMetadata({ filename: '..' }), 'upload-length': '3' }, 400, 'invalid_name'],
        [{ 'upload-metadata': name, 'upload-length': String(FILE_SIZE + 1) }, 413, 'file_too_large'],
      ];
      for (const [headers, status, code] of cases) {
        const response = await post(headers);
        assert.equal(response.status, status, JSON.stringify(headers));
        assert.equal(await errorCode(response), code, JSON.stringify(headers));
      }
      const byName = await post({ 'upload-metadata': uploadMetadata({ name: 'from-name.txt' }), 'upload-length': '3' });
      assert.equal(byName.status, 201, 'the name key, when there is no filename');
      const [row] = await dataSource.query<Array<{ name: string }>>(
        `SELECT name FROM session_attachment_uploads WHERE id = '${byName.headers.get('location')!.split('/').pop()}'`,
      );
      assert.equal(row?.name, 'from-name.txt');
    });

    test("creation counts unfinished uploads' declared lengths against the quota, and their names against the bundle", async () => {
      const visitor = new Visitor(running.baseUrl);
      for (const name of ['1.bin', '2.bin']) {
        assert.equal((await createUpload(visitor, 'quota', name, FILE_SIZE)).response.status, 201);
      }
      assert.equal((await createUpload(visitor, 'quota', '3.bin', FILE_SIZE)).response.status, 201);
      const over = await createUpload(visitor, 'quota-other', '4.bin', 1);
      assert.equal(over.response.status, 413);
      assert.equal(await errorCode(over.response), 'session_quota_exceeded');

      const other = new Visitor(running.baseUrl);
      for (const name of ['1.txt', '2.txt', '3.txt']) {
        assert.equal((await createUpload(other, 'full', name, 10)).response.status, 201);
      }
      const full = await createUpload(other, 'full', '4.txt', 10);
      assert.equal(full.response.status, 400);
      assert.equal(await errorCode(full.response), 'bundle_full');
      assert.equal((await createUpload(other, 'full', '1.txt', 10)).response.status, 201, 'the same name is the same file');
    });

    test('PATCH refuses a wrong offset (409) and a wrong content type (415), storing nothing', async () => {
      const visitor = new Visitor(running.baseUrl);
      const { location } = await createUpload(visitor, 'patch', 'a.bin', 100);
      const ahead = await patchUpload(visitor, location, 10, randomBytes(10));
      assert.equal(ahead.status, 409);
      assert.equal(await errorCode(ahead), 'offset_mismatch');
      const typed = await patchUpload(visitor, location, 0, randomBytes(10), { 'content-type': 'application/octet-stream' });
      assert.equal(typed.status, 415);
      assert.equal(await errorCode(typed), 'invalid_patch_content_type');
      const noOffset = await visitor.request('PATCH', location, {
        headers: { ...TUS_RESUMABLE, 'content-type': 'application/offset+octet-stream' },
        body: new Uint8Array(3),
      });
      assert.equal(noOffset.status, 400);
      assert.equal(await errorCode(noOffset), 'invalid_upload_offset');
      assert.equal((await headUpload(visitor, location)).headers.get('upload-offset'), '0');
      assert.equal((await patchUpload(visitor, location, 0, randomBytes(10))).status, 204);
      const behind = await patchUpload(visitor, location, 0, randomBytes(10));
      assert.equal(behind.status, 409, 'an offset already passed');
      assert.equal((await headUpload(visitor, location)).headers.get('upload-offset'), '10');
    });

    test('bytes past the declared length are refused and the upload keeps its last good offset', async () => {
      const visitor = new Visitor(running.baseUrl);
      const content = randomBytes(1000);
      const { location } = await createUpload(visitor, 'past', 'a.bin', 1000);
      assert.equal((await patchUpload(visitor, location, 0, content.subarray(0, 400))).status, 204);
      const tooMuch = await patchUpload(visitor, location, 400, randomBytes(601));
      assert.equal(tooMuch.status, 413);
      assert.equal(await errorCode(tooMuch), 'upload_length_exceeded');
      // Without Content-Length, the bytes are counted as they arrive.
      const { hostname, port } = new URL(running.baseUrl);
      const chunked = await rawRequest(
        `http://${hostname}:${port}`,
        'PATCH',
        location,
        {
          ...TUS_RESUMABLE,
          cookie: visitor.cookie!,
          'content-type': 'application/offset+octet-stream',
          'upload-offset': '400',
          'transfer-encoding': 'chunked',
        },
        randomBytes(700),
      );
      assert.equal(chunked.status, 413);
      assert.equal((JSON.parse(chunked.body) as { code: string }).code, 'upload_length_exceeded');
      assert.equal((await headUpload(visitor, location)).headers.get('upload-offset'), '400');
      const rest = await patchUpload(visitor, location, 400, content.subarray(400));
      assert.equal(rest.status, 204, 'still resumable');
      assert.equal((JSON.parse(rest.headers.get('attachment')!) as AttachmentBody).sha256, sha256(content));
    });

    test("another session's upload, or another bundle's, is 404 on HEAD, PATCH and DELETE, and stays as it was", async () => {
      const owner = new Visitor(running.baseUrl);
      const { location } = await createUpload(owner, 'private', 'a.bin', 100);
      assert.equal((await patchUpload(owner, location, 0, randomBytes(10))).status, 204);
      const stranger = new Visitor(running.baseUrl);
      await stranger.json('/attachments/private');
      const id = location.split('/').pop()!;
      for (const [visitor, path] of [
        [stranger, location],
        [owner, `/attachments/elsewhere/tus/${id}`],
        [owner, `/attachments/private/tus/00000000-0000-4000-8000-000000000000`],
        [owner, `/attachments/private/tus/not-an-id`],
      ] as const) {
        const head = await headUpload(visitor, path);
        assert.equal(head.status, 404, `HEAD ${path}`);
        const patch = await patchUpload(visitor, path, 10, randomBytes(5));
        assert.equal(patch.status, 404, `PATCH ${path}`);
        assert.equal(await errorCode(patch), 'upload_not_found');
        const removed = await visitor.request('DELETE', path, { headers: TUS_RESUMABLE });
        assert.equal(removed.status, 404, `DELETE ${path}`);
        assert.equal(await errorCode(removed), 'upload_not_found');
      }
      assert.equal((await headUpload(owner, location)).headers.get('upload-offset'), '10');
    });

    test('Upload-Metadata is echoed exactly as sent, and no header names the owner', async () => {
      const visitor = new Visitor(running.baseUrl);
      const metadata = `${uploadMetadata({ filename: 'résumé.pdf', filetype: 'application/pdf' })},is_confidential`;
      const { response, location } = await createUpload(visitor, 'meta', 'x', 10, { headers: { 'upload-metadata': metadata } });
      assert.equal(response.status, 201);
      const head = await headUpload(visitor, location);
      assert.equal(head.headers.get('upload-metadata'), metadata);
      const [row] = await dataSource.query<Array<{ session_key: string }>>(
        `SELECT session_key FROM session_attachment_uploads WHERE id = '${location.split('/').pop()}'`,
      );
      const owner = row!.session_key;
      for (const answer of [response, head]) {
        for (const [name, value] of answer.headers) {
          if (name !== 'set-cookie') assert.ok(!value.includes(owner), `${name} names the owner`);
        }
      }
    });

    test('creation-with-upload: the body of the POST is the first PATCH, and a whole file finishes at once', async () => {
      const visitor = new Visitor(running.baseUrl);
      const content = randomBytes(5000);
      const part = await createUpload(visitor, 'with-body', 'part.bin', 5000, { body: content.subarray(0, 2000) });
      assert.equal(part.response.status, 201);
      assert.equal(part.response.headers.get('upload-offset'), '2000');
      assert.equal(part.response.headers.get('attachment'), null);
      const rest = await patchUpload(visitor, part.location, 2000, content.subarray(2000));
      assert.equal((JSON.parse(rest.headers.get('attachment')!) as AttachmentBody).sha256, sha256(content));

      const whole = await createUpload(visitor, 'with-body', 'whole.bin', 5000, { body: content });
      assert.equal(whole.response.status, 201);
      assert.equal(whole.response.headers.get('upload-offset'), '5000');
      const attachment = JSON.parse(whole.response.headers.get('attachment')!) as AttachmentBody;
      assert.equal(attachment.name, 'whole.bin');
      assert.equal(attachment.sha256, sha256(content));
      assert.deepEqual(await visitor.names('with-body'), ['part.bin', 'whole.bin']);

      const empty = await createUpload(visitor, 'with-body', 'empty.txt', 0);
      assert.equal(empty.response.status, 201);
      assert.equal((JSON.parse(empty.response.headers.get('attachment')!) as AttachmentBody).size, 0, 'empty is complete');
    });

    test('the Attachment header escapes what is not ASCII, and replaces a file of the same name', async () => {
      const visitor = new Visitor(running.baseUrl);
      await visitor.upload('/attachments/names', [['f', 'Ünïcödé 文件.txt', 'old']]);
      const [before] = await visitor.json<AttachmentBody[]>('/attachments/names');
      const { location } = await createUpload(visitor, 'names', 'Ünïcödé 文件.txt', 3);
      const done = await patchUpload(visitor, location, 0, Buffer.from('new'));
      const header = done.headers.get('attachment')!;
      assert.match(header, /^[\x20-\x7e]+$/);
      const attachment = JSON.parse(header) as AttachmentBody;
      assert.equal(attachment.name, 'Ünïcödé 文件.txt');
      assert.equal(attachment.created, before!.created, 'same name replaces: created stays');
      assert.equal(await visitor.text(attachment.url), 'new');
      assert.deepEqual(await visitor.names('names'), ['Ünïcödé 文件.txt']);
    });

    test('termination removes the upload and its bytes', async () => {
      const visitor = new Visitor(running.baseUrl);
      const blobs = await running.blobCount();
      const { location } = await createUpload(visitor, 'terminate', 'a.bin', 100);
      assert.equal((await patchUpload(visitor, location, 0, randomBytes(40))).status, 204);
      assert.equal(await running.blobCount(), blobs + 1);
      const removed = await visitor.request('DELETE', location, { headers: TUS_RESUMABLE });
      assert.equal(removed.status, 204);
      assert.equal(removed.headers.get('tus-resumable'), '1.0.0');
      assert.equal((await headUpload(visitor, location)).status, 404);
      assert.equal(await running.blobCount(), blobs);
    });

    test('the sweep removes unfinished uploads untouched for resumableExpireAfter, with their bytes, and forgets finished ones', async () => {
      const visitor = new Visitor(running.baseUrl);
      const stale = await createUpload(visitor, 'expiry', 'stale.bin', 100);
      assert.equal((await patchUpload(visitor, stale.location, 0, randomBytes(40))).status, 204);
      const fresh = await createUpload(visitor, 'expiry', 'fresh.bin', 100);
      assert.equal((await patchUpload(visitor, fresh.location, 0, randomBytes(40))).status, 204);
      const done = await createUpload(visitor, 'expiry', 'done.bin', 10, { body: randomBytes(10) });
      const blobs = await running.blobCount();
      const ids = [stale.location, done.location].map((location) => `'${location.split('/').pop()}'`).join(', ');
      await dataSource.query(`UPDATE session_attachment_uploads SET updated_at = updated_at - ${2 * HOUR} WHERE id IN (${ids})`);
      assert.equal((await headUpload(visitor, stale.location)).status, 404, 'expired before the sweep runs');
      const report = await running.app.get(AttachmentsSweeper).sweep();
      assert.equal(report?.uploads, 1);
      assert.equal(await running.blobCount(), blobs - 1, "the stale upload's part went");
      assert.equal((await headUpload(visitor, fresh.location)).headers.get('upload-offset'), '40');
      assert.equal((await headUpload(visitor, done.location)).status, 404, "a finished upload's record is forgotten");
      assert.deepEqual(await visitor.names('expiry'), ['done.bin'], 'never its attachment');
      assert.equal(await running.app.get(AttachmentsSweeper).removeOrphans(0), 0, "the live upload's part is referenced");
      assert.equal((await patchUpload(visitor, fresh.location, 40, randomBytes(60))).status, 204);
    });

    test('an upload in parts takes at most 10,000 PATCHes: a client sending a byte at a time cannot make millions of parts', async () => {
      // The cap is on part rows, one per PATCH; this suite's disk storage is written in place.
      const inParts = await startApp(kind, { partsOnDisk: true });
      try {
        const visitor = new Visitor(inParts.baseUrl);
        const dataSource = inParts.app.get(DataSource);
        const { location } = await createUpload(visitor, 'parts', 'crumbs.bin', 20_000);
        const id = location.split('/').pop()!;
        // 10,000 one-byte parts, as 10,000 PATCHes would have left them.
        const postgres = kind === 'postgres';
        await dataSource.query(
          postgres
            ? `INSERT INTO session_attachment_upload_parts (upload_id, "offset", "length", storage_key) ` +
                `SELECT $1, n, 1, 'p' || n FROM generate_series(0, 9999) AS n`
            : `WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 9999) ` +
                `INSERT INTO session_attachment_upload_parts (upload_id, "offset", "length", storage_key) SELECT ?, i, 1, 'p' || i FROM n`,
          [id],
        );
        await dataSource.query(
          `UPDATE session_attachment_uploads SET "offset" = 10000, mimetype = 'application/octet-stream' WHERE id = '${id}'`,
        );
        const refused = await patchUpload(visitor, location, 10_000, randomBytes(1));
        assert.equal(refused.status, 400);
        assert.equal(await errorCode(refused), 'too_many_parts');
        assert.equal((await headUpload(visitor, location)).headers.get('upload-offset'), '10000');
        assert.equal((await visitor.request('DELETE', location, { headers: TUS_RESUMABLE })).status, 204);
      } finally {
        await inParts.close();
      }
    });

    test('X-HTTP-Method-Override on a POST stands for PATCH and DELETE', async () => {
      const visitor = new Visitor(running.baseUrl);
      const content = randomBytes(1000);
      const { location } = await createUpload(visitor, 'override', 'a.bin', 1000);
      const patched = await visitor.request('POST', location, {
        headers: {
          ...TUS_RESUMABLE,
          'x-http-method-override': 'PATCH',
          'content-type': 'application/offset+octet-stream',
          'upload-offset': '0',
        },
        body: new Uint8Array(content.subarray(0, 400)),
      });
      assert.equal(patched.status, 204);
      assert.equal((await headUpload(visitor, location)).headers.get('upload-offset'), '400');
      const plain = await visitor.request('POST', location, { headers: TUS_RESUMABLE });
      assert.equal(plain.status, 404, 'a POST without the override is no tus request');
      const removed = await visitor.request('POST', location, {
        headers: { ...TUS_RESUMABLE, 'x-http-method-override': 'DELETE' },
      });
      assert.equal(removed.status, 204);
      assert.equal((await headUpload(visitor, location)).status, 404);
    });

    test('a file named tus still downloads and deletes as before', async () => {
      const visitor = new Visitor(running.baseUrl);
      await visitor.upload('/attachments/plain', [['f', 'tus', 'not a protocol']]);
      assert.equal(await visitor.text('/attachments/plain/tus'), 'not a protocol');
      assert.equal((await visitor.request('HEAD', '/attachments/plain/tus')).status, 200);
      assert.equal((await visitor.delete('/attachments/plain/tus')).status, 204);
      assert.deepEqual(await visitor.names('plain'), []);
      await visitor.upload('/attachments/plain', [['f', 'tus', 'again']]);
      assert.equal((await visitor.post('/attachments/plain/tus/delete')).status, 204, "the original's delete form");
      assert.deepEqual(await visitor.names('plain'), []);
    });
  });

  describe(`tus type rules on ${kind}`, () => {
    let running: RunningApp;
    before(async () => {
      running = await startApp(kind, { attachments: { allowedTypes: ['image/*'], inlineMaxSize: 0 } });
    });
    after(() => running.close());

    test('a type not allowed is refused (415) from its first bytes, and the upload is removed', async () => {
      const visitor = new Visitor(running.baseUrl);
      const page = Buffer.from(`<!DOCTYPE html><html><body>${'x'.repeat(10_000)}</body></html>`);
      const { location } = await createUpload(visitor, 'types', 'photo.png', page.byteLength);
      const refused = await patchUpload(visitor, location, 0, page);
      assert.equal(refused.status, 415);
      assert.equal(await errorCode(refused), 'type_not_allowed');
      assert.equal((await headUpload(visitor, location)).status, 404);
      assert.equal(await running.blobCount(), 0);
    });

    test('a PATCH too short for the sniff leaves the decision to the one that completes the first bytes', async () => {
      const visitor = new Visitor(running.baseUrl);
      const page = Buffer.from(`<!DOCTYPE html><html><body>${'x'.repeat(10_000)}</body></html>`);
      const { location } = await createUpload(visitor, 'types', 'photo.png', page.byteLength);
      assert.equal((await patchUpload(visitor, location, 0, page.subarray(0, 20))).status, 204);
      const refused = await patchUpload(visitor, location, 20, page.subarray(20));
      assert.equal(refused.status, 415);
      assert.equal((await headUpload(visitor, location)).status, 404);
      assert.equal(await running.blobCount(), 0);
    });

    test('an allowed type finishes with the type sniffed from its content', async () => {
      const visitor = new Visitor(running.baseUrl);
      const png = await testImage(64, 64).png().toBuffer();
      assert.ok(png.byteLength > 6000);
      const { location } = await createUpload(visitor, 'types', 'picture', png.byteLength);
      assert.equal((await patchUpload(visitor, location, 0, png.subarray(0, 3000))).status, 204);
      const done = await patchUpload(visitor, location, 3000, png.subarray(3000));
      assert.equal(done.status, 204, await done.text());
      assert.equal((JSON.parse(done.headers.get('attachment')!) as AttachmentBody).mimetype, 'image/png');
    });
  });
}
