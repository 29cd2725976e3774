import { Logger } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';

/** What the pg driver's client, as TypeORM's PostgreSQL driver pools it, offers. */
interface PgClient {
  query(config: { name: string; text: string; values: unknown[] }): Promise<{ rows: unknown[] }>;
  query(text: string, values: unknown[]): Promise<{ rows: unknown[] }>;
  query(query: PgQuery): PgQuery;
  on(event: 'error', listener: (error: Error) => void): unknown;
  off(event: 'error', listener: (error: Error) => void): unknown;
  /** Back to the pool; with an error, the pool closes the connection instead. */
  release(error?: Error): void;
}

/** The pg Pool behind a connected TypeORM PostgreSQL driver (`driver.master`). */
interface PgPool {
  connect(): Promise<PgClient>;
}

/** pg's `Query`: with a 'row' listener and no callback it hands each row over and keeps none. */
interface PgQuery {
  on(event: 'row', listener: (row: unknown) => void): this;
  once(event: 'end', listener: () => void): this;
  once(event: 'error', listener: (error: Error) => void): this;
}
type PgQueryClass = new (config: { name?: string; text: string; values: unknown[] }) => PgQuery;

/** Statements sent unnamed since PostgreSQL refused their prepared form once. */
const unnamedSince = new Set<string>();

/**
 * What PostgreSQL answers when a connection's prepared statement is not what the driver
 * prepared: 0A000, the statement's result changed (a migration ran while this process runs);
 * 26000, 42P05 and 08P01, the statement is missing, or another one has its name (created
 * anew, or bound with the wrong parameters), which is what a pooler in transaction mode
 * (PgBouncer before 1.21, or without `max_prepared_statements`) does, handing each
 * transaction another server connection, shared with other clients.
 */
const REFUSED_PREPARED_STATEMENT = new Set(['0A000', '26000', '42P05', '08P01']);

function isRefusal(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && REFUSED_PREPARED_STATEMENT.has(code);
}

function goUnnamed(name: string, error: unknown): void {
  if (unnamedSince.has(name)) return;
  unnamedSince.add(name);
  new Logger('AttachmentsModule').warn(
    `PostgreSQL refused the prepared statement ${name} (${(error as { code?: string }).code}: ${(error as Error).message}); ` +
      'sending it unnamed from now on (a migration that ran meanwhile, or a pooler in transaction mode)',
  );
}

/**
 * A client borrowed from the pool of TypeORM's PostgreSQL driver, as TypeORM's query runner
 * borrows one, without the runner around it (its set-up and release cost more server CPU
 * than the rest of a small call's JavaScript). As the runner does, a client that reports a
 * connection error meanwhile goes back with it, so that the pool closes it. Undefined outside
 * PostgreSQL, in a transaction (an `EntityManager`), or for a statement already refused.
 */
async function withPooledClient<T>(
  source: DataSource | EntityManager,
  name: string,
  work: (client: PgClient) => Promise<T>,
): Promise<{ value: T } | undefined> {
  if (!(source instanceof DataSource) || unnamedSince.has(name)) return undefined;
  const pool = (source.driver as { master?: PgPool }).master;
  if (!pool) return undefined;
  const client = await pool.connect();
  let broken: Error | undefined;
  const onError = (error: Error) => {
    broken ??= error;
  };
  client.on('error', onError);
  try {
    return { value: await work(client) };
  } finally {
    client.off('error', onError);
    client.release(broken);
  }
}

/**
 * Outside a transaction, a statement as a named prepared statement: PostgreSQL parses and
 * plans it once per connection instead of on every call (about a fifth of the backend's CPU
 * for the put function). TypeORM's `query` sends unnamed statements only, hence the pooled
 * client. When PostgreSQL refuses the prepared statement (see above), that call and every
 * later one go unnamed, as they did before, and a warning says so once. In a transaction the
 * call goes unnamed as ever, so that no refusal can abort the transaction.
 */
export async function namedQuery<T>(
  source: DataSource | EntityManager,
  name: string,
  text: string,
  values: unknown[],
): Promise<T[]> {
  const pooled = await withPooledClient(source, name, async (client) => {
    try {
      return (await client.query({ name, text, values })).rows as T[];
    } catch (error) {
      if (!isRefusal(error)) throw error;
      goUnnamed(name, error);
      return (await client.query(text, values)).rows as T[];
    }
  });
  return pooled ? pooled.value : source.query<T[]>(text, values);
}

/**
 * `namedQuery` that hands each row to `visit` as it arrives and keeps none: a long result
 * (the list of a thousand attachments) never lives on the heap as a whole, so the young
 * collections that run meanwhile have almost nothing to copy, and nothing of it is promoted
 * to the old generation (where it cost a full collection every few seconds). Where pg's
 * `Query` is not at hand (SQLite, pg-native, a transaction) the rows come as one array and
 * are visited from it. A refusal of the prepared statement arrives before any row; should one
 * come after rows were visited, the call fails rather than visit them twice.
 */
export async function namedQueryEach<T>(
  source: DataSource | EntityManager,
  name: string,
  text: string,
  values: unknown[],
  visit: (row: T) => void,
): Promise<void> {
  const driver = source instanceof DataSource ? source.driver : undefined;
  const Query = (driver as { postgres?: { Query?: PgQueryClass } } | undefined)?.postgres?.Query;
  // pg's own JavaScript Query (it parses each DataRow as it comes); pg-native's class differs.
  const streams =
    typeof Query === 'function' && typeof (Query.prototype as { handleDataRow?: unknown }).handleDataRow === 'function';
  const pooled = streams
    ? await withPooledClient(source, name, async (client) => {
        let visited = 0;
        // An exception of `visit` must not escape into the driver's socket handler: the
        // rest of the rows are skipped and the call rejects with it once the result ends.
        let thrown: { error: unknown } | undefined;
        const run = (config: { name?: string; text: string; values: unknown[] }) =>
          new Promise<void>((done, fail) => {
            client
              .query(new Query(config))
              .on('row', (row) => {
                if (thrown) return;
                visited += 1;
                try {
                  visit(row as T);
                } catch (error) {
                  thrown = { error };
                }
              })
              .once('end', done)
              .once('error', fail);
          });
        try {
          await run({ name, text, values });
        } catch (error) {
          if (!isRefusal(error) || visited > 0) throw error;
          goUnnamed(name, error);
          await run({ text, values });
        }
        if (thrown) throw thrown.error;
      })
    : undefined;
  if (pooled) return;
  const rows = await source.query<T[]>(text, values);
  for (let index = 0; index < rows.length; index += 1) visit(rows[index]!);
}
