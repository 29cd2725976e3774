import type { Provider } from '@nestjs/common';
import { getDataSourceToken } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { AttachmentEntity } from '../attachment.entity.js';
import { DatabaseFailure } from './database-failure.js';

// Advisory-lock namespaces (the first key of PostgreSQL's two-key form), so that our locks
// never collide with a host app's own advisory locks.
export const SESSION_LOCK_NAMESPACE = 0x5a7a_0001;
export const SWEEP_LOCK_NAMESPACE = 0x5a7a_0002;

/** Made by the owner-adoptions migration, beside the attachments table. */
export const ADOPTIONS_TABLE = 'session_attachment_adoptions';

/** Made by the resumable-uploads migration: tus uploads, and the parts their bytes are in. */
export const UPLOADS_TABLE = 'session_attachment_uploads';
export const UPLOAD_PARTS_TABLE = 'session_attachment_upload_parts';

/** Made by the previews migration: one preview per content hash and size. */
export const PREVIEWS_TABLE = 'session_attachment_previews';

/** The columns a sweep reports, in the order of `OutdatedRow`. */
export const SWEEP_COLUMNS = 'id, session_key, bundle, name, size, storage_key, updated_at';

/** A row no live claim holds: never claimed, released, or claimed before `claimedSince` (stale). */
export const UNCLAIMED = (claimedSince: string): string => `(claimed_at IS NULL OR claimed_at < ${claimedSince})`;

/**
 * Everything that differs between PostgreSQL and SQLite in the module's hand-written SQL, in
 * one place, chosen once per DataSource. The records and lock classes ask it for text and
 * never branch on the database themselves.
 *
 * Name order is Unicode code point order on both: PostgreSQL's "C" collation compares the
 * UTF-8 bytes, SQLite's BINARY does too, and UTF-8 byte order is code point order (see
 * `compareNames` for the same order in JavaScript). A database's own collation would differ
 * between servers and from JavaScript, so a list and an upload's answer could disagree.
 */
export abstract class SqlDialect {
  /** The attachments table as SQL: quoted, and schema-qualified when the DataSource has a schema. */
  abstract readonly table: string;
  /** The adoptions table (who adopted an owner's attachments), qualified like `table`. */
  abstract readonly adoptionsTable: string;
  /** The resumable uploads and their parts, qualified like `table`. */
  abstract readonly uploadsTable: string;
  abstract readonly uploadPartsTable: string;
  /** The previews, qualified like `table`. */
  abstract readonly previewsTable: string;
  /** `ORDER BY` text that sorts names in code point order. */
  abstract readonly byName: string;
  /**
   * The list's columns, named and typed as `ListedAttachment`'s fields, so that its rows need
   * no mapping (PostgreSQL's driver gives bigint as text, float8 as a number; every size and
   * millisecond time is below 2^53, so both are exact).
   */
  abstract readonly listColumns: string;
  /** The PostgreSQL put function as SQL (qualified like the table); undefined on SQLite. */
  abstract readonly putFunction: string | undefined;
  /**
   * Takes the transaction-scoped lock of one session, parameters (namespace, key); undefined
   * where writes take turns anyway (SQLite).
   */
  abstract readonly sessionLockStatement: string | undefined;
  /** Tries the sweep's session-level lock (`locked` column) and releases it; undefined on SQLite. */
  abstract readonly sweepLockStatements: { lock: string; unlock: string } | undefined;

  /** A failed call, classified by what it means for what the call wrote. */
  abstract failure(error: unknown): DatabaseFailure;

  /** Positional placeholders, one per value. */
  abstract placeholders(count: number): string[];

  /**
   * One bounded batch of the expiry sweep: the statement and its parameters. A row under a
   * claim made at or after `claimedSince` is being handed over by a `take()`: it is left to the
   * take (which removes it) or to a later sweep, once the claim is released or stale.
   */
  abstract deleteBatch(cutoff: number, claimedSince: number, limit: number): { sql: string; parameters: unknown[] };
}

class PostgresDialect extends SqlDialect {
  readonly byName = 'name COLLATE "C"';
  readonly listColumns =
    'name, mimetype, size::float8 AS size, sha256, created_at::float8 AS "createdAt", updated_at::float8 AS "updatedAt"';
  readonly sessionLockStatement = 'SELECT pg_advisory_xact_lock($1, $2)';
  readonly sweepLockStatements = {
    lock: 'SELECT pg_try_advisory_lock($1, 0) AS locked',
    unlock: 'SELECT pg_advisory_unlock($1, 0)',
  };
  readonly putFunction: string;

  constructor(
    readonly table: string,
    readonly adoptionsTable: string,
    readonly uploadsTable: string,
    readonly uploadPartsTable: string,
    readonly previewsTable: string,
    schema: string | undefined,
  ) {
    super();
    this.putFunction = schema === undefined ? 'session_attachments_put' : `"${schema}".session_attachments_put`;
  }

  failure(error: unknown): DatabaseFailure {
    return DatabaseFailure.from(error, 'postgres');
  }

  placeholders(count: number): string[] {
    return Array.from({ length: count }, (_, index) => `$${index + 1}`);
  }

  /**
   * The rows are deleted by address (ctid), which always plans as a TID scan. With
   * `id IN (subquery)` and an outer `updated_at` test, statistics that put few rows before the
   * cutoff (old rows are the histogram's thin tail) led the planner to loops over every old
   * row for each batch: 100,000 expired rows among a million took minutes. FOR UPDATE waits
   * for a concurrent upload of a picked row, then re-checks `updated_at` on its new version.
   */
  deleteBatch(cutoff: number, claimedSince: number, limit: number): { sql: string; parameters: unknown[] } {
    return {
      sql:
        `DELETE FROM ${this.table} WHERE ctid = ANY (ARRAY(` +
        `SELECT ctid FROM ${this.table} WHERE updated_at < $1 AND ${UNCLAIMED('$3')} ` +
        `ORDER BY updated_at LIMIT $2 FOR UPDATE)) RETURNING ${SWEEP_COLUMNS}`,
      parameters: [cutoff, limit, claimedSince],
    };
  }
}

class SqliteDialect extends SqlDialect {
  readonly byName = 'name COLLATE BINARY';
  readonly listColumns = 'name, mimetype, size, sha256, created_at AS "createdAt", updated_at AS "updatedAt"';
  readonly putFunction = undefined;
  readonly sessionLockStatement = undefined;
  readonly sweepLockStatements = undefined;

  constructor(
    readonly table: string,
    readonly adoptionsTable: string,
    readonly uploadsTable: string,
    readonly uploadPartsTable: string,
    readonly previewsTable: string,
  ) {
    super();
  }

  failure(error: unknown): DatabaseFailure {
    return DatabaseFailure.from(error, 'sqlite');
  }

  placeholders(count: number): string[] {
    return Array.from({ length: count }, () => '?');
  }

  /** Writes take turns on SQLite, and the outer test re-checks the cutoff. */
  deleteBatch(cutoff: number, claimedSince: number, limit: number): { sql: string; parameters: unknown[] } {
    return {
      sql:
        `DELETE FROM ${this.table} WHERE id IN ` +
        `(SELECT id FROM ${this.table} WHERE updated_at < ? AND ${UNCLAIMED('?')} ORDER BY updated_at LIMIT ?) ` +
        `AND updated_at < ? RETURNING ${SWEEP_COLUMNS}`,
      parameters: [cutoff, claimedSince, limit, cutoff],
    };
  }
}

/** The dialect of a DataSource, with the table path TypeORM itself uses for the entity. */
export function sqlDialectFor(dataSource: DataSource): SqlDialect {
  const metadata = dataSource.getMetadata(AttachmentEntity);
  const { driver } = dataSource;
  const tableName = driver.escape(metadata.tableName);
  const adoptionsName = driver.escape(ADOPTIONS_TABLE);
  const uploadsName = driver.escape(UPLOADS_TABLE);
  const partsName = driver.escape(UPLOAD_PARTS_TABLE);
  const previewsName = driver.escape(PREVIEWS_TABLE);
  // SQLite has no schemas (an attached database would be one; the module does not use them).
  if (dataSource.options.type !== 'postgres')
    return new SqliteDialect(tableName, adoptionsName, uploadsName, partsName, previewsName);
  const schema = metadata.schema;
  const qualified = (name: string) => (schema === undefined ? name : `${driver.escape(schema)}.${name}`);
  return new PostgresDialect(
    qualified(tableName),
    qualified(adoptionsName),
    qualified(uploadsName),
    qualified(partsName),
    qualified(previewsName),
    schema,
  );
}

export const sqlDialectProvider: Provider = {
  provide: SqlDialect,
  useFactory: sqlDialectFor,
  inject: [getDataSourceToken()],
};

/** Code point order in JavaScript: the order of `SqlDialect.byName` (not UTF-16 code units). */
export function compareNames(a: string, b: string): number {
  const left = a[Symbol.iterator]();
  const right = b[Symbol.iterator]();
  for (;;) {
    const x = left.next();
    const y = right.next();
    if (x.done || y.done) return x.done ? (y.done ? 0 : -1) : 1;
    const difference = (x.value.codePointAt(0) ?? 0) - (y.value.codePointAt(0) ?? 0);
    if (difference !== 0) return difference;
  }
}
