// The demo and its command line, started as real processes, choose their storage by environment:
// ATTACHMENTS_STORAGE=s3 with the S3_* variables against s3rver, and clear refusals otherwise.
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { freePort } from '../support/postgres-server.js';
import { startS3Server, type RunningS3Server } from '../support/s3-server.js';
import { Visitor } from '../support/visitor.js';
import { waitFor } from '../support/wait-for.js';

const projectRoot = resolve(import.meta.dirname, '../../..');

let server: RunningS3Server;
let folder: string;
before(async () => {
  server = await startS3Server();
  folder = await mkdtemp(join(tmpdir(), 'attachments-s3-demo-'));
});
after(async () => {
  await server.stop();
  await rm(folder, { recursive: true, force: true });
});

/** The environment of a demo process on its own SQLite file and an empty attachments folder. */
function demoEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  return {
    ...process.env,
    DATABASE_URL: '',
    DATABASE_PATH: join(folder, 'demo.sqlite'),
    ATTACHMENTS_DIR: join(folder, 'files'),
    SESSION_SECRET: 's3-demo',
    ...extra,
  };
}

/** Runs a process to its end: its exit code and everything it printed. */
function runToExit(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; output: string }> {
  return new Promise((done) => {
    execFile('node', args, { cwd: projectRoot, env, timeout: 120_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      done({ code, output: stdout + stderr });
    });
  });
}

describe('ATTACHMENTS_STORAGE=s3 in the demo (real processes)', () => {
  test('npm start with ATTACHMENTS_STORAGE=s3 and S3_* keeps the bytes in the bucket, none on disk', async () => {
    const bucket = await server.createBucket();
    const port = await freePort();
    const demo = spawn('node', ['dist/src/main.js'], {
      cwd: projectRoot,
      env: demoEnv({ ...server.env, PORT: String(port), ATTACHMENTS_STORAGE: 's3', S3_BUCKET: bucket, S3_PREFIX: 'demo' }),
      stdio: 'ignore',
    });
    try {
      const baseUrl = `http://127.0.0.1:${port}`;
      assert.ok(
        await waitFor(
          () =>
            fetch(`${baseUrl}/attachments/probe`).then(
              (r) => r.ok,
              () => false,
            ),
          120_000,
        ),
      );
      const visitor = new Visitor(baseUrl);
      // Larger than inlineMaxSize (64kb by default): small files travel with their row instead.
      const content = 'hello from s3 '.repeat(8 * 1024);
      assert.equal((await visitor.upload('/attachments/env', [['f', 'hello.txt', content]])).status, 201);
      assert.equal(await visitor.text('/attachments/env/hello.txt'), content);
      const listed = await server.client.send(new ListObjectsV2Command({ Bucket: bucket }));
      assert.deepEqual(
        (listed.Contents ?? []).map((object) => /^demo\/[0-9a-f]{32}$/.test(object.Key!)),
        [true],
      );
      assert.deepEqual(await readdir(join(folder, 'files')).catch(() => []), []);
    } finally {
      demo.kill();
      if (demo.exitCode === null && demo.signalCode === null) await once(demo, 'exit');
    }
  });

  test('a bucket that does not exist stops the start with a message naming S3_BUCKET', async () => {
    const port = await freePort();
    const result = await runToExit(
      ['dist/src/main.js'],
      demoEnv({ ...server.env, PORT: String(port), ATTACHMENTS_STORAGE: 's3', S3_BUCKET: 'no-such-bucket' }),
    );
    assert.notEqual(result.code, 0);
    assert.match(result.output, /S3_BUCKET="no-such-bucket": bucket "no-such-bucket" does not exist: create it first/);
  });

  test('ATTACHMENTS_STORAGE=s3 without S3_BUCKET, or an unknown ATTACHMENTS_STORAGE, is refused naming the variable', async () => {
    const missing = await runToExit(
      ['dist/src/main.js'],
      demoEnv({ ...server.env, PORT: '0', ATTACHMENTS_STORAGE: 's3', S3_BUCKET: '' }),
    );
    assert.notEqual(missing.code, 0);
    assert.match(missing.output, /S3_BUCKET is required with ATTACHMENTS_STORAGE=s3/);
    const unknown = await runToExit(['dist/src/main.js'], demoEnv({ PORT: '0', ATTACHMENTS_STORAGE: 'gcs' }));
    assert.notEqual(unknown.code, 0);
    assert.match(unknown.output, /ATTACHMENTS_STORAGE must be "disk" or "s3"; got "gcs"/);
  });

  test('npm run cli uses the same storage: it runs against the bucket, and refuses a missing one naming S3_BUCKET', async () => {
    const bucket = await server.createBucket();
    const command = ['dist/src/cli.js', 'remove-outdated-attachments', '--older-than=3'];
    const ok = await runToExit(command, demoEnv({ ...server.env, ATTACHMENTS_STORAGE: 's3', S3_BUCKET: bucket }));
    assert.equal(ok.code, 0, ok.output);
    assert.match(ok.output, /Removed 0 attachment\(s\)/);
    const missing = await runToExit(command, demoEnv({ ...server.env, ATTACHMENTS_STORAGE: 's3', S3_BUCKET: 'no-such-bucket' }));
    assert.notEqual(missing.code, 0);
    assert.match(missing.output, /S3_BUCKET="no-such-bucket": bucket "no-such-bucket" does not exist: create it first/);
  });
});
