// `nest start` compiles the project into dist/ before it runs the command, so this file runs
// alone, after the others (the runner's `.serial.test.js` rule): no test reads dist/ meanwhile.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ageAttachments, runCli } from '../support/cli.js';
import { startApp, type RunningApp } from '../support/test-app.js';
import { Visitor } from '../support/visitor.js';

const DAY = 24 * 3600_000;

describe('the command through the Nest CLI (nest-cli.json)', () => {
  let running: RunningApp;
  before(async () => {
    running = await startApp('sqlite');
  });
  after(() => running.close());

  test('npx nest start --entryFile cli -- remove-outdated-attachments --older-than=3', async () => {
    const visitor = new Visitor(running.baseUrl);
    await visitor.upload('/attachments/nest', [
      ['f', 'old.txt', 'o'],
      ['f', 'new.txt', 'n'],
    ]);
    await ageAttachments(running, 4 * DAY, ['old.txt']);
    const result = await runCli(
      running,
      ['remove-outdated-attachments', '--older-than=3'],
      ['npx', 'nest', 'start', '--entryFile', 'cli', '--'],
    );
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /Removed 1 attachment\(s\)/);
    assert.deepEqual(await visitor.names('nest'), ['new.txt']);
  });
});
