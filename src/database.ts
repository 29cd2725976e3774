import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { DataSourceOptions } from 'typeorm';
import { AttachmentEntity, attachmentsMigrations } from './attachments/index.js';

export const DEFAULT_DATABASE_PATH = 'var/attachments.sqlite';

/**
 * The demo's database, from the environment: PostgreSQL when DATABASE_URL is set, otherwise an
 * SQLite file (DATABASE_PATH), so `npm start` needs nothing installed. Shared by the app, the
 * CLI and ormconfig.ts so that all three always talk to the same database.
 */
export function databaseOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): DataSourceOptions {
  const common = { entities: [AttachmentEntity], migrations: attachmentsMigrations, synchronize: false };
  if (env.DATABASE_URL) {
    if (!/^postgres(ql)?:\/\//.test(env.DATABASE_URL)) {
      throw new Error('DATABASE_URL must be a postgres:// URL; unset it to use the SQLite file at DATABASE_PATH');
    }
    return { ...common, type: 'postgres', url: env.DATABASE_URL };
  }
  const database = env.DATABASE_PATH || DEFAULT_DATABASE_PATH;
  mkdirSync(dirname(database), { recursive: true });
  // WAL lets the CLI read while the app writes; the timeout makes writers wait, not fail.
  return { ...common, type: 'better-sqlite3', database, enableWAL: true, timeout: 10_000 };
}
