// A tus upload outlives the app: half of it is sent, the Nest app is stopped, a new one starts
// on the same database, storage and session store, and the visitor resumes there with the same
// cookie. On disk (in place) and on S3 (parts), on both databases; bytes checked by sha256.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { AttachmentStorage } from '../../src/attachments/index.js';
import { S3Storage } from '../../src/attachments/s3.js';
import { DATABASE_KINDS, createTestDatabase, type TestDatabase } from '../support/databases.js';
import { startS3Server, type RunningS3Server } from '../support/s3-server.js';
import { startApp, type RunningApp } from '../support/test-app.js';
import { createTusUpload, tusOffset, tusPatch } from '../support/tus-requests.js';
import { Visitor } from '../support/visitor.js';

const MiB = 1024 * 1024;
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

let s3: RunningS3Server;
before(async () => {
  s3 = await startS3Server();
});
after(() => s3.stop());

for (const kind of DATABASE_KINDS) {
  for (const storage of ['disk', 's3'] as const) {
    describe(`resume after a restart of the app, ${storage}, ${kind}`, () => {
      let database: TestDatabase;
      /** Sessions in PostgreSQL, as a deployment keeps them, so that the cookie outlives the app. */
      let sessions: TestDatabase;
      let directory: string;
      let bucket: string;
      /** The app running now (one at a time). */
      let current: RunningApp | undefined;
      before(async () => {
        database = await createTestDatabase(kind);
        sessions = kind === 'postgres' ? database : await createTestDatabase('postgres');
        directory = await mkdtemp(join(tmpdir(), 'attachments-restart-'));
        bucket = await s3.createBucket();
      });
      after(async () => {
        await current?.close();
        await database.drop();
        if (sessions !== database) await sessions.drop();
        await rm(directory, { recursive: true, force: true });
      });

      /** A new app on the same database, storage (a new storage object each time) and sessions. */
      async function start(): Promise<RunningApp> {
        const bytes: AttachmentStorage | undefined =
          storage === 's3' ? new S3Storage({ bucket, client: s3.client, partSize: 5 * MiB }) : undefined;
        const app = await startApp(kind, {
          database,
          attachmentsDirectory: directory,
          sessionStore: { kind: 'postgres', url: sessions.env.DATABASE_URL! },
          attachments: { inlineMaxSize: 0, ...(bytes ? { storage: bytes } : {}) },
        });
        current = app;
        return app;
      }

      test('half sent, the app stopped, a new one started: HEAD there gives the half, the rest completes it, checked by sha256', async () => {
        const file = randomBytes(20 * MiB + 3);
        const half = 10 * MiB;
        const first = await start();
        const visitor = new Visitor(first.baseUrl);
        const path = await createTusUpload(visitor, 'draft', 'report.pdf', file.length);
        const sent = await tusPatch(first.baseUrl + path, visitor.cookie, 0, file.subarray(0, half));
        assert.equal(sent.status, 204, sent.body);
        assert.equal(sent.offset, half);
        await first.close();
        current = undefined;

        const second = await start();
        const again = new Visitor(second.baseUrl);
        again.cookie = visitor.cookie;
        const head = await tusOffset(again, path);
        assert.equal(head.status, 200);
        assert.equal(head.offset, half);
        const done = await tusPatch(second.baseUrl + path, again.cookie, half, file.subarray(half));
        assert.equal(done.status, 204, done.body);
        assert.equal(done.offset, file.length);
        assert.equal(done.attachment?.sha256, sha256(file));
        const download = await again.get('/attachments/draft/report.pdf');
        assert.equal(download.status, 200);
        assert.equal(sha256(new Uint8Array(await download.arrayBuffer())), sha256(file));
        // A stranger on the new app finds nothing: ownership came through the restart too.
        const stranger = new Visitor(second.baseUrl);
        assert.equal((await tusOffset(stranger, path)).status, 404);
      });
    });
  }
}
