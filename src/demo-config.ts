import { randomBytes } from 'node:crypto';
import type { DataSourceOptions } from 'typeorm';
import { databaseOptionsFromEnv } from './database.js';
import { s3ConfigFromEnv, type DemoS3Config } from './demo-storage.js';

export interface DemoConfig {
  port: number;
  database: DataSourceOptions;
  attachmentsDirectory: string;
  /** Set when `ATTACHMENTS_STORAGE=s3`: bytes go to that bucket instead of the folder. */
  s3?: DemoS3Config | undefined;
  sessionSecret: string | undefined;
  expireAfter: string | undefined;
  sweepEvery: string | undefined;
}

/** The demo's settings, from the environment variables the README's table lists. */
export function demoConfigFromEnv(env: NodeJS.ProcessEnv = process.env): DemoConfig {
  const port = Number(env.PORT ?? 3000);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`PORT must be a port number; got "${env.PORT}"`);
  return {
    port,
    database: databaseOptionsFromEnv(env),
    attachmentsDirectory: env.ATTACHMENTS_DIR || 'var/attachments',
    s3: s3ConfigFromEnv(env),
    sessionSecret: env.SESSION_SECRET || undefined,
    expireAfter: env.ATTACHMENTS_EXPIRE_AFTER || undefined,
    sweepEvery: env.ATTACHMENTS_SWEEP_EVERY || undefined,
  };
}

/** A secret for this process only: sessions end when it restarts. */
export function ephemeralSecret(): string {
  return randomBytes(32).toString('base64url');
}
