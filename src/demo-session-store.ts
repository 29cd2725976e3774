import { Logger } from '@nestjs/common';
import session, { type Store } from 'express-session';
import { DemoMemoryStore } from './demo-memory-store.js';

/**
 * Where the demo keeps sessions when several instances must share them: PostgreSQL or Redis.
 * Undefined means this process's memory (express-session's MemoryStore, see demo-memory-store.ts).
 */
export type DemoSessionStoreConfig = { kind: 'postgres'; url: string } | { kind: 'redis'; url: string };

/** The table connect-pg-simple keeps the demo's sessions in, beside the attachments table. */
export const SESSION_TABLE = 'demo_sessions';

/** Any fixed number, the same in every instance: it names the lock around the table's creation. */
const SESSION_TABLE_LOCK = 0x5e55_1011;

/**
 * REDIS_URL, else DATABASE_URL, else memory. Redis wins when both are set: a cluster needs
 * DATABASE_URL for its attachments anyway, so REDIS_URL on top of it can only mean "sessions
 * in Redis".
 */
export function sessionStoreFromEnv(env: NodeJS.ProcessEnv): DemoSessionStoreConfig | undefined {
  if (env.REDIS_URL) {
    if (!/^rediss?:\/\//.test(env.REDIS_URL)) {
      throw new Error(`REDIS_URL must be a redis:// or rediss:// URL; got "${env.REDIS_URL}"`);
    }
    return { kind: 'redis', url: env.REDIS_URL };
  }
  if (env.DATABASE_URL) return { kind: 'postgres', url: env.DATABASE_URL };
  return undefined;
}

export interface OpenSessionStore {
  store: Store;
  /** Ends the store's connections and timers (the MemoryStore has none). */
  close(): Promise<void>;
}

/**
 * Connects the configured store, so that a wrong URL stops the start with a message naming the
 * variable instead of failing every request. The store packages are loaded only when used: the
 * embedded default loads neither.
 */
export async function openSessionStore(config: DemoSessionStoreConfig | undefined): Promise<OpenSessionStore> {
  const logger = new Logger('Demo');
  if (config === undefined) {
    logger.warn(
      "Sessions are kept in this process's memory (MemoryStore): they end when it restarts and other instances " +
        'cannot see them; set DATABASE_URL (PostgreSQL) or REDIS_URL (Redis) to share them',
    );
    return { store: new DemoMemoryStore(), close: async () => undefined };
  }
  const opened = config.kind === 'redis' ? await openRedis(config.url) : await openPostgres(config.url);
  logger.log(
    config.kind === 'redis'
      ? 'Sessions are kept in Redis (REDIS_URL)'
      : `Sessions are kept in PostgreSQL (DATABASE_URL, table ${SESSION_TABLE})`,
  );
  return opened;
}

async function openPostgres(url: string): Promise<OpenSessionStore> {
  const [{ default: connectPgSimple }, { default: pg }] = await Promise.all([import('connect-pg-simple'), import('pg')]);
  const pool = new pg.Pool({ connectionString: url });
  pool.on('error', (error) => new Logger('Demo').error(`Session store (PostgreSQL): ${error.message}`));
  const PgStore = connectPgSimple(session);
  const store = new PgStore({
    pool,
    tableName: SESSION_TABLE,
    createTableIfMissing: true,
    errorLog: (...args: unknown[]) => new Logger('Demo').error(`Session store (PostgreSQL): ${args.map(String).join(' ')}`),
  });
  try {
    // connect-pg-simple creates its table with a plain CREATE TABLE on first use, and keeps the
    // failure for good: two instances starting together would leave one with no sessions at
    // all. So the table is made here, at start, one instance at a time.
    const client = await pool.connect();
    try {
      await client.query('SELECT pg_advisory_lock($1)', [SESSION_TABLE_LOCK]);
      try {
        // Its first query creates the table; this one also removes sessions that expired meanwhile.
        await new Promise<void>((done, fail) => store.pruneSessions((error) => (error ? fail(error) : done())));
      } finally {
        await client.query('SELECT pg_advisory_unlock($1)', [SESSION_TABLE_LOCK]);
      }
    } finally {
      client.release();
    }
  } catch (error) {
    store.close();
    await pool.end();
    throw new Error(`DATABASE_URL: the session store could not be prepared: ${toError(error).message}`, { cause: error });
  }
  return {
    store,
    async close() {
      store.close();
      await pool.end();
    },
  };
}

async function openRedis(url: string): Promise<OpenSessionStore> {
  const [{ RedisStore }, { createClient }] = await Promise.all([import('connect-redis'), import('redis')]);
  let ready = false;
  const client = createClient({
    url,
    socket: {
      // At start a few tries, then a clear error; once connected, retry for as long as it takes.
      reconnectStrategy: (retries, cause) =>
        ready ? Math.min(100 * 2 ** retries, 2000) : retries < 5 ? 200 : new Error(`REDIS_URL: ${cause.message}`),
    },
  });
  // Without a listener an 'error' event would end the process; the client reconnects itself.
  client.on('error', (error: Error) => {
    if (ready) new Logger('Demo').error(`Session store (Redis): ${error.message}`);
  });
  try {
    await client.connect();
  } catch (error) {
    client.destroy();
    throw new Error(`REDIS_URL: could not connect to Redis: ${toError(error).message.replace(/^REDIS_URL: /, '')}`, {
      cause: error,
    });
  }
  ready = true;
  return {
    store: new RedisStore({ client, prefix: 'attachments-demo:sess:' }),
    async close() {
      if (client.isOpen) await client.close();
    },
  };
}

function toError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
