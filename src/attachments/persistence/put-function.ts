import { Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { DataSource, type EntityManager } from 'typeorm';
import type { AttachmentEntity } from '../attachment.entity.js';
import { PUT_FUNCTION_ARGUMENTS } from '../migrations/1796240000000-put-function-reports-adoption.js';
import type { BundleQuotas, QuotaRefusal } from './quotas.js';
import type { NewAttachmentRow, UpsertResult } from './upsert.js';

/** The argument types of the put function this code calls (the latest migration's). */
export { PUT_FUNCTION_ARGUMENTS };

/** Whether the migration that creates `putFunction` (the dialect's qualified name) has run. */
export async function isPutFunctionInstalled(dataSource: DataSource, putFunction: string): Promise<boolean> {
  const [row] = await dataSource.query<Array<{ installed: boolean }>>('SELECT to_regprocedure($1) IS NOT NULL AS installed', [
    putFunction + PUT_FUNCTION_ARGUMENTS,
  ]);
  return row?.installed === true;
}

interface PutFunctionRow {
  refused: QuotaRefusal | null;
  saved_name: string;
  saved_id: string;
  saved_created_at: string;
  replaced_key: string | null;
  adopted_into: string | null;
  /** Absent from the function of an older migration, which leaves previews to the caller. */
  removed_previews?: string[] | null;
}

/**
 * One upload's rows in one round trip: the session's lock, quotas and upsert run inside the
 * function, which also answers who adopted the session since `adoptedSince`, if anyone, and
 * removes the previews of the files it replaced.
 */
export async function putInOneCall(
  dataSource: DataSource | EntityManager,
  putFunction: string,
  lock: [namespace: number, key: number],
  sessionKey: string,
  bundle: string,
  rows: NewAttachmentRow[],
  quotas: BundleQuotas,
  adoptedSince: number | undefined,
): Promise<UpsertResult | QuotaRefusal> {
  const now = Date.now();
  const result = await namedQuery<PutFunctionRow>(
    dataSource,
    putFunction,
    `SELECT * FROM ${putFunction}($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)`,
    [
      ...lock,
      sessionKey,
      bundle,
      rows.map(() => randomUUID()),
      rows.map((row) => row.name),
      rows.map((row) => row.mimetype),
      rows.map((row) => row.size),
      rows.map((row) => row.sha256),
      rows.map((row) => row.storageKey),
      // The inline files' bytes in one binary parameter, and where each one ends (-1: none).
      Buffer.concat(rows.flatMap((row) => (row.content ? [row.content] : []))),
      rows.map((row) => (row.content ? row.content.byteLength : -1)),
      now,
      quotas.filesPerBundle,
      quotas.bytesPerSession,
      quotas.bundlesPerSession,
      // No time, no question: nothing is adopted at or after NULL.
      adoptedSince ?? null,
    ],
  );
  const refused = result[0]?.refused;
  if (refused) return refused;
  const written = new Map(result.map((row) => [row.saved_name, row]));
  const saved = rows.map((row): AttachmentEntity => {
    const stored = written.get(row.name);
    if (!stored) throw new Error(`session_attachments_put returned no row for "${row.name}"`);
    return {
      ...withoutContent(row),
      id: stored.saved_id,
      sessionKey,
      bundle,
      createdAt: Number(stored.saved_created_at),
      updatedAt: now,
      claim: null,
      claimedAt: null,
    };
  });
  const replacedKeys = result.flatMap((row) => (row.replaced_key === null ? [] : [row.replaced_key]));
  const removedPreviews = result[0]?.removed_previews;
  return {
    saved,
    replacedKeys,
    adoptedInto: adoptedSince === undefined ? undefined : (result[0]?.adopted_into ?? null),
    ...(removedPreviews === undefined ? {} : { removedPreviews: removedPreviews ?? [] }),
  };
}

/** What the pg driver's client, as TypeORM's PostgreSQL driver pools it, offers. */
interface PgClient {
  query(config: { name: string; text: string; values: unknown[] }): Promise<{ rows: unknown[] }>;
  query(text: string, values: unknown[]): Promise<{ rows: unknown[] }>;
  on(event: 'error', listener: (error: Error) => void): unknown;
  off(event: 'error', listener: (error: Error) => void): unknown;
  /** Back to the pool; with an error, the pool closes the connection instead. */
  release(error?: Error): void;
}

/** The pg Pool behind a connected TypeORM PostgreSQL driver (`driver.master`). */
interface PgPool {
  connect(): Promise<PgClient>;
}

/** Put functions called unnamed since their prepared statement was refused once. */
const unnamedSince = new Set<string>();

/**
 * What PostgreSQL answers when a connection's prepared statement is not what the driver
 * prepared: 0A000, the function's result changed (a migration ran while this process runs);
 * 26000, 42P05 and 08P01, the statement is missing, or another one has its name (created
 * anew, or bound with the wrong parameters), which is what a pooler in transaction mode
 * (PgBouncer before 1.21, or without `max_prepared_statements`) does, handing each
 * transaction another server connection, shared with other clients.
 */
const REFUSED_PREPARED_STATEMENT = new Set(['0A000', '26000', '42P05', '08P01']);

/**
 * Outside a transaction, the call as a named prepared statement: PostgreSQL parses and plans
 * it once per connection instead of on every upload (about a fifth of the backend's CPU per
 * call). TypeORM's `query` sends unnamed statements only, so this borrows a pg client from the
 * pool of TypeORM's driver, as TypeORM's query runner does, without the runner around it (its
 * set-up and release cost more server CPU than the rest of the call's JavaScript). As the
 * runner does, a client that reports a connection error meanwhile goes back with it, so the
 * pool closes it. When PostgreSQL refuses the prepared statement (see above), that call and
 * every later one go unnamed, as they did before, and a warning says so once. In a transaction
 * (a resumable upload's last step, rare) the call goes unnamed as ever, so that no refusal can
 * abort the transaction.
 */
async function namedQuery<T>(source: DataSource | EntityManager, name: string, text: string, values: unknown[]): Promise<T[]> {
  if (!(source instanceof DataSource) || unnamedSince.has(name)) return source.query<T[]>(text, values);
  const pool = (source.driver as { master?: PgPool }).master;
  if (!pool) return source.query<T[]>(text, values);
  const client = await pool.connect();
  let broken: Error | undefined;
  const onError = (error: Error) => {
    broken ??= error;
  };
  client.on('error', onError);
  try {
    return (await client.query({ name, text, values })).rows as T[];
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === undefined || !REFUSED_PREPARED_STATEMENT.has(code)) throw error;
    if (!unnamedSince.has(name)) {
      unnamedSince.add(name);
      new Logger('AttachmentsModule').warn(
        `PostgreSQL refused the prepared call of ${name} (${code}: ${(error as Error).message}); ` +
          'calling it unnamed from now on (a migration that ran meanwhile, or a pooler in transaction mode)',
      );
    }
    return (await client.query(text, values)).rows as T[];
  } finally {
    client.off('error', onError);
    client.release(broken);
  }
}

function withoutContent({ content: _content, ...row }: NewAttachmentRow): Omit<NewAttachmentRow, 'content'> {
  return row;
}
