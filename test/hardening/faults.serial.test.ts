// Faults that lose nothing acknowledged: the database going away, a full disk, kill -9.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AttachmentsSweeper } from '../../src/attachments/index.js';
import { databaseOptionsFromEnv } from '../../src/database.js';
import { createTestDatabase, withClient, type TestDatabase } from '../support/databases.js';
import { freePort, startEmbeddedPostgres, type RunningPostgres } from '../support/postgres-server.js';
import { startApp, type RunningApp } from '../support/test-app.js';
import { Visitor, type AttachmentBody } from '../support/visitor.js';
import { waitFor } from '../support/wait-for.js';

const projectRoot = resolve(import.meta.dirname, '../../..');
const code = async (response: Response) => ((await response.json()) as { code: string }).code;

/** Uploads after.txt until the database answers again; the last status. */
async function uploadOnceBack(visitor: Visitor, path: string): Promise<number> {
  let status = 0;
  await waitFor(
    async () => {
      status = (await visitor.upload(path, [['f', 'after.txt', 'after']])).status;
      return status === 201;
    },
    60_000,
    100,
  );
  return status;
}

describe('the database goes away and comes back (real PostgreSQL, stopped and restarted)', () => {
  let server: RunningPostgres;
  let running: RunningApp;
  before(async () => {
    server = await startEmbeddedPostgres();
    const env = { DATABASE_URL: server.url };
    const database: TestDatabase = { kind: 'postgres', env, options: databaseOptionsFromEnv(env), drop: async () => undefined };
    // Every file in the storage: the test counts the bytes a refused upload leaves on disk (an
    // inline file's bytes are only ever in memory and in its row).
    running = await startApp('postgres', { database, attachments: { inlineMaxSize: 0 } });
  });
  after(async () => {
    await running.close();
    await server.stop();
  });

  test('503 with a JSON body while it is down, nothing partial stored, and recovery without a restart', async () => {
    const visitor = new Visitor(running.baseUrl);
    assert.equal((await visitor.upload('/attachments/outage', [['f', 'before.txt', 'before']])).status, 201);
    await server.pause();
    const upload = await visitor.upload('/attachments/outage', [['f', 'during.txt', 'during']]);
    assert.equal(upload.status, 503);
    assert.equal(await code(upload), 'database_unavailable');
    const list = await visitor.get('/attachments/outage');
    assert.equal(list.status, 503);
    assert.equal(await code(list), 'database_unavailable');
    assert.equal(await running.temporaryCount(), 0);
    assert.equal(await running.blobCount(), 1, 'the refused upload left no bytes');
    await server.resume();
    assert.equal(await uploadOnceBack(visitor, '/attachments/outage'), 201);
    assert.deepEqual(
      (await visitor.json<AttachmentBody[]>('/attachments/outage')).map((a) => a.name),
      ['after.txt', 'before.txt'],
    );
    assert.equal(await visitor.text('/attachments/outage/before.txt'), 'before');
  });

  test('an app whose very first upload meets the outage recovers too', async () => {
    // The first upload is when the module looks for its PostgreSQL function: a failed look-up
    // must not be remembered as the answer.
    const database: TestDatabase = { ...running.database, drop: async () => undefined };
    const fresh = await startApp('postgres', { database });
    try {
      const visitor = new Visitor(fresh.baseUrl);
      await server.pause();
      assert.equal((await visitor.upload('/attachments/first', [['f', 'during.txt', 'during']])).status, 503);
      await server.resume();
      assert.equal(await uploadOnceBack(visitor, '/attachments/first'), 201);
      assert.deepEqual(
        (await visitor.json<AttachmentBody[]>('/attachments/first')).map((a) => a.name),
        ['after.txt'],
      );
    } finally {
      await fresh.close();
    }
  });
});

describe('the disk fills up', () => {
  let mountPoint: string;
  let mounted = false;
  let running: RunningApp;
  before(async () => {
    mountPoint = await mkdtemp(join(tmpdir(), 'attachments-small-disk-'));
    // A real 1 MiB filesystem where the machine allows mounting one (root, as in CI).
    mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mountPoint]).status === 0;
    running = await startApp('sqlite', { attachmentsDirectory: mountPoint, attachments: { limits: { fileSize: '8MB' } } });
  });
  after(async () => {
    await running.close();
    if (mounted) spawnSync('umount', [mountPoint]);
    await rm(mountPoint, { recursive: true, force: true });
  });

  test('ENOSPC → 507 with nothing partial left, and small files still fit afterwards', async (t) => {
    if (!mounted) {
      // Say so loudly: without the small filesystem this test proves nothing, and CI must not pass silently.
      t.diagnostic('could not mount a 1 MiB tmpfs on this machine (not root?)');
      assert.fail('a real small filesystem is needed for the disk-full test; run as root (CI does)');
    }
    const visitor = new Visitor(running.baseUrl);
    assert.equal((await visitor.upload('/attachments/disk', [['f', 'small.txt', 'fits']])).status, 201);
    const full = await visitor.upload('/attachments/disk', [['f', 'huge.txt', 'x'.repeat(3 * 1024 * 1024)]]);
    assert.equal(full.status, 507);
    assert.equal(await code(full), 'storage_full');
    assert.equal(await running.temporaryCount(), 0);
    assert.equal(await running.heldFileCount(), 1);
    assert.deepEqual(
      (await visitor.json<AttachmentBody[]>('/attachments/disk')).map((a) => a.name),
      ['small.txt'],
    );
    assert.equal((await visitor.upload('/attachments/disk', [['f', 'also-small.txt', 'fits too']])).status, 201);
  });
});

describe('kill -9 mid-upload', () => {
  let database: TestDatabase;
  let directory: string;
  before(async () => {
    database = await createTestDatabase('postgres');
    directory = await mkdtemp(join(tmpdir(), 'attachments-kill-'));
  });
  after(async () => {
    await database.drop();
    await rm(directory, { recursive: true, force: true });
  });

  test('after the restart no partial attachment is visible, and the orphan sweep removes the leftover', async () => {
    const port = await freePort();
    const server = spawn('node', ['dist/src/main.js'], {
      cwd: projectRoot,
      env: { ...process.env, ...database.env, PORT: String(port), ATTACHMENTS_DIR: directory, SESSION_SECRET: 'kill-test' },
      stdio: 'ignore',
    });
    const baseUrl = `http://127.0.0.1:${port}`;
    try {
      await waitFor(() =>
        fetch(`${baseUrl}/attachments/probe`).then(
          () => true,
          () => false,
        ),
      );
      const upload = httpRequest(`${baseUrl}/attachments/killed`, {
        method: 'POST',
        headers: { 'content-type': 'multipart/form-data; boundary=kill', 'content-length': String(10 * 1024 * 1024) },
      });
      upload.on('error', () => undefined);
      upload.write('--kill\r\nContent-Disposition: form-data; name="f"; filename="partial.txt"\r\n\r\n');
      upload.write(Buffer.alloc(512 * 1024, 'p'));
      const temporary = join(directory, 'tmp');
      await waitFor(async () => (await readdir(temporary).catch(() => [])).length > 0);
      assert.equal((await readdir(temporary)).length, 1, 'the upload was under way');
      server.kill('SIGKILL');
      await new Promise((done) => server.once('exit', done));
      upload.destroy();
    } finally {
      server.kill('SIGKILL');
    }
    const rows = await withClient(database.env.DATABASE_URL!, (client) =>
      client.query<{ n: number }>('SELECT COUNT(*)::int AS n FROM session_attachments'),
    );
    assert.equal(rows.rows[0]?.n, 0, 'no partial attachment is visible');
    const restarted = await startApp('postgres', { database, attachmentsDirectory: directory });
    try {
      assert.equal(await restarted.temporaryCount(), 1, 'the leftover is still there');
      assert.equal(await restarted.app.get(AttachmentsSweeper).removeOrphans(0), 1);
      assert.equal(await restarted.temporaryCount(), 0);
      assert.equal(await restarted.heldFileCount(), 0);
    } finally {
      await restarted.close();
    }
  });
});
