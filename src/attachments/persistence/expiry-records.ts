import { Injectable } from '@nestjs/common';
import { In } from 'typeorm';
import { AttachmentEntity } from '../attachment.entity.js';
import { WriteLock } from './write-lock.js';

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

const COLUMNS = 'id, session_key, bundle, name, size, storage_key, updated_at';

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
  constructor(private readonly lock: WriteLock) {}

  /**
   * Deletes up to `limit` rows last written before `cutoff`, oldest first, in one statement.
   * A row that a concurrent upload replaced meanwhile is never taken: on PostgreSQL the batch
   * is locked as it is picked (FOR UPDATE waits for the upload, then re-checks `updated_at` on
   * the new version); on SQLite writes take turns anyway, and the outer test re-checks.
   *
   * On PostgreSQL the rows are then deleted by address (ctid), which always plans as a TID
   * scan. With `id IN (subquery)` and an outer `updated_at` test, statistics that put few rows
   * before the cutoff (old rows are the histogram's thin tail) led the planner to loops over
   * every old row for each batch: 100,000 expired rows among a million took minutes.
   */
  deleteBatch(cutoff: number, limit: number): Promise<OutdatedRow[]> {
    const sql = deleteBatchStatement(this.lock.postgres);
    const parameters = this.lock.postgres ? [cutoff, limit] : [cutoff, limit, cutoff];
    return this.lock.alone(async (manager) => {
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
  async findPage(cutoff: number, after: OutdatedRow | undefined, limit: number): Promise<OutdatedRow[]> {
    const [p1, p2, p3, p4, p5] = this.lock.placeholders(5);
    const sql = after
      ? `SELECT ${COLUMNS} FROM session_attachments WHERE updated_at < ${p1} ` +
        `AND (updated_at > ${p2} OR (updated_at = ${p3} AND id > ${p4})) ORDER BY updated_at, id LIMIT ${p5}`
      : `SELECT ${COLUMNS} FROM session_attachments WHERE updated_at < ${p1} ORDER BY updated_at, id LIMIT ${p2}`;
    const parameters = after ? [cutoff, after.updatedAt, after.updatedAt, after.id, limit] : [cutoff, limit];
    const rows = await this.lock.dataSource.query<RawOutdatedRow[]>(sql, parameters);
    return rows.map(toOutdatedRow);
  }

  async countOlderThan(cutoff: number): Promise<{ count: number; bytes: number }> {
    const [c] = this.lock.placeholders(1);
    const [row] = await this.lock.dataSource.query<Array<{ count: string | number; bytes: string | number | null }>>(
      `SELECT COUNT(*) AS count, SUM(size) AS bytes FROM session_attachments WHERE updated_at < ${c}`,
      [cutoff],
    );
    return { count: Number(row?.count ?? 0), bytes: Number(row?.bytes ?? 0) };
  }

  /** Which of these storage keys a row references. */
  async referencedKeys(keys: string[]): Promise<Set<string>> {
    if (keys.length === 0) return new Set();
    const rows = await this.lock.dataSource
      .getRepository(AttachmentEntity)
      .find({ select: { storageKey: true }, where: { storageKey: In(keys) } });
    return new Set(rows.map((row) => row.storageKey));
  }
}

/** The statement of `deleteBatch`: parameters (cutoff, limit), plus the cutoff again on SQLite. */
export function deleteBatchStatement(postgres: boolean): string {
  return postgres
    ? `DELETE FROM session_attachments WHERE ctid = ANY (ARRAY(` +
        `SELECT ctid FROM session_attachments WHERE updated_at < $1 ORDER BY updated_at LIMIT $2 FOR UPDATE)) ` +
        `RETURNING ${COLUMNS}`
    : `DELETE FROM session_attachments WHERE id IN ` +
        `(SELECT id FROM session_attachments WHERE updated_at < ? ORDER BY updated_at LIMIT ?) ` +
        `AND updated_at < ? RETURNING ${COLUMNS}`;
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
