// The command's exit codes in a host's own command line (the README's cli.ts), whose
// nest-commander error handler only prints: a cron job must see a failed round as failed.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';

const hostCli = resolve(import.meta.dirname, '../fixtures/host-cli/cli.js');

describe("remove-outdated-attachments in a host's command line", () => {
  let folder: string;
  before(async () => {
    folder = await mkdtemp(join(tmpdir(), 'attachments-host-cli-'));
  });
  after(() => rm(folder, { recursive: true, force: true }));

  const runHostCli = (args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((done) => {
      const env = { ...process.env, DATABASE_PATH: join(folder, 'unmigrated.sqlite'), ATTACHMENTS_DIR: join(folder, 'files') };
      execFile(process.execPath, [hostCli, ...args], { env, timeout: 120_000 }, (error, stdout, stderr) => {
        done({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr });
      });
    });

  test("a round that fails (the module's tables were never migrated) exits 1, naming the missing table", async () => {
    const result = await runHostCli(['remove-outdated-attachments', '--older-than=3']);
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /no such table: session_attachments/);
    assert.doesNotMatch(result.stdout, /Removed/);
  });

  test('a bad --older-than exits 1 with a message that names the flag', async () => {
    const result = await runHostCli(['remove-outdated-attachments', '--older-than=abc']);
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /--older-than must be a number of days \(3\) or a duration such as 36h, 90m or 2s; got "abc"/);
  });
});
