// PostgreSQL writes an upload's rows through session_attachments_put (one round trip). Without
// it (a schema made by `synchronize`) the module must still work, through a transaction.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { DataSource } from 'typeorm';
import { PutFunctionRemovesPreviews1796600000000 } from '../../src/attachments/migrations/1796600000000-put-function-removes-previews.js';
import { testImage } from '../support/images.js';
import { previewOf, previewRowCount } from '../support/previews.js';
import { startApp, type RunningApp } from '../support/test-app.js';
import { Visitor, type AttachmentBody } from '../support/visitor.js';

const SIGNATURE =
  'session_attachments_put(integer, integer, varchar, varchar, varchar[], varchar[], varchar[], bigint[], varchar[], varchar[], bytea, integer[], bigint, bigint, bigint, bigint, bigint)';

describe('the upload function on postgres', () => {
  let running: RunningApp;
  let dataSource: DataSource;
  before(async () => {
    running = await startApp('postgres', { attachments: { limits: { filesPerBundle: 2 } } });
    dataSource = running.app.get(DataSource);
  });
  after(() => running.close());

  const installed = async () => {
    const [row] = await dataSource.query<Array<{ found: boolean }>>('SELECT to_regprocedure($1) IS NOT NULL AS found', [
      SIGNATURE,
    ]);
    return row?.found;
  };

  test('the shipped migrations install it', async () => {
    assert.equal(await installed(), true);
  });

  test('without it, uploads still store, replace and keep to the quotas', async () => {
    // Dropped before this app's first upload, which is when the module looks for it.
    await dataSource.query(`DROP FUNCTION ${SIGNATURE}`);
    assert.equal(await installed(), false);
    const visitor = new Visitor(running.baseUrl);
    const [first] = (await (await visitor.upload('/attachments/fallback', [['f', 'a.txt', 'one']])).json()) as AttachmentBody[];
    assert.equal((await visitor.upload('/attachments/fallback', [['f', 'b.txt', 'two']])).status, 201);
    const replaced = await visitor.upload('/attachments/fallback', [['f', 'a.txt', 'one, again']]);
    assert.equal(replaced.status, 201);
    assert.equal(((await replaced.json()) as AttachmentBody[])[0]!.created, first!.created);
    const refused = await visitor.upload('/attachments/fallback', [['f', 'c.txt', 'three']]);
    assert.equal(refused.status, 400);
    assert.equal(((await refused.json()) as { code: string }).code, 'bundle_full');
    assert.deepEqual(
      (await visitor.json<AttachmentBody[]>('/attachments/fallback')).map((attachment) => attachment.name),
      ['a.txt', 'b.txt'],
    );
    assert.equal(await visitor.text('/attachments/fallback/a.txt'), 'one, again');
    assert.equal(await running.rowCount(), 2);
    assert.equal(await running.heldFileCount(), 2);
  });
});

describe('one round trip per upload on postgres', () => {
  let running: RunningApp;
  before(async () => {
    // Every file to the storage, so that a replaced image's blob and its preview's can be counted.
    running = await startApp('postgres', { attachments: { inlineMaxSize: 0 } });
  });
  after(() => running.close());

  /** The statements `work` sends, by whatever path (the data source, a query runner, its pg client). */
  const statementsOf = async (work: () => Promise<void>): Promise<string[]> => {
    const statements: string[] = [];
    const query = Reflect.get(pg.Client.prototype, 'query') as (this: pg.Client, ...args: unknown[]) => unknown;
    Reflect.set(pg.Client.prototype, 'query', function (this: pg.Client, ...args: unknown[]) {
      const [config] = args as [string | { text: string }];
      statements.push(typeof config === 'string' ? config : config.text);
      return query.apply(this, args);
    });
    try {
      await work();
    } finally {
      Reflect.set(pg.Client.prototype, 'query', query);
    }
    return statements;
  };

  test('an upload is one statement, the question whether its session was adopted included', async () => {
    const visitor = new Visitor(running.baseUrl);
    assert.equal((await visitor.upload('/attachments/statements', [['f', 'first.txt', 'one']])).status, 201);
    const statements = await statementsOf(async () => {
      assert.equal((await visitor.upload('/attachments/statements', [['f', 'first.txt', 'one, again']])).status, 201);
    });
    assert.equal(statements.length, 1, statements.join('\n'));
    assert.match(statements[0]!, /session_attachments_put/);
    await visitor.delete('/attachments/statements');
  });

  test('replacing an image that has previews is one statement too, and takes the previews, rows and bytes, along', async () => {
    const visitor = new Visitor(running.baseUrl);
    const blobsBefore = await running.blobCount();
    const upload = async (width: number) =>
      (await visitor.upload('/attachments/pictures', [['f', 'photo.jpg', await testImage(width, 60).jpeg().toBuffer()]])).status;
    assert.equal(await upload(80), 201);
    assert.equal((await visitor.get('/attachments/pictures/photo.jpg/preview')).status, 200);
    assert.equal((await visitor.get('/attachments/pictures/photo.jpg/preview?size=64')).status, 200);
    assert.equal(await previewRowCount(running), 2);
    assert.equal(await running.blobCount(), blobsBefore + 3);
    const statements = await statementsOf(async () => assert.equal(await upload(120), 201));
    assert.equal(statements.length, 1, statements.join('\n'));
    assert.match(statements[0]!, /session_attachments_put/);
    assert.equal(await previewRowCount(running), 0);
    assert.equal(await running.blobCount(), blobsBefore + 1, "the replaced image's blob and its previews' are deleted");
    const preview = await previewOf(await visitor.get('/attachments/pictures/photo.jpg/preview'));
    assert.equal(preview.width, 120, 'a preview of the new image, made afresh');
    await visitor.delete('/attachments/pictures');
  });
});

describe('the put function changed under a running app on postgres', () => {
  let running: RunningApp;
  before(async () => {
    running = await startApp('postgres');
  });
  after(() => running.close());

  test('uploads go on when a migration changes its result while the app runs (its prepared statement is refused)', async () => {
    const dataSource = running.app.get(DataSource);
    const visitor = new Visitor(running.baseUrl);
    assert.equal((await visitor.upload('/attachments/migrated', [['f', 'a.txt', 'one']])).status, 201);
    // The previous migration's function: one result column fewer than the one the upload prepared.
    const runner = dataSource.createQueryRunner();
    try {
      await new PutFunctionRemovesPreviews1796600000000().down(runner);
    } finally {
      await runner.release();
    }
    for (const content of ['two', 'three']) {
      const replaced = await visitor.upload('/attachments/migrated', [['f', 'a.txt', content]]);
      assert.equal(replaced.status, 201, await replaced.text());
      assert.equal(await visitor.text('/attachments/migrated/a.txt'), content);
    }
    assert.equal(await running.rowCount(), 1);
  });
});
