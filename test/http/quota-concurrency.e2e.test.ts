// Per-session quotas are exact however many uploads of one visitor arrive at once.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DataSource } from 'typeorm';
import { PUT_FUNCTION_ARGUMENTS } from '../../src/attachments/persistence/put-function.js';
import { DATABASE_KINDS } from '../support/databases.js';
import { startApp, type RunningApp } from '../support/test-app.js';
import { Visitor } from '../support/visitor.js';

const PARALLEL = 24;
const FILE = 'x'.repeat(1000);

interface Stored {
  bundles: number;
  files: number;
  bytes: number;
}

async function stored(running: RunningApp): Promise<Stored> {
  const [row] = await running.app
    .get(DataSource)
    .query<Array<{ bundles: string | number; files: string | number; bytes: string | number | null }>>(
      'SELECT COUNT(DISTINCT bundle) AS bundles, COUNT(*) AS files, SUM(size) AS bytes FROM session_attachments',
    );
  return { bundles: Number(row?.bundles), files: Number(row?.files), bytes: Number(row?.bytes ?? 0) };
}

/** A visitor whose session exists, then PARALLEL uploads fired at once; their statuses and codes. */
async function burst(
  running: RunningApp,
  bundleOf: (index: number) => string,
): Promise<Array<{ status: number; code?: string }>> {
  const visitor = new Visitor(running.baseUrl);
  await visitor.json('/attachments/warm-up');
  const responses = await Promise.all(
    Array.from({ length: PARALLEL }, (_, index) =>
      visitor.upload(`/attachments/${bundleOf(index)}`, [['f', `f${index}.txt`, FILE]]),
    ),
  );
  return Promise.all(
    responses.map(async (response) => {
      const body = (await response.json()) as { code?: string };
      return response.status === 201 ? { status: 201 } : { status: response.status, code: body.code };
    }),
  );
}

function tally(results: Array<{ status: number; code?: string }>): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const { status, code } of results) {
    const key = code ? `${status} ${code}` : String(status);
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

for (const kind of DATABASE_KINDS) {
  describe(`quotas under parallel uploads of one session on ${kind}`, () => {
    describe('bundlesPerSession', () => {
      let running: RunningApp;
      before(async () => {
        running = await startApp(kind, { attachments: { limits: { bundlesPerSession: 3, bytesPerSession: 1_000_000 } } });
      });
      after(() => running.close());

      test('uploads into many new bundles at once: exactly as many bundles as allowed, the rest 400 too_many_bundles', async () => {
        const results = await burst(running, (index) => `bundle-${index}`);
        assert.deepEqual(tally(results), { 201: 3, '400 too_many_bundles': PARALLEL - 3 });
        assert.deepEqual(await stored(running), { bundles: 3, files: 3, bytes: 3 * FILE.length });
      });
    });

    describe('bytesPerSession', () => {
      let running: RunningApp;
      before(async () => {
        running = await startApp(kind, { attachments: { limits: { bundlesPerSession: 100, bytesPerSession: 10_000 } } });
      });
      after(() => running.close());

      test('uploads into many bundles at once: exactly as many bytes as allowed, the rest 413 session_quota_exceeded', async () => {
        const results = await burst(running, (index) => `bundle-${index}`);
        assert.deepEqual(tally(results), { 201: 10, '413 session_quota_exceeded': PARALLEL - 10 });
        assert.deepEqual(await stored(running), { bundles: 10, files: 10, bytes: 10_000 });
      });
    });

    describe('filesPerBundle', () => {
      let running: RunningApp;
      before(async () => {
        running = await startApp(kind, { attachments: { limits: { filesPerBundle: 5 } } });
      });
      after(() => running.close());

      test('uploads into one bundle at once: exactly as many files as allowed, the rest 400 bundle_full', async () => {
        const results = await burst(running, () => 'one-bundle');
        assert.deepEqual(tally(results), { 201: 5, '400 bundle_full': PARALLEL - 5 });
        assert.deepEqual(await stored(running), { bundles: 1, files: 5, bytes: 5 * FILE.length });
      });
    });
  });
}

describe('quotas under parallel uploads of one session on postgres without session_attachments_put', () => {
  // A schema made by `synchronize` has no function: the statements run from TypeScript, under
  // the same session lock.
  let running: RunningApp;
  before(async () => {
    running = await startApp('postgres', { attachments: { limits: { bundlesPerSession: 5, bytesPerSession: 4_000 } } });
    await running.app.get(DataSource).query(`DROP FUNCTION session_attachments_put${PUT_FUNCTION_ARGUMENTS}`);
  });
  after(() => running.close());

  test('uploads into many bundles at once: both session quotas hold exactly', async () => {
    const results = await burst(running, (index) => `bundle-${index}`);
    assert.deepEqual(tally(results), { 201: 4, '413 session_quota_exceeded': PARALLEL - 4 });
    assert.deepEqual(await stored(running), { bundles: 4, files: 4, bytes: 4_000 });
  });
});
