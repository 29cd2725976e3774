import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import sharp from 'sharp';
import { resolveOptions } from '../../src/attachments/attachments.options.js';
import { InvalidAttachmentsOptionError, type AttachmentsModuleOptions } from '../../src/attachments/index.js';

function refuses(options: unknown, option: string): void {
  assert.throws(
    () => resolveOptions(options as AttachmentsModuleOptions),
    (error: unknown) => error instanceof InvalidAttachmentsOptionError && error.message.includes(`option "${option}" must be`),
    `refused naming ${option}`,
  );
}

describe('previews and inspect options', () => {
  test('both are off by default; inspectTimeout defaults to 30s', () => {
    const options = resolveOptions();
    assert.equal(options.previews, undefined);
    assert.equal(options.inspect, undefined);
    assert.equal(options.inspectTimeout, 30_000);
  });

  test('previews take the host sharp, a pixel limit and a time budget in whole seconds', () => {
    assert.deepEqual(resolveOptions({ previews: { sharp } }).previews, {
      sharp,
      maxInputPixels: 50_000_000,
      timeoutSeconds: 10,
      concurrency: 2,
    });
    const tuned = resolveOptions({ previews: { sharp, maxInputPixels: 1000, timeout: 1500, concurrency: 4 } }).previews;
    assert.deepEqual(tuned, { sharp, maxInputPixels: 1000, timeoutSeconds: 2, concurrency: 4 });
  });

  test('a bad previews, inspect or inspectTimeout option fails naming it', () => {
    refuses({ previews: true }, 'previews');
    refuses({ previews: {} }, 'previews');
    refuses({ previews: { sharp: 'sharp' } }, 'previews');
    refuses({ previews: { sharp, maxInputPixels: 0 } }, 'previews.maxInputPixels');
    refuses({ previews: { sharp, concurrency: 0 } }, 'previews.concurrency');
    refuses({ previews: { sharp, concurrency: 1.5 } }, 'previews.concurrency');
    refuses({ previews: { sharp, timeout: '10' } }, 'previews.timeout');
    refuses({ inspect: 'clamd' }, 'inspect');
    refuses({ inspectTimeout: '30' }, 'inspectTimeout');
    refuses({ inspectTimeout: 0 }, 'inspectTimeout');
    refuses({ inspectTimeout: '30d' }, 'inspectTimeout');
  });
});
