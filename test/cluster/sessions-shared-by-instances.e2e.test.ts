// Two instances of the demo on one database and one attachments folder share their visitors'
// sessions through the store the environment names: a cookie from instance A opens the same
// session on instance B. With the MemoryStore, B would not know the cookie.
import type { INestApplication } from '@nestjs/common';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createClient } from 'redis';
import { createDemoApp } from '../../src/bootstrap.js';
import { demoConfigFromEnv } from '../../src/demo-config.js';
import { SESSION_TABLE } from '../../src/demo-session-store.js';
import { debianBinary } from '../support/debian-binary.js';
import { createTestDatabase, withClient, type TestDatabase } from '../support/databases.js';
import { startRedisServer, type RunningRedis } from '../support/redis-server.js';
import { Visitor } from '../support/visitor.js';

interface Instance {
  app: INestApplication;
  baseUrl: string;
}

/** One demo instance, configured from `env` as `node dist/src/main.js` would be. */
async function startInstance(env: NodeJS.ProcessEnv, folder: string): Promise<Instance> {
  const config = demoConfigFromEnv({ ...env, ATTACHMENTS_DIR: folder, SESSION_SECRET: 'shared-by-instances' });
  const app = await createDemoApp(config, { logger: false, attachments: { sweepEvery: false } });
  await app.listen(0, '127.0.0.1');
  const { port } = (app.getHttpServer() as Server).address() as AddressInfo;
  return { app, baseUrl: `http://127.0.0.1:${port}` };
}

/** Uploads through A, then lists and downloads through B with A's cookie. */
async function assertSessionCrossesInstances(a: Instance, b: Instance): Promise<void> {
  const onA = new Visitor(a.baseUrl);
  const uploaded = await onA.upload('/attachments/shared', [['file', 'a.txt', 'written on A']]);
  assert.equal(uploaded.status, 201);
  // Read to its end, as a client does: express-session sends all of the answer but its last byte,
  // saves the session, then sends that byte. A client that went to B on the status line alone
  // could ask B before the session was in the store (this test did, and failed now and then).
  await uploaded.json();
  assert.ok(onA.cookie, 'instance A set a session cookie');
  const onB = new Visitor(b.baseUrl);
  onB.cookie = onA.cookie;
  assert.deepEqual(await onB.names('shared'), ['a.txt']);
  assert.equal(await onB.text('/attachments/shared/a.txt'), 'written on A');
  // And a stranger on B sees nothing of it.
  assert.deepEqual(await new Visitor(b.baseUrl).names('shared'), []);
}

describe('sessions in PostgreSQL (DATABASE_URL)', () => {
  let database: TestDatabase;
  let folder: string;
  const instances: Instance[] = [];
  before(async () => {
    database = await createTestDatabase('postgres');
    folder = await mkdtemp(join(tmpdir(), 'attachments-shared-'));
  });
  after(async () => {
    for (const instance of instances) await instance.app.close();
    await database.drop();
    await rm(folder, { recursive: true, force: true });
  });

  test('two instances started at the same moment on a fresh database keep one session: upload on A, list on B', async () => {
    const [a, b] = await Promise.all([startInstance(database.env, folder), startInstance(database.env, folder)]);
    instances.push(a, b);
    await assertSessionCrossesInstances(a, b);
    const [row] = await withClient(database.env.DATABASE_URL!, (client) =>
      client.query<{ n: string }>(`SELECT COUNT(*) AS n FROM ${SESSION_TABLE}`),
    ).then((result) => result.rows);
    assert.equal(Number(row?.n), 2, 'one session row for the visitor, one for the stranger');
  });
});

const redisServer = debianBinary('redis-server');

describe('sessions in Redis (REDIS_URL)', { skip: 'missing' in redisServer ? redisServer.missing : false }, () => {
  let database: TestDatabase;
  let folder: string;
  let redis: RunningRedis;
  const instances: Instance[] = [];
  before(async () => {
    if (!('path' in redisServer)) return;
    database = await createTestDatabase('postgres');
    folder = await mkdtemp(join(tmpdir(), 'attachments-shared-'));
    redis = await startRedisServer(redisServer.path);
  });
  after(async () => {
    for (const instance of instances) await instance.app.close();
    await database?.drop();
    await redis?.stop();
    if (folder) await rm(folder, { recursive: true, force: true });
  });

  test('with REDIS_URL and DATABASE_URL both set, sessions go to Redis and cross instances: upload on A, list on B', async () => {
    const env = { ...database.env, REDIS_URL: redis.url };
    const a = await startInstance(env, folder);
    instances.push(a);
    const b = await startInstance(env, folder);
    instances.push(b);
    await assertSessionCrossesInstances(a, b);
    const client = createClient({ url: redis.url });
    await client.connect();
    try {
      // The visitor's session and the stranger's.
      assert.equal((await client.keys('attachments-demo:sess:*')).length, 2);
    } finally {
      await client.close();
    }
    const [row] = await withClient(database.env.DATABASE_URL!, (pg) =>
      pg.query<{ table: string | null }>(`SELECT to_regclass('${SESSION_TABLE}') AS table`),
    ).then((result) => result.rows);
    assert.equal(row?.table, null, 'no session table in PostgreSQL when Redis keeps them');
  });

  test('a REDIS_URL nothing answers on stops the start with a message naming REDIS_URL', async () => {
    await assert.rejects(
      startInstance({ ...database.env, REDIS_URL: 'redis://127.0.0.1:1' }, folder),
      /REDIS_URL: could not connect to Redis/,
    );
  });
});
