// A small file travels with its row, so its write is the row's commit: a crash after the small
// file has arrived, while the rest of its request is still on its way, leaves nothing visible
// (no row, no inline bytes), on both databases; kill -9 of the real app process.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AttachmentsSweeper } from '../../src/attachments/index.js';
import { createTestDatabase, DATABASE_KINDS, type TestDatabase } from '../support/databases.js';
import { freePort } from '../support/postgres-server.js';
import { startApp } from '../support/test-app.js';
import { Visitor } from '../support/visitor.js';
import { waitFor } from '../support/wait-for.js';

const projectRoot = resolve(import.meta.dirname, '../../..');

for (const kind of DATABASE_KINDS) {
  describe(`kill -9 after an inline file arrived, mid-request (${kind})`, () => {
    let database: TestDatabase;
    let directory: string;
    before(async () => {
      database = await createTestDatabase(kind);
      directory = await mkdtemp(join(tmpdir(), 'attachments-inline-kill-'));
    });
    after(async () => {
      await database.drop();
      await rm(directory, { recursive: true, force: true });
    });

    test('after the restart neither the small file nor the big one is visible, and no bytes are kept', async () => {
      const port = await freePort();
      const server = spawn('node', ['dist/src/main.js'], {
        cwd: projectRoot,
        env: { ...process.env, ...database.env, PORT: String(port), ATTACHMENTS_DIR: directory, SESSION_SECRET: 'kill-test' },
        stdio: 'ignore',
      });
      const baseUrl = `http://127.0.0.1:${port}`;
      let cookie: string | undefined;
      try {
        await waitFor(() =>
          fetch(`${baseUrl}/attachments/killed`).then(
            (response) => {
              cookie = response.headers.get('set-cookie')?.split(';')[0];
              return true;
            },
            () => false,
          ),
        );
        const upload = httpRequest(`${baseUrl}/attachments/killed`, {
          method: 'POST',
          headers: {
            'content-type': 'multipart/form-data; boundary=kill',
            'content-length': String(10 * 1024 * 1024),
            cookie: cookie ?? '',
          },
        });
        upload.on('error', () => undefined);
        // The small file whole (it is staged inline), then half of a big one (it streams to the storage).
        upload.write('--kill\r\nContent-Disposition: form-data; name="f"; filename="small.txt"\r\n\r\n');
        upload.write(Buffer.alloc(1024, 's'));
        upload.write('\r\n--kill\r\nContent-Disposition: form-data; name="f"; filename="big.bin"\r\n\r\n');
        upload.write(Buffer.alloc(512 * 1024, 'b'));
        const temporary = join(directory, 'tmp');
        await waitFor(async () => (await readdir(temporary).catch(() => [])).length > 0);
        server.kill('SIGKILL');
        await new Promise((done) => server.once('exit', done));
        upload.destroy();
      } finally {
        server.kill('SIGKILL');
      }
      const restarted = await startApp(kind, { database, attachmentsDirectory: directory });
      try {
        assert.equal(await restarted.rowCount(), 0, 'no row, so no inline bytes either');
        const visitor = new Visitor(restarted.baseUrl);
        visitor.cookie = cookie;
        assert.deepEqual(await visitor.names('killed'), []);
        assert.equal((await visitor.get('/attachments/killed/small.txt')).status, 404);
        assert.equal(await restarted.app.get(AttachmentsSweeper).removeOrphans(0), 1, 'only the big file left a leftover');
        assert.equal(await restarted.heldFileCount(), 0);
      } finally {
        await restarted.close();
      }
    });
  });
}
