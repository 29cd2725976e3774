// The test command itself: whatever goes wrong in a test file, it exits non-zero, and its
// summary line counts passed, failed and skipped tests apart. Runs the real runner as a process
// on the fixture files in test/fixtures/runner.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, test } from 'node:test';

const distTest = resolve(import.meta.dirname, '..');
const runner = resolve(distTest, 'support/run-tests.js');

/**
 * The runner's environment: no NODE_TEST_CONTEXT (inherited from this test process, it makes a
 * nested run() skip its files), and a database URL so that it starts no server (the fixtures
 * need none).
 */
function runnerEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATABASE_URL: process.env.DATABASE_URL ?? 'postgres://unused@127.0.0.1:1/unused',
  };
  delete env.NODE_TEST_CONTEXT;
  return env;
}

function runFixtures(folder: string): { status: number | null; summary: string; output: string } {
  const result = spawnSync(process.execPath, [runner, `--root=${resolve(distTest, 'fixtures/runner', folder)}`], {
    encoding: 'utf8',
    env: runnerEnv(),
    timeout: 120_000,
  });
  const output = `${result.stdout}${result.stderr}`;
  const summary = result.stdout.trim().split('\n').at(-1) ?? '';
  return { status: result.status, summary, output };
}

describe('the test runner', () => {
  test('a failing assertion makes it exit non-zero, and it says so in the summary', () => {
    const result = runFixtures('failing');
    assert.equal(result.summary, '1 passed, 1 failed, 0 skipped', result.output);
    assert.notEqual(result.status, 0, result.output);
  });

  test('a test file that throws while loading makes it exit non-zero', () => {
    const result = runFixtures('crashing');
    assert.match(result.summary, /^0 passed, [1-9]\d* failed, 0 skipped$/, result.output);
    assert.notEqual(result.status, 0, result.output);
  });

  test('a failing before hook makes it exit non-zero', () => {
    const result = runFixtures('failing-hook');
    assert.match(result.summary, /^0 passed, [1-9]\d* failed, 0 skipped$/, result.output);
    assert.notEqual(result.status, 0, result.output);
  });

  test('skipped tests are counted as skipped, not passed, and do not fail the run', () => {
    const result = runFixtures('skipping');
    assert.equal(result.summary, '1 passed, 0 failed, 1 skipped', result.output);
    assert.equal(result.status, 0, result.output);
  });

  test('all passing exits 0', () => {
    const result = runFixtures('passing');
    assert.equal(result.summary, '2 passed, 0 failed, 0 skipped', result.output);
    assert.equal(result.status, 0, result.output);
  });

  test('a filter that matches no test file exits non-zero', () => {
    const result = spawnSync(
      process.execPath,
      [runner, `--root=${resolve(distTest, 'fixtures/runner/passing')}`, 'no-such-file'],
      {
        encoding: 'utf8',
        env: runnerEnv(),
        timeout: 120_000,
      },
    );
    assert.notEqual(result.status, 0, result.stdout + result.stderr);
    assert.match(result.stderr, /No test file/);
  });

  test('a run that cannot start PostgreSQL says why and how to fix it, and exits non-zero', () => {
    const env = runnerEnv();
    delete env.DATABASE_URL;
    env.TMPDIR = '/nonexistent-folder-for-the-runner-test';
    const result = spawnSync(process.execPath, [runner, `--root=${resolve(distTest, 'fixtures/runner/passing')}`], {
      encoding: 'utf8',
      env,
      timeout: 120_000,
    });
    assert.notEqual(result.status, 0, result.stdout + result.stderr);
    assert.match(result.stderr, /^Could not start a PostgreSQL server for this run: .+ DATABASE_URL=postgres:\/\/\S+ npm test$/m);
  });
});
