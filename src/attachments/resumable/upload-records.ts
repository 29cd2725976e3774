import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import { quotaRefusal, type BundleQuotas, type QuotaRefusal } from '../persistence/quotas.js';
import { InstalledTable } from '../persistence/installed-table.js';
import { SessionLock } from '../persistence/session-lock.js';
import { SqlDialect, UPLOADS_TABLE } from '../persistence/sql-dialect.js';
import { WriteTurns } from '../persistence/write-turns.js';

/** One resumable upload as stored. Times are epoch milliseconds, as everywhere in the module. */
export interface UploadRow {
  id: string;
  owner: string;
  bundle: string;
  name: string;
  /** The client's Upload-Metadata header exactly as sent (null when it sent none). */
  metadata: string | null;
  length: number;
  offset: number;
  /** Sniffed once the first bytes are there; null until then. */
  mimetype: string | null;
  /** The object an in-place upload grows in; null for the parts strategy. */
  storageKey: string | null;
  finishedAt: number | null;
  createdAt: number;
  updatedAt: number;
}

/** Bytes one PATCH stored as an object of their own (the parts strategy). */
export interface UploadPart {
  offset: number;
  length: number;
  storageKey: string;
}

/** What the session holds besides one upload: the bytes that count against its quota. */
export interface QuotaUsage {
  /** Bytes of the owner's attachments, less the one of the upload's name (it will be replaced). */
  attachmentBytes: number;
  /** Declared lengths of the owner's other live unfinished uploads (their reservations). */
  reservedBytes: number;
}

/**
 * What a creation did: refused by a quota (nothing written), or recorded, in place of an older
 * upload of the same name when the bundle held as many unfinished uploads as it may.
 */
export type Creation = { refused: QuotaRefusal; superseded?: undefined } | { refused?: undefined; superseded?: SupersededUpload };

/** An upload removed by a newer one of its name: its id, and the keys of its bytes (to delete after the commit). */
export interface SupersededUpload {
  id: string;
  keys: string[];
}

/** What an adoption leaves in a bundle: `filesPerBundle` live unfinished uploads, live meaning written since `liveSince`. */
export interface UploadBound {
  filesPerBundle: number;
  liveSince: number;
}

/** One batch of the expiry: rows looked at, unfinished uploads removed, keys of their bytes. */
export interface ExpiredUploads {
  scanned: number;
  unfinished: number;
  keys: string[];
}

/** A transaction's step that refused to go on: the whole transaction rolls back. */
export class OffsetMoved extends Error {
  constructor() {
    super('the upload moved on meanwhile');
    this.name = 'OffsetMoved';
  }
}

/**
 * The `session_attachment_uploads` and `…_upload_parts` tables, in plain SQL like the previews
 * (no entity: a host's DataSource lists nothing new). Nothing about an upload lives in one
 * process: its offset moves only by compare-and-set (`UPDATE … WHERE "offset" = :start`), so
 * of two PATCHes from the same offset, on any instances, exactly one counts. Failures come out
 * classified, as from the other records classes.
 */
@Injectable()
export class UploadRecords {
  private readonly uploads: string;
  private readonly parts: string;
  private readonly table: InstalledTable;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly turns: WriteTurns,
    private readonly lock: SessionLock,
    private readonly dialect: SqlDialect,
  ) {
    this.table = new InstalledTable(dataSource, UPLOADS_TABLE);
    this.uploads = dialect.uploadsTable;
    this.parts = dialect.uploadPartsTable;
  }

  /**
   * Records a new upload unless the declared length or one more file would break a quota: the
   * session's bytes count its attachments and its live unfinished uploads' declared lengths;
   * the bundle's files count its attachments and its unfinished uploads' names, and the bundle
   * holds at most `filesPerBundle` live unfinished uploads, each counted (same names too). At
   * that limit, the oldest live unfinished upload of the same name is superseded (a file of the
   * same name replaces the old one): its rows go in this transaction, and its bytes are the
   * caller's to delete after the commit. Without one, the bundle is full. Under the session's
   * lock, so parallel creations cannot each take the last room.
   */
  create(upload: UploadRow, quotas: BundleQuotas, liveSince: number): Promise<Creation> {
    return this.call(() =>
      this.lock.transaction(upload.owner, async (manager): Promise<Creation> => {
        const usage = await this.usage(manager, upload, liveSince);
        let superseded: { id: string; length: number } | undefined;
        if (usage.uploadsInBundle + 1 > quotas.filesPerBundle) {
          superseded = await this.oldestOfName(manager, upload, liveSince);
          if (!superseded) return { refused: 'bundle_full' };
        }
        // The superseded upload's reservation goes with it.
        const counted = superseded ? { ...usage, bytes: usage.bytes - superseded.length } : usage;
        const refusal = quotaRefusal(counted, { files: 1, bytes: upload.length }, quotas);
        if (refusal) return { refused: refusal };
        const keys = superseded ? await this.removeIn(manager, superseded.id) : undefined;
        const values = this.dialect.placeholders(12);
        await manager.query(
          `INSERT INTO ${this.uploads} (id, session_key, bundle, name, metadata, "length", "offset", mimetype, ` +
            `storage_key, finished_at, created_at, updated_at) VALUES (${values.join(', ')})`,
          [
            upload.id,
            upload.owner,
            upload.bundle,
            upload.name,
            upload.metadata,
            upload.length,
            upload.offset,
            upload.mimetype,
            upload.storageKey,
            upload.finishedAt,
            upload.createdAt,
            upload.updatedAt,
          ],
        );
        return superseded && keys ? { superseded: { id: superseded.id, keys } } : {};
      }),
    );
  }

  /** The oldest live unfinished upload of the new upload's owner, bundle and name, if any. */
  private async oldestOfName(
    manager: EntityManager,
    upload: UploadRow,
    liveSince: number,
  ): Promise<{ id: string; length: number } | undefined> {
    const [a, b, c, d] = this.dialect.placeholders(4);
    const [row] = await manager.query<Array<{ id: string; length: string | number }>>(
      `SELECT id, "length" FROM ${this.uploads} WHERE session_key = ${a} AND bundle = ${b} AND name = ${c} ` +
        `AND finished_at IS NULL AND updated_at >= ${d} ORDER BY created_at, id LIMIT 1`,
      [upload.owner, upload.bundle, upload.name, liveSince],
    );
    return row && { id: row.id, length: Number(row.length) };
  }

  private async usage(manager: EntityManager, upload: UploadRow, liveSince: number) {
    const { table } = this.dialect;
    const p = this.dialect.placeholders(17);
    const unfinished = `finished_at IS NULL AND updated_at >= `;
    const [row] = await manager.query<Array<Record<string, string | number | null>>>(
      `SELECT ` +
        `(SELECT COUNT(*) FROM (SELECT name FROM ${table} WHERE session_key = ${p[0]} AND bundle = ${p[1]} ` +
        `UNION SELECT name FROM ${this.uploads} WHERE session_key = ${p[2]} AND bundle = ${p[3]} AND ${unfinished}${p[4]}) n) AS in_bundle, ` +
        `(SELECT COUNT(*) FROM (SELECT bundle FROM ${table} WHERE session_key = ${p[5]} ` +
        `UNION SELECT bundle FROM ${this.uploads} WHERE session_key = ${p[6]} AND ${unfinished}${p[7]}) b) AS bundles, ` +
        `(SELECT COALESCE(SUM(size), 0) FROM ${table} WHERE session_key = ${p[8]}) AS attachment_bytes, ` +
        `(SELECT COALESCE(SUM("length"), 0) FROM ${this.uploads} WHERE session_key = ${p[9]} AND ${unfinished}${p[10]}) AS reserved, ` +
        `(SELECT COALESCE(SUM(size), 0) FROM ${table} WHERE session_key = ${p[11]} AND bundle = ${p[12]} AND name = ${p[13]}) AS replaced_bytes, ` +
        `(SELECT COUNT(*) FROM ${this.uploads} WHERE session_key = ${p[14]} AND bundle = ${p[15]} AND ${unfinished}${p[16]}) AS uploads_in_bundle`,
      [
        upload.owner,
        upload.bundle,
        upload.owner,
        upload.bundle,
        liveSince,
        upload.owner,
        upload.owner,
        liveSince,
        upload.owner,
        upload.owner,
        liveSince,
        upload.owner,
        upload.bundle,
        upload.name,
        upload.owner,
        upload.bundle,
        liveSince,
      ],
    );
    const names = await manager.query<unknown[]>(
      `SELECT 1 FROM ${table} WHERE session_key = ${p[0]} AND bundle = ${p[1]} AND name = ${p[2]} ` +
        `UNION SELECT 1 FROM ${this.uploads} WHERE session_key = ${p[3]} AND bundle = ${p[4]} AND name = ${p[5]} AND ${unfinished}${p[6]}`,
      [upload.owner, upload.bundle, upload.name, upload.owner, upload.bundle, upload.name, liveSince],
    );
    return {
      filesInBundle: Number(row?.in_bundle ?? 0),
      bundles: Number(row?.bundles ?? 0),
      bytes: Number(row?.attachment_bytes ?? 0) + Number(row?.reserved ?? 0),
      // Same name, same file: an attachment or an upload of this name is replaced, not added.
      filesReplaced: names.length > 0 ? 1 : 0,
      bytesReplaced: Number(row?.replaced_bytes ?? 0),
      // Each live unfinished upload, same names too: each is a row and bytes of its own.
      uploadsInBundle: Number(row?.uploads_in_bundle ?? 0),
    };
  }

  /** The owner's upload in that bundle, unless it went stale before `liveSince`. */
  find(owner: string, bundle: string, id: string, liveSince: number): Promise<UploadRow | undefined> {
    return this.call(async () => {
      const [a, b, c, d] = this.dialect.placeholders(4);
      const [row] = await this.dataSource.query<RawUpload[]>(
        `SELECT ${UPLOAD_COLUMNS} FROM ${this.uploads} ` +
          `WHERE id = ${a} AND session_key = ${b} AND bundle = ${c} AND updated_at >= ${d}`,
        [id, owner, bundle, liveSince],
      );
      return row && toUpload(row);
    });
  }

  /**
   * `find` and `quotaUsage` in one statement, for a PATCH: the upload, and what else counts
   * against its owner's quota (a PATCH runs it before every byte it stores).
   */
  findWithUsage(
    owner: string,
    bundle: string,
    id: string,
    liveSince: number,
  ): Promise<{ upload: UploadRow; usage: QuotaUsage } | undefined> {
    return this.call(async () => {
      // Placeholders in the order they appear (SQLite's are positional).
      const [r, a, b, c, d] = this.dialect.placeholders(5);
      const columns = UPLOAD_COLUMNS.split(', ')
        .map((column) => `u.${column}`)
        .join(', ');
      const [row] = await this.dataSource.query<
        Array<RawUpload & { attachment_bytes: string | number; reserved: string | number }>
      >(
        `SELECT ${columns}, ` +
          `(SELECT COALESCE(SUM(a.size), 0) FROM ${this.dialect.table} a WHERE a.session_key = u.session_key ` +
          `AND NOT (a.bundle = u.bundle AND a.name = u.name)) AS attachment_bytes, ` +
          `(SELECT COALESCE(SUM(o."length"), 0) FROM ${this.uploads} o WHERE o.session_key = u.session_key AND o.id <> u.id ` +
          `AND o.finished_at IS NULL AND o.updated_at >= ${r}) AS reserved ` +
          `FROM ${this.uploads} u WHERE u.id = ${a} AND u.session_key = ${b} AND u.bundle = ${c} AND u.updated_at >= ${d}`,
        [liveSince, id, owner, bundle, liveSince],
      );
      if (!row) return undefined;
      return {
        upload: toUpload(row),
        usage: { attachmentBytes: Number(row.attachment_bytes), reservedBytes: Number(row.reserved) },
      };
    });
  }

  /** Whether the upload is marked finished (false for one that is gone). */
  isFinished(id: string): Promise<boolean> {
    return this.call(async () => {
      const [a] = this.dialect.placeholders(1);
      const rows = await this.dataSource.query<unknown[]>(
        `SELECT 1 FROM ${this.uploads} WHERE id = ${a} AND finished_at IS NOT NULL`,
        [id],
      );
      return rows.length > 0;
    });
  }

  /** Whether the upload's row is there (finished or not, stale or not). */
  exists(id: string): Promise<boolean> {
    return this.call(async () => {
      const [a] = this.dialect.placeholders(1);
      const rows = await this.dataSource.query<unknown[]>(`SELECT 1 FROM ${this.uploads} WHERE id = ${a}`, [id]);
      return rows.length > 0;
    });
  }

  /** The parts of an upload, in offset order. */
  partsOf(id: string): Promise<UploadPart[]> {
    return this.call(async () => {
      const [a] = this.dialect.placeholders(1);
      const rows = await this.dataSource.query<RawPart[]>(
        `SELECT "offset", "length", storage_key FROM ${this.parts} WHERE upload_id = ${a} ORDER BY "offset"`,
        [id],
      );
      return rows.map((row) => ({ offset: Number(row.offset), length: Number(row.length), storageKey: row.storage_key }));
    });
  }

  /**
   * Moves the offset from `start` to `end` (and records the part that holds those bytes, and
   * the sniffed type) if nobody moved it meanwhile. False when another PATCH counted first.
   */
  advance(
    id: string,
    start: number,
    end: number,
    mimetype: string | null,
    part: UploadPart | null,
    now: number,
  ): Promise<boolean> {
    // Without a part it is one statement: no transaction around it (two round trips fewer).
    if (!part)
      return this.call(() => this.turns.statement((manager) => this.moveOffset(manager, id, start, end, mimetype, now, false)));
    return this.call(() =>
      this.turns.transaction(async (manager) => {
        if (!(await this.moveOffset(manager, id, start, end, mimetype, now, false))) return false;
        await this.insertPart(manager, id, part);
        return true;
      }),
    );
  }

  /**
   * The finish's step inside the transaction that writes the attachment: the offset moves from
   * `start` to the length and the upload is marked finished, its parts forgotten (their objects
   * are the caller's to delete after the commit) and its in-place object handed to the
   * attachment. Throws `OffsetMoved`, rolling the transaction back, when another PATCH counted.
   */
  finishIn(manager: EntityManager, id: string, start: number, length: number, mimetype: string, now: number): Promise<void> {
    return this.call(async () => {
      if (!(await this.moveOffset(manager, id, start, length, mimetype, now, true))) throw new OffsetMoved();
      const [a] = this.dialect.placeholders(1);
      await manager.query(`DELETE FROM ${this.parts} WHERE upload_id = ${a}`, [id]);
    });
  }

  private async moveOffset(
    manager: EntityManager,
    id: string,
    start: number,
    end: number,
    mimetype: string | null,
    now: number,
    finish: boolean,
  ): Promise<boolean> {
    // Placeholders in the order they appear (SQLite's are positional).
    const [e, m, u, ...rest] = this.dialect.placeholders(finish ? 6 : 5);
    const [f, i, s] = finish ? (rest as [string, string, string]) : ['', ...(rest as [string, string])];
    // A finished upload's in-place object is its attachment's blob now, no longer the upload's.
    const finished = finish ? `, finished_at = ${f}, storage_key = NULL` : '';
    const moved = await returning(
      manager,
      `UPDATE ${this.uploads} SET "offset" = ${e}, mimetype = COALESCE(${m}, mimetype), updated_at = ${u}${finished} ` +
        `WHERE id = ${i} AND "offset" = ${s} AND finished_at IS NULL RETURNING id`,
      finish ? [end, mimetype, now, now, id, start] : [end, mimetype, now, id, start],
    );
    return moved.length === 1;
  }

  private async insertPart(manager: EntityManager, id: string, part: UploadPart): Promise<void> {
    const [a, b, c, d] = this.dialect.placeholders(4);
    await manager.query(
      `INSERT INTO ${this.parts} (upload_id, "offset", "length", storage_key) VALUES (${a}, ${b}, ${c}, ${d})`,
      [id, part.offset, part.length, part.storageKey],
    );
  }

  /**
   * Deletes an upload and its part rows; returns the storage keys that held its bytes (to
   * delete after the commit), or undefined when there was no such upload.
   */
  remove(id: string): Promise<string[] | undefined> {
    return this.call(() => this.turns.transaction((manager) => this.removeIn(manager, id)));
  }

  /** `remove`'s statements, inside a transaction of the caller's. */
  private async removeIn(manager: EntityManager, id: string): Promise<string[] | undefined> {
    const [a] = this.dialect.placeholders(1);
    // The upload first: its row lock waits for a PATCH committing a part, whose part the
    // next statement then sees; a PATCH after it finds no upload to advance.
    const [upload] = await returning<{ storage_key: string | null }>(
      manager,
      `DELETE FROM ${this.uploads} WHERE id = ${a} RETURNING storage_key`,
      [id],
    );
    const parts = await returning<{ storage_key: string }>(
      manager,
      `DELETE FROM ${this.parts} WHERE upload_id = ${a} RETURNING storage_key`,
      [id],
    );
    if (!upload) return undefined;
    return [...(upload.storage_key === null ? [] : [upload.storage_key]), ...parts.map((row) => row.storage_key)];
  }

  /**
   * One bounded batch of the expiry: unfinished uploads untouched since before `cutoff` are
   * deleted with their parts (returns the keys of their bytes, to delete after the commit), and
   * finished ones' records are forgotten (their bytes are their attachment's now).
   */
  expireBatch(cutoff: number, limit: number): Promise<ExpiredUploads> {
    return this.call(() =>
      this.turns.transaction(async (manager) => {
        const [c, l] = this.dialect.placeholders(2);
        const rows = await manager.query<Array<{ id: string; storage_key: string | null; finished_at: unknown }>>(
          `SELECT id, storage_key, finished_at FROM ${this.uploads} WHERE updated_at < ${c} ORDER BY updated_at LIMIT ${l}`,
          [cutoff, limit],
        );
        if (rows.length === 0) return { scanned: 0, unfinished: 0, keys: [] };
        const ids = rows.map((row) => row.id);
        // The outer test re-checks the age: a PATCH that committed meanwhile keeps its upload.
        const marks = this.dialect.placeholders(ids.length + 1);
        const deleted = await returning<{ id: string; storage_key: string | null; finished_at: unknown }>(
          manager,
          `DELETE FROM ${this.uploads} WHERE id IN (${marks.slice(0, -1).join(', ')}) AND updated_at < ${marks.at(-1)} ` +
            `RETURNING id, storage_key, finished_at`,
          [...ids, cutoff],
        );
        const gone = deleted.map((row) => row.id);
        const parts =
          gone.length === 0
            ? []
            : await returning<{ storage_key: string }>(
                manager,
                `DELETE FROM ${this.parts} WHERE upload_id IN (${this.dialect.placeholders(gone.length).join(', ')}) ` +
                  `RETURNING storage_key`,
                gone,
              );
        const keys = [
          ...parts.map((row) => row.storage_key),
          ...deleted.flatMap((row) => (row.storage_key === null ? [] : [row.storage_key])),
        ];
        const unfinished = deleted.filter((row) => row.finished_at === null).length;
        return { scanned: rows.length, unfinished, keys };
      }),
    );
  }

  /**
   * Inside an adoption's transaction (which holds both owners' locks): the unfinished uploads
   * of `from` move to `into`, so the signed-in visitor resumes them. A bundle of both then keeps
   * at most `filesPerBundle` live unfinished uploads, as a creation would: the least recently
   * written beyond that are removed first (as a superseded upload is: its client's next request
   * is a 404), the ones closest to expiring anyway. Returns the storage keys of the removed
   * uploads' bytes, to delete after the commit.
   */
  async adoptIn(manager: EntityManager, from: string, into: string, bound: UploadBound): Promise<string[]> {
    const keys: string[] = [];
    for (const id of await this.beyondBound(manager, from, into, bound)) keys.push(...((await this.removeIn(manager, id)) ?? []));
    const [a, b] = this.dialect.placeholders(2);
    await manager.query(`UPDATE ${this.uploads} SET session_key = ${a} WHERE session_key = ${b}`, [into, from]);
    return keys;
  }

  /**
   * The live unfinished uploads of both owners that the merged bundles have no room for, in the
   * bundles where `from` has one (the others are as they were).
   */
  private async beyondBound(manager: EntityManager, from: string, into: string, bound: UploadBound): Promise<string[]> {
    // Placeholders in the order they appear (SQLite's are positional).
    const [owner, adopter, live, ownerAgain, liveAgain, room] = this.dialect.placeholders(6);
    const unfinished = `finished_at IS NULL AND updated_at >=`;
    const rows = await manager.query<Array<{ id: string }>>(
      `SELECT id FROM (SELECT id, ROW_NUMBER() OVER (PARTITION BY bundle ORDER BY updated_at DESC, created_at DESC, id DESC) AS place ` +
        `FROM ${this.uploads} WHERE session_key IN (${owner}, ${adopter}) AND ${unfinished} ${live} ` +
        `AND bundle IN (SELECT bundle FROM ${this.uploads} WHERE session_key = ${ownerAgain} AND ${unfinished} ${liveAgain})) ranked ` +
        `WHERE place > ${room}`,
      [from, into, bound.liveSince, from, bound.liveSince, bound.filesPerBundle],
    );
    return rows.map((row) => row.id);
  }

  /**
   * Whether the resumable-uploads migration has run (a schema made by `synchronize` has no
   * uploads table: nothing to sweep or to keep). Asked again while missing (InstalledTable): a
   * sweep that kept taking it for missing after its migration ran would delete the bytes of
   * unfinished uploads as orphans.
   */
  isInstalled(): Promise<boolean> {
    return this.table.isThere();
  }

  private async call<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (error instanceof OffsetMoved) throw error;
      throw this.dialect.failure(error);
    }
  }
}

const UPLOAD_COLUMNS =
  'id, session_key, bundle, name, metadata, "length", "offset", mimetype, storage_key, finished_at, created_at, updated_at';

interface RawUpload {
  id: string;
  session_key: string;
  bundle: string;
  name: string;
  metadata: string | null;
  length: string | number;
  offset: string | number;
  mimetype: string | null;
  storage_key: string | null;
  finished_at: string | number | null;
  created_at: string | number;
  updated_at: string | number;
}

interface RawPart {
  offset: string | number;
  length: string | number;
  storage_key: string;
}

function toUpload(raw: RawUpload): UploadRow {
  return {
    id: raw.id,
    owner: raw.session_key,
    bundle: raw.bundle,
    name: raw.name,
    metadata: raw.metadata,
    length: Number(raw.length),
    offset: Number(raw.offset),
    mimetype: raw.mimetype,
    storageKey: raw.storage_key,
    finishedAt: raw.finished_at === null ? null : Number(raw.finished_at),
    createdAt: Number(raw.created_at),
    updatedAt: Number(raw.updated_at),
  };
}

/** A statement's RETURNING rows, the same on every driver (TypeORM's structured result). */
async function returning<T>(manager: EntityManager, sql: string, parameters: unknown[]): Promise<T[]> {
  const runner = manager.queryRunner ?? manager.dataSource.createQueryRunner();
  try {
    const result = await runner.query(sql, parameters, true);
    return result.records as T[];
  } finally {
    if (!manager.queryRunner) await runner.release();
  }
}
