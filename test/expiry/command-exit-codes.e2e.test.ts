// The command's exit codes in a host's own command line (the README's cli.ts), whose
// nest-commander error handler only prints: a cron job must see a failed round as failed.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createTestDatabase, DATABASE_KINDS, type TestDatabase } from '../support/databases.js';

const hostCli = resolve(import.meta.dirname, '../fixtures/host-cli/cli.js');
const MISSING_TABLE = { sqlite: /no such table: session_attachments/, postgres: /relation "session_attachments" does not exist/ };

for (const kind of DATABASE_KINDS) {
  describe(`remove-outdated-attachments in a host's command line, on ${kind} without the module's migrations`, () => {
    let folder: string;
    let database: TestDatabase;
    before(async () => {
      folder = await mkdtemp(join(tmpdir(), 'attachments-host-cli-'));
      database = await createTestDatabase(kind);
    });
    after(async () => {
      await database.drop();
      await rm(folder, { recursive: true, force: true });
    });

    const runHostCli = (args: string[]) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((done) => {
        const env = {
          ...process.env,
          DATABASE_URL: '',
          DATABASE_PATH: '',
          ...database.env,
          ATTACHMENTS_DIR: join(folder, 'files'),
        };
        execFile(process.execPath, [hostCli, ...args], { env, timeout: 120_000 }, (error, stdout, stderr) => {
          done({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr });
        });
      });

    test('the round fails: exit 1, naming the missing table and the migrations to run', async () => {
      const result = await runHostCli(['remove-outdated-attachments', '--older-than=3']);
      assert.equal(result.code, 1, result.stderr);
      assert.match(result.stderr, MISSING_TABLE[kind]);
      assert.match(result.stderr, /run its migrations \(attachmentsMigrations/);
      assert.doesNotMatch(result.stdout, /Removed/);
    });

    test('a bad --older-than exits 1 with a message that names the flag', async () => {
      const result = await runHostCli(['remove-outdated-attachments', '--older-than=abc']);
      assert.equal(result.code, 1, result.stderr);
      assert.match(result.stderr, /--older-than must be a number of days \(3\) or a duration such as 36h, 90m or 2s; got "abc"/);
    });
  });
}
