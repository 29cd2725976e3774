// A download writes a disk blob into the answer reusing two buffers, which is only safe while
// nothing keeps a written chunk past its callback. A host middleware that wraps `res.write`
// (compression, an ETag computer, this buffering one) may keep chunks, so such an answer must
// get fresh chunks: the bytes that arrive are the file's, not the last buffer's, repeated.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { startApp, type RunningApp } from '../support/test-app.js';
import { Visitor } from '../support/visitor.js';

/** Keeps every chunk written and sends them all at the end, as a buffering middleware does. */
function bufferingMiddleware(counter: { chunks: number }) {
  return (_request: unknown, response: ServerResponse, next: () => void) => {
    const held: Buffer[] = [];
    const write = response.write.bind(response);
    const end = response.end.bind(response);
    response.write = ((chunk: Buffer, ...rest: unknown[]) => {
      counter.chunks += 1;
      held.push(chunk);
      const callback = rest.find((value) => typeof value === 'function') as (() => void) | undefined;
      // Calls back at once, before the bytes went anywhere: allowed for a wrapper.
      if (callback) process.nextTick(callback);
      return true;
    }) as ServerResponse['write'];
    response.end = ((...args: unknown[]) => {
      for (const chunk of held.splice(0)) write(chunk);
      return (end as (...values: unknown[]) => ServerResponse)(...args);
    }) as ServerResponse['end'];
    next();
  };
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

describe('a download through a host middleware that wraps res.write', () => {
  let running: RunningApp;
  const counter = { chunks: 0 };
  before(async () => {
    running = await startApp('sqlite', {
      attachments: { inlineMaxSize: 0 },
      beforeListen: (app) => app.use(bufferingMiddleware(counter)),
    });
  });
  after(() => running.close());

  test('gets the file’s bytes, whole and in a range, through the wrapper', async () => {
    // Several 256 KiB reads, the last one short, so reused buffers would show.
    const content = randomBytes(3 * 256 * 1024 + 1234);
    const visitor = new Visitor(running.baseUrl);
    const uploaded = await visitor.upload('/attachments/wrapped', [['f', 'noise.bin', content]]);
    assert.equal(uploaded.status, 201);

    counter.chunks = 0;
    const whole = await visitor.get('/attachments/wrapped/noise.bin');
    assert.equal(whole.status, 200);
    assert.equal(sha256(new Uint8Array(await whole.arrayBuffer())), sha256(content));
    assert.ok(counter.chunks >= 4, `the wrapper saw ${counter.chunks} chunks`);

    const start = 100_000;
    const end = 2 * 256 * 1024 + 5_000;
    const part = await visitor.get('/attachments/wrapped/noise.bin', { range: `bytes=${start}-${end}` });
    assert.equal(part.status, 206);
    assert.equal(sha256(new Uint8Array(await part.arrayBuffer())), sha256(content.subarray(start, end + 1)));
  });
});
