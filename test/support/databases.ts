import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { DataSourceOptions } from 'typeorm';
import { databaseOptionsFromEnv } from '../../src/database.js';

/** One database a suite runs against: its own SQLite file, or its own PostgreSQL database. */
export interface TestDatabase {
  kind: 'sqlite' | 'postgres';
  /** The environment the demo app, the CLI and ormconfig.ts read. */
  env: { DATABASE_URL?: string; DATABASE_PATH?: string };
  options: DataSourceOptions;
  drop(): Promise<void>;
}

export const DATABASE_KINDS = ['sqlite', 'postgres'] as const;

/** A fresh, empty database of the given kind, isolated from every other test file. */
export async function createTestDatabase(kind: TestDatabase['kind']): Promise<TestDatabase> {
  if (kind === 'sqlite') {
    const folder = await mkdtemp(join(tmpdir(), 'attachments-sqlite-'));
    const env = { DATABASE_PATH: join(folder, 'attachments.sqlite') };
    return { kind, env, options: databaseOptionsFromEnv(env), drop: () => rm(folder, { recursive: true, force: true }) };
  }
  const serverUrl = process.env.ATTACHMENTS_TEST_DATABASE_URL ?? process.env.DATABASE_URL;
  if (!serverUrl) throw new Error('PostgreSQL tests need DATABASE_URL: run them with `npm test`, which starts a server');
  const name = `attachments_test_${randomBytes(6).toString('hex')}`;
  await withClient(serverUrl, (client) => client.query(`CREATE DATABASE ${name}`));
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const env = { DATABASE_URL: url.toString() };
  return {
    kind,
    env,
    options: databaseOptionsFromEnv(env),
    drop: () =>
      withClient(serverUrl, (client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined),
  };
}

export async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}
