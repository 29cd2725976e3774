// The remove-outdated-attachments command, run as a real process on both databases.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ageAttachments, runCli } from '../support/cli.js';
import { DATABASE_KINDS } from '../support/databases.js';
import { PLACEMENTS, startApp, type RunningApp } from '../support/test-app.js';
import { Visitor } from '../support/visitor.js';

const DAY = 24 * 3600_000;

for (const kind of DATABASE_KINDS) {
  for (const placement of PLACEMENTS) {
    describe(`remove-outdated-attachments on ${kind}, ${placement.name}`, () => {
      let running: RunningApp;
      before(async () => {
        running = await startApp(kind, { attachments: { inlineMaxSize: placement.inlineMaxSize } });
      });
      after(() => running.close());

      test('--older-than=3 (days) removes only what is older than three days, and prints what it removed', async () => {
        const visitor = new Visitor(running.baseUrl);
        await visitor.upload('/attachments/days', [
          ['f', 'old.txt', 'old!'],
          ['f', 'fresh.txt', 'fresh'],
        ]);
        await ageAttachments(running, 4 * DAY, ['old.txt']);
        const blobs = await running.heldFileCount();
        const result = await runCli(running, ['remove-outdated-attachments', '--older-than=3']);
        assert.equal(result.code, 0, result.stderr);
        assert.match(result.stdout, /Removed 1 attachment\(s\), 4 B/);
        assert.deepEqual(await visitor.names('days'), ['fresh.txt']);
        assert.equal(await running.heldFileCount(), blobs - 1);
      });

      // Time is moved, not waited for: the row is aged in the database, and the margin to the
      // fresh file (90 minutes) holds however slowly the CLI starts on a loaded machine.
      test('--older-than=90m removes a file last written two hours ago and keeps one written now', async () => {
        const visitor = new Visitor(running.baseUrl);
        await visitor.upload('/attachments/minutes', [
          ['f', 'earlier.txt', 'e'],
          ['f', 'now.txt', 'n'],
        ]);
        await ageAttachments(running, 2 * 3600_000, ['earlier.txt']);
        const result = await runCli(running, ['remove-outdated-attachments', '--older-than=90m']);
        assert.equal(result.code, 0, result.stderr);
        assert.match(result.stdout, /Removed 1 attachment\(s\)/);
        assert.deepEqual(await visitor.names('minutes'), ['now.txt']);
      });

      test('--dry-run --verbose lists what would go and removes nothing', async () => {
        const visitor = new Visitor(running.baseUrl);
        await visitor.upload('/attachments/dry', [['f', 'stale.txt', 'stale']]);
        await ageAttachments(running, 10 * DAY, ['stale.txt']);
        const result = await runCli(running, ['remove-outdated-attachments', '--older-than=5', '--dry-run', '--verbose']);
        assert.equal(result.code, 0, result.stderr);
        assert.match(result.stdout, /dry\/stale\.txt 5 B 10d old/);
        assert.match(result.stdout, /Would remove 1 attachment\(s\), 5 B/);
        assert.deepEqual(await visitor.names('dry'), ['stale.txt']);
        const verbose = await runCli(running, ['remove-outdated-attachments', '--older-than=5', '-v']);
        assert.match(verbose.stdout, /^\S+… dry\/stale\.txt 5 B 10d old$/m);
        assert.deepEqual(await visitor.names('dry'), []);
      });

      test('bad arguments exit non-zero with a clear message', async () => {
        for (const value of ['abc', '-1']) {
          const result = await runCli(running, ['remove-outdated-attachments', `--older-than=${value}`]);
          assert.notEqual(result.code, 0, value);
          assert.match(result.stderr, /--older-than must be a number of days \(3\) or a duration/, value);
        }
        const missing = await runCli(running, ['remove-outdated-attachments']);
        assert.notEqual(missing.code, 0);
        assert.match(missing.stderr, /required option '--older-than <age>' not specified/);
      });

      // `dry-run` without its dashes was an ignored word: a person who meant a dry run lost files.
      test('a stray argument (dry-run without its dashes) exits 1 and removes nothing', async () => {
        const visitor = new Visitor(running.baseUrl);
        await visitor.upload('/attachments/stray', [['f', 'kept.txt', 'kept']]);
        await ageAttachments(running, 10 * DAY, ['kept.txt']);
        const result = await runCli(running, ['remove-outdated-attachments', '--older-than=5', 'dry-run']);
        assert.equal(result.code, 1, result.stdout);
        assert.match(result.stderr, /too many arguments for 'remove-outdated-attachments'/);
        assert.deepEqual(await visitor.names('stray'), ['kept.txt']);
      });

      test('--help lists the command', async () => {
        const result = await runCli(running, ['--help']);
        assert.equal(result.code, 0);
        assert.match(result.stdout, /remove-outdated-attachments/);
      });
    });
  }
}
