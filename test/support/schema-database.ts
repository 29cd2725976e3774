import type { DataSourceOptions } from 'typeorm';
import { createTestDatabase, withClient, type TestDatabase } from './databases.js';

/**
 * A fresh PostgreSQL database whose DataSource has TypeORM's `schema` option: the schema is
 * made first (TypeORM does not create it), and nothing of the module may land in `public`.
 */
export async function createSchemaTestDatabase(schema: string): Promise<TestDatabase> {
  const database = await createTestDatabase('postgres');
  await withClient(database.env.DATABASE_URL!, (client) => client.query(`CREATE SCHEMA "${schema}"`));
  const options = { ...database.options, schema } as DataSourceOptions;
  return { ...database, options };
}
