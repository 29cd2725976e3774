import { randomBytes } from 'node:crypto';
import type { DataSourceOptions } from 'typeorm';
// The demo is part of this package, so it reads durations with the module's own grammar.
import { parseByteSize, parseDuration } from './attachments/durations.js';
import { databaseOptionsFromEnv } from './database.js';
import { sessionStoreFromEnv, type DemoSessionStoreConfig } from './demo-session-store.js';
import { s3ConfigFromEnv, type DemoS3Config } from './demo-storage.js';

export interface DemoConfig {
  port: number;
  database: DataSourceOptions;
  attachmentsDirectory: string;
  /** Set when `ATTACHMENTS_STORAGE=s3`: bytes go to that bucket instead of the folder. */
  s3?: DemoS3Config | undefined;
  sessionSecret: string | undefined;
  /** Where sessions are kept (REDIS_URL, else DATABASE_URL); undefined: this process's memory. */
  sessionStore?: DemoSessionStoreConfig | undefined;
  expireAfter: string | undefined;
  sweepEvery: string | undefined;
  inlineMaxSize?: string | undefined;
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
    sessionStore: sessionStoreFromEnv(env),
    expireAfter: durationFromEnv(env, 'ATTACHMENTS_EXPIRE_AFTER'),
    sweepEvery: durationFromEnv(env, 'ATTACHMENTS_SWEEP_EVERY'),
    inlineMaxSize: sizeFromEnv(env, 'ATTACHMENTS_INLINE_MAX_SIZE'),
  };
}

/**
 * A duration from the environment must carry its unit: `ATTACHMENTS_EXPIRE_AFTER=3` could mean
 * 3 ms (the module's number) or 3 days (the command's `--older-than=3`), so it is refused.
 */
function durationFromEnv(env: NodeJS.ProcessEnv, variable: string): string | undefined {
  const value = env[variable];
  if (!value) return undefined;
  if (parseDuration(value) === undefined) {
    throw new Error(
      `${variable} must be a duration with a unit, such as 90s, 15m, 36h or 3d (ms, s, m, h, d, w); got "${value}"`,
    );
  }
  return value.trim();
}

/** A size from the environment, in the module's grammar (`0`, `16kb`, `64 KiB`); the module checks its range. */
function sizeFromEnv(env: NodeJS.ProcessEnv, variable: string): string | undefined {
  const value = env[variable];
  if (!value) return undefined;
  if (parseByteSize(value) === undefined) {
    throw new Error(`${variable} must be a size such as 0, 16kb or 64kb; got "${value}"`);
  }
  return value.trim();
}

/** A secret for this process only: sessions end when it restarts. */
export function ephemeralSecret(): string {
  return randomBytes(32).toString('base64url');
}
