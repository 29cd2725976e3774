import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { SqlDialect, SWEEP_COLUMNS, UNCLAIMED } from './sql-dialect.js';
import { WriteTurns } from './write-turns.js';

/** A row the sweep removed (or would remove, in a dry run). */
export interface OutdatedRow {
  id: string;
  sessionKey: string;
  bundle: string;
  name: string;
  size: number;
  storageKey: string;
  updatedAt: number;
}

interface RawOutdatedRow {
  id: string;
  session_key: string;
  bundle: string;
  name: string;
  size: string | number;
  storage_key: string;
  updated_at: string | number;
}

/** The expiry sweep's queries: bounded batches, each its own short transaction. */
@Injectable()
export class ExpiryRecords {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly turns: WriteTurns,
    private readonly dialect: SqlDialect,
  ) {}

  /**
   * Deletes up to `limit` rows last written before `cutoff`, oldest first, in one statement.
   * A row that a concurrent upload replaced meanwhile is never taken (see the dialects'
   * `deleteBatch` for how each database makes sure).
   */
  deleteBatch(cutoff: number, claimedSince: number, limit: number): Promise<OutdatedRow[]> {
    const { sql, parameters } = this.dialect.deleteBatch(cutoff, claimedSince, limit);
    return this.turns.statement(async (manager) => {
      const runner = manager.dataSource.createQueryRunner();
      try {
        // The structured result holds what RETURNING gave in `records`, on every driver.
        const result = await runner.query(sql, parameters, true);
        return (result.records as RawOutdatedRow[]).map(toOutdatedRow);
      } finally {
        await runner.release();
      }
    });
  }

  /** The rows a sweep would remove, a page at a time (keyset pagination on updated_at, id). */
  async findPage(cutoff: number, claimedSince: number, after: OutdatedRow | undefined, limit: number): Promise<OutdatedRow[]> {
    const [p1, p2, p3, p4, p5, p6] = this.dialect.placeholders(6);
    const table = this.dialect.table;
    const sql = after
      ? `SELECT ${SWEEP_COLUMNS} FROM ${table} WHERE updated_at < ${p1} AND ${UNCLAIMED(p2!)} ` +
        `AND (updated_at > ${p3} OR (updated_at = ${p4} AND id > ${p5})) ORDER BY updated_at, id LIMIT ${p6}`
      : `SELECT ${SWEEP_COLUMNS} FROM ${table} WHERE updated_at < ${p1} AND ${UNCLAIMED(p2!)} ORDER BY updated_at, id LIMIT ${p3}`;
    const parameters = after
      ? [cutoff, claimedSince, after.updatedAt, after.updatedAt, after.id, limit]
      : [cutoff, claimedSince, limit];
    const rows = await this.dataSource.query<RawOutdatedRow[]>(sql, parameters);
    return rows.map(toOutdatedRow);
  }

  async countOlderThan(cutoff: number): Promise<{ count: number; bytes: number }> {
    const [c] = this.dialect.placeholders(1);
    const [row] = await this.dataSource.query<Array<{ count: string | number; bytes: string | number | null }>>(
      `SELECT COUNT(*) AS count, SUM(size) AS bytes FROM ${this.dialect.table} WHERE updated_at < ${c}`,
      [cutoff],
    );
    return { count: Number(row?.count ?? 0), bytes: Number(row?.bytes ?? 0) };
  }

  /**
   * Which of these storage keys a row references: an attachment's, a preview's (when that table
   * is installed), or an unfinished resumable upload's object or part (when installed).
   *
   * One statement, so one snapshot of every table: a finishing upload moves its object or its
   * only part from the uploads' tables to the attachments table in one transaction, and asked
   * in separate statements, the key could be missed in both (asked before the move in one
   * table, after it in the other) and its blob, now an acknowledged file's, deleted. On SQLite
   * it also takes a write turn: there every request shares one connection, and a statement run
   * while another request's transaction is open sees that transaction's uncommitted rows (the
   * upload already marked finished, its attachment not yet written).
   */
  referencedKeys(keys: string[], tables: { previews: boolean; uploads: boolean }): Promise<Set<string>> {
    if (keys.length === 0) return Promise.resolve(new Set());
    const { dialect } = this;
    const sources = [
      dialect.table,
      ...(tables.previews ? [dialect.previewsTable] : []),
      ...(tables.uploads ? [dialect.uploadsTable, dialect.uploadPartsTable] : []),
    ];
    // Each table gets the keys once, in the statement's order (SQLite's `?` bind by position).
    const marks = dialect.placeholders(keys.length * sources.length);
    const sql = sources
      .map(
        (source, index) =>
          `SELECT storage_key FROM ${source} WHERE storage_key IN (${marks.slice(index * keys.length, (index + 1) * keys.length).join(', ')})`,
      )
      .join(' UNION ');
    const parameters = sources.flatMap(() => keys);
    return this.turns.statement(async (manager) => {
      const rows = await manager.query<Array<{ storage_key: string }>>(sql, parameters);
      return new Set(rows.map((row) => row.storage_key));
    });
  }
}

function toOutdatedRow(raw: RawOutdatedRow): OutdatedRow {
  return {
    id: raw.id,
    sessionKey: raw.session_key,
    bundle: raw.bundle,
    name: raw.name,
    size: Number(raw.size),
    storageKey: raw.storage_key,
    updatedAt: Number(raw.updated_at),
  };
}
