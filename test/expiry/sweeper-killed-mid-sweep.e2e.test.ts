// One sweeper per cluster (PostgreSQL's advisory lock), and an instance killed mid-sweep does
// not keep the others from sweeping: its lock goes with its connection.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AttachmentsSweeper } from '../../src/attachments/index.js';
import { startApp, type RunningApp } from '../support/test-app.js';
import { waitFor } from '../support/wait-for.js';

const stalledSweeper = resolve(import.meta.dirname, '../fixtures/stalled-sweeper/main.js');

describe('an instance killed mid-sweep (postgres)', () => {
  let running: RunningApp;
  before(async () => {
    running = await startApp('postgres');
  });
  after(() => running.close());

  test('while it sweeps the others skip; once it is killed the next sweep runs', async () => {
    const child = spawn(process.execPath, [stalledSweeper], {
      env: { ...process.env, ...running.database.env, ATTACHMENTS_DIR: running.attachmentsDirectory },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      await new Promise<void>((ready, fail) => {
        child.once('exit', (code) => fail(new Error(`the stalled sweeper exited with ${code}`)));
        child.stdout.on('data', (chunk: Buffer) => chunk.toString().includes('sweeping') && ready());
      });
      const sweeper = running.app.get(AttachmentsSweeper);
      assert.equal(await sweeper.sweep(), undefined, 'another instance holds the lock: this one skips');
      child.kill('SIGKILL');
      await once(child, 'exit');
      // The server notices the closed connection on its own time: poll, do not wait a fixed while.
      assert.ok(await waitFor(async () => (await sweeper.sweep()) !== undefined), 'the lock went with the killed process');
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });
});
