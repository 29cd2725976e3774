// The command's progress bar hides the terminal's cursor and redraws on a timer while it
// draws: a round that fails must stop it, or the person's shell is left without a cursor and
// the command never exits.
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { afterEach, describe, mock, test } from 'node:test';
import { RemoveOutdatedAttachmentsCommand } from '../../src/attachments/cli.js';
import type { AttachmentsSweeper, RemoveOutdatedOptions } from '../../src/attachments/index.js';

const HIDE_CURSOR = '\x1b[?25l';
const SHOW_CURSOR = '\x1b[?25h';

describe('remove-outdated-attachments on a terminal', () => {
  const streams = [process.stdout, process.stderr];
  const wasTTY = streams.map((stream) => stream.isTTY);
  afterEach(() => {
    mock.restoreAll();
    streams.forEach((stream, index) => (stream.isTTY = wasTTY[index]!));
    process.exitCode = undefined;
  });

  test('a round that fails after the bar started stops it: the cursor is shown again', async () => {
    let written = '';
    for (const stream of streams) {
      stream.isTTY = true;
      mock.method(stream, 'write', (chunk: string | Uint8Array) => {
        written += String(chunk);
        return true;
      });
    }
    const sweeper = {
      sweep: (options: RemoveOutdatedOptions) => {
        options.onProgress?.(1, 10);
        return Promise.reject(new Error('database gone'));
      },
    } as unknown as AttachmentsSweeper;
    await assert.rejects(new RemoveOutdatedAttachmentsCommand(sweeper).run([], { olderThan: 1000 }), /database gone/);
    mock.restoreAll();
    assert.ok(written.includes(HIDE_CURSOR), 'the bar was drawn');
    assert.ok(written.lastIndexOf(SHOW_CURSOR) > written.lastIndexOf(HIDE_CURSOR), 'the cursor is shown again');
    assert.equal(process.exitCode, 1);
  });
});
