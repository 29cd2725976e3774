import { Injectable } from '@nestjs/common';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { DataSource, In, IsNull, LessThan, Not, type EntityManager, type Repository } from 'typeorm';
import type { ListedAttachment } from '../attachment.js';
import { AttachmentEntity } from '../attachment.entity.js';
import { namedQueryEach } from './named-statement.js';
import { isPutFunctionInstalled, putInOneCall } from './put-function.js';
import type { BundleQuotas, QuotaRefusal } from './quotas.js';
import { InstalledTable } from './installed-table.js';
import { SessionLock } from './session-lock.js';
import { ADOPTIONS_TABLE, compareNames, SqlDialect } from './sql-dialect.js';
import { upsertInTransaction, type NewAttachmentRow, type UpsertResult } from './upsert.js';
import { UploadRecords, type UploadBound } from '../resumable/upload-records.js';

/** A row with the bytes it holds itself (a small file; see inline-content.ts), or null. */
export type AttachmentRow = AttachmentEntity & { content: Buffer | null };

/** The files a `take()` holds: its claim, and the rows in name order. */
export interface ClaimedRows {
  claim: string;
  rows: AttachmentRow[];
}

/**
 * What an adoption did: the rows that moved, the storage keys of the files that lost, and those
 * of the unfinished uploads a bundle had no room for.
 */
export interface AdoptionResult {
  moved: AttachmentEntity[];
  discardedKeys: string[];
  droppedUploadKeys: string[];
}

/** What an upsert may do besides writing the rows. */
export interface UpsertOptions {
  /** A step of the caller's, in the same transaction, before the rows (see `upsert`). */
  first?: (manager: EntityManager) => Promise<void>;
  /** Asks, where the write can tell in its round trip, who adopted the session since then. */
  adoptedSince?: number;
}

/**
 * Rows only: every query is scoped by session key, or by a take's claim (a random id only that
 * take knows) with the rows' ids; every write holds the session's lock.
 * Answers with values (a quota refusal is a result, not an error); a failed call rejects with
 * a classified `DatabaseFailure`, never with a driver's error.
 */
@Injectable()
export class AttachmentRecords {
  private putFunction?: Promise<string | undefined>;
  /**
   * Made by the module's migrations (a schema made by `synchronize` has none: adoption then
   * still moves the rows, and late uploads do not follow).
   */
  private readonly adoptions: InstalledTable;

  constructor(
    @InjectRepository(AttachmentEntity) private readonly repository: Repository<AttachmentEntity>,
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly lock: SessionLock,
    private readonly dialect: SqlDialect,
    private readonly uploads: UploadRecords,
  ) {
    this.adoptions = new InstalledTable(dataSource, ADOPTIONS_TABLE);
  }

  /**
   * A bundle in name order, as the visitor sees it, handed to `visit` one entry at a time:
   * plain SQL of only the shown columns, whose rows are the entries as they come (see
   * `listColumns`). The list is the hottest read: for a thousand rows, the column parsing and
   * the objects in between cost more than the query, and a thousand rows held at once were
   * promoted out of the young generation by the collections that ran meanwhile. On PostgreSQL
   * the statement is prepared once per connection and no row outlives its visit (see
   * `namedQueryEach`).
   */
  async visitAttachments(sessionKey: string, bundle: string, visit: (entry: ListedAttachment) => void): Promise<void> {
    // What `visit` throws is the caller's own failure, not a database's: it is rethrown as is.
    let visitFailed: { error: unknown } | undefined;
    const guardedVisit = (entry: ListedAttachment) => {
      try {
        visit(entry);
      } catch (error) {
        visitFailed = { error };
        throw error;
      }
    };
    const [session, bundleParameter] = this.dialect.placeholders(2);
    try {
      await this.call(() =>
        namedQueryEach<ListedAttachment>(
          this.dataSource,
          `list ${this.dialect.table.replaceAll('"', '')}`,
          `SELECT ${this.dialect.listColumns} FROM ${this.dialect.table} ` +
            `WHERE session_key = ${session} AND bundle = ${bundleParameter} ORDER BY ${this.dialect.byName}`,
          [sessionKey, bundle],
          guardedVisit,
        ),
      );
    } catch (error) {
      if (visitFailed) throw visitFailed.error;
      throw error;
    }
  }

  /** One row with its inline content, in one query (a small file's download is one round trip). */
  find(sessionKey: string, bundle: string, name: string): Promise<AttachmentRow | null> {
    return this.call(async () => {
      const [session, bundleParameter, nameParameter] = this.dialect.placeholders(3);
      const [row] = await this.rowsWhere(
        this.dataSource.manager,
        `session_key = ${session} AND bundle = ${bundleParameter} AND name = ${nameParameter}`,
        [sessionKey, bundle, name],
      );
      return row ?? null;
    });
  }

  /** Rows with their content column, which is not the entity's (see upsert.ts). */
  private async rowsWhere(manager: EntityManager, where: string, parameters: unknown[]): Promise<AttachmentRow[]> {
    const rows = await manager.query<RawRow[]>(
      `SELECT id, session_key, bundle, name, mimetype, size, sha256, storage_key, content, created_at, updated_at, claim, claimed_at ` +
        `FROM ${this.dialect.table} WHERE ${where}`,
      parameters,
    );
    return rows.map((raw) => ({
      id: raw.id,
      sessionKey: raw.session_key,
      bundle: raw.bundle,
      name: raw.name,
      mimetype: raw.mimetype,
      size: Number(raw.size),
      sha256: raw.sha256,
      storageKey: raw.storage_key,
      content: raw.content,
      createdAt: Number(raw.created_at),
      updatedAt: Number(raw.updated_at),
      claim: raw.claim,
      claimedAt: raw.claimed_at === null ? null : Number(raw.claimed_at),
    }));
  }

  /**
   * The bytes a session holds, without those of the file at `bundle`/`name` (the one an upload
   * of that name replaces; the commit's quota check leaves it out too).
   */
  bytesHeldBeside(sessionKey: string, bundle: string, name: string): Promise<number> {
    return this.call(async () =>
      Number(
        (await this.repository.sum('size', [
          { sessionKey, bundle: Not(bundle) },
          { sessionKey, bundle, name: Not(name) },
        ])) ?? 0,
      ),
    );
  }

  /**
   * Inserts or replaces the rows of one request, all or none, or refuses them when they would
   * break a quota. Returns the stored rows (in name order) and the storage keys they replaced,
   * which the caller deletes once this has committed.
   *
   * `first`, when given, runs in the same transaction, under the session's lock, before the
   * rows are written (a resumable upload marks itself finished there); if it throws, nothing
   * of either is written, and its error comes out as it threw it. A refusal rolls it back too.
   * With `adoptedSince`, the result also says who adopted the session since then where the
   * write can tell in the same round trip (`adoptedInto`).
   */
  upsert(
    sessionKey: string,
    bundle: string,
    rows: NewAttachmentRow[],
    quotas: BundleQuotas,
    { first, adoptedSince }: UpsertOptions = {},
  ): Promise<UpsertResult | QuotaRefusal> {
    let stepFailure: { error: unknown } | undefined;
    const step =
      first &&
      ((manager: EntityManager) =>
        first(manager).catch((error: unknown) => {
          stepFailure = { error };
          throw error;
        }));
    return this.call(async () => {
      const putFunction = await this.installedPutFunction();
      const write = (manager: EntityManager) =>
        putFunction
          ? putInOneCall(manager, putFunction, this.lock.keys(sessionKey), sessionKey, bundle, rows, quotas, adoptedSince)
          : upsertInTransaction(this.dialect, manager, sessionKey, bundle, rows, quotas);
      let result: UpsertResult | QuotaRefusal;
      if (step) {
        result = await this.lock
          .transaction(sessionKey, async (manager) => {
            await step(manager);
            const written = await write(manager);
            if (typeof written === 'string') throw new RolledBack(written);
            return written;
          })
          .catch((error: unknown) => {
            if (error instanceof RolledBack) return error.refusal;
            throw error;
          });
      } else {
        result = putFunction
          ? await putInOneCall(
              this.dataSource,
              putFunction,
              this.lock.keys(sessionKey),
              sessionKey,
              bundle,
              rows,
              quotas,
              adoptedSince,
            )
          : await this.lock.transaction(sessionKey, write);
      }
      if (typeof result !== 'string') result.saved.sort((a, b) => compareNames(a.name, b.name));
      return result;
    }).catch((error: unknown) => {
      if (stepFailure) throw stepFailure.error;
      throw error;
    });
  }

  /**
   * The put function's name when it is installed (PostgreSQL, from the module's migrations on),
   * checked once. A look-up that fails (the database is away) is forgotten, so the next upload
   * asks again.
   */
  private installedPutFunction(): Promise<string | undefined> {
    const putFunction = this.dialect.putFunction;
    this.putFunction ??= putFunction
      ? isPutFunctionInstalled(this.dataSource, putFunction).then(
          (installed) => (installed ? putFunction : undefined),
          (error: unknown) => {
            this.putFunction = undefined;
            throw error;
          },
        )
      : Promise.resolve(undefined);
    return this.putFunction;
  }

  /** Deletes one row; returns its storage key, or undefined when there was none. */
  remove(sessionKey: string, bundle: string, name: string): Promise<string | undefined> {
    return this.call(() =>
      this.lock.transaction(sessionKey, async (manager) => {
        const repository = manager.getRepository(AttachmentEntity);
        const row = await repository.findOneBy({ sessionKey, bundle, name });
        if (!row) return undefined;
        await repository.delete({ id: row.id });
        return row.storageKey;
      }),
    );
  }

  /** Deletes every row of a bundle; returns their storage keys. */
  clear(sessionKey: string, bundle: string): Promise<string[]> {
    return this.call(() =>
      this.lock.transaction(sessionKey, async (manager) => {
        const repository = manager.getRepository(AttachmentEntity);
        const rows = await repository.find({ select: { id: true, storageKey: true }, where: { sessionKey, bundle } });
        if (rows.length > 0) await repository.delete({ sessionKey, bundle });
        return rows.map((row) => row.storageKey);
      }),
    );
  }

  /**
   * Claims the bundle's files that no other take holds (or whose claim was set before
   * `staleBefore`, by a process that died mid-take) and returns them in name order. Marked
   * under the session's lock, so two concurrent takes never both hold a file.
   */
  claim(sessionKey: string, bundle: string, now: number, staleBefore: number): Promise<ClaimedRows> {
    const claim = randomUUID();
    return this.call(() =>
      this.lock.transaction(sessionKey, async (manager) => {
        const repository = manager.getRepository(AttachmentEntity);
        await repository.update({ sessionKey, bundle, claim: IsNull() }, { claim, claimedAt: now });
        await repository.update({ sessionKey, bundle, claimedAt: LessThan(staleBefore) }, { claim, claimedAt: now });
        const [session, claimParameter] = this.dialect.placeholders(2);
        const rows = await this.rowsWhere(manager, `session_key = ${session} AND claim = ${claimParameter}`, [sessionKey, claim]);
        return { claim, rows: rows.sort((a, b) => compareNames(a.name, b.name)) };
      }),
    );
  }

  /**
   * Deletes the rows a take still holds: a file replaced meanwhile lost the claim and stays
   * (its new content was never handed over). Returns the deleted rows' storage keys. Found by
   * the claim and the claimed rows' ids (`ids`), not by owner: a row adopted by a signed-in
   * owner while the take ran moved with its claim and its id, and is still this take's to
   * remove. By id, so that the look-up is the primary key's, not a scan of every owner's rows.
   */
  removeClaimed(sessionKey: string, claim: string, ids: string[]): Promise<string[]> {
    return this.call(() =>
      this.lock.transaction(sessionKey, async (manager) => {
        const repository = manager.getRepository(AttachmentEntity);
        const keys: string[] = [];
        for (let start = 0; start < ids.length; start += ADOPTION_BATCH) {
          const where = { id: In(ids.slice(start, start + ADOPTION_BATCH)), claim };
          const rows = await repository.find({ select: { id: true, storageKey: true }, where });
          if (rows.length > 0) await repository.delete({ id: In(rows.map((row) => row.id)), claim });
          keys.push(...rows.map((row) => row.storageKey));
        }
        return keys;
      }),
    );
  }

  /** Whether the row `id` is still held by the take `claim` (not replaced, removed or taken over). */
  holdsClaim(claim: string, id: string): Promise<boolean> {
    return this.call(async () => {
      // In the statement's order: SQLite's `?` are bound by position.
      const [idParameter, claimParameter] = this.dialect.placeholders(2);
      const rows = await this.dataSource.query<unknown[]>(
        `SELECT 1 AS held FROM ${this.dialect.table} WHERE id = ${idParameter} AND claim = ${claimParameter}`,
        [id, claim],
      );
      return rows.length > 0;
    });
  }

  /**
   * Gives the files of a failed take back (wherever adoption moved them), for the next take:
   * the rows `ids` that still hold `claim`.
   */
  releaseClaim(sessionKey: string, claim: string, ids: string[]): Promise<void> {
    return this.call(async () => {
      await this.lock.transaction(sessionKey, async (manager) => {
        const repository = manager.getRepository(AttachmentEntity);
        for (let start = 0; start < ids.length; start += ADOPTION_BATCH) {
          await repository.update({ id: In(ids.slice(start, start + ADOPTION_BATCH)), claim }, { claim: null, claimedAt: null });
        }
      });
    });
  }

  /**
   * Moves every row of `from` to `into` under both owners' locks; where both hold a bundle's
   * name, the later `updatedAt` wins (a tie keeps `into`'s) and the loser's row is deleted.
   * Records the adoption (when the adoptions table exists), so that an upload to `from` that
   * commits later can follow, and forgets adoptions older than `forgetBefore`. Resumable
   * uploads of `from` move to `into`, within `uploads` (see UploadRecords.adoptIn).
   */
  adopt(from: string, into: string, now: number, forgetBefore: number, uploads: UploadBound): Promise<AdoptionResult> {
    return this.call(async () => {
      // A login asks again while the table was missing: its migration may have run since, and
      // once a login has seen it, its adoption is recorded and later uploads follow.
      const recordsAdoptions = await this.adoptions.isThere();
      // Asked before the transaction: the look-up takes a connection of its own, and inside, each
      // of a pool's worth of logins at once would hold one while waiting for another.
      const movesUploads = await this.uploads.isInstalled();
      return this.lock.transactionOfAll([from, into], async (manager) => {
        const repository = manager.getRepository(AttachmentEntity);
        const incoming = await repository.findBy({ sessionKey: from });
        const bundles = [...new Set(incoming.map((row) => row.bundle))];
        const rivals = bundles.length === 0 ? [] : await repository.findBy({ sessionKey: into, bundle: In(bundles) });
        const held = new Map(rivals.map((row) => [`${row.bundle}/${row.name}`, row]));
        const moved: AttachmentEntity[] = [];
        const losers: AttachmentEntity[] = [];
        for (const row of incoming) {
          const rival = held.get(`${row.bundle}/${row.name}`);
          if (rival === undefined || row.updatedAt > rival.updatedAt) {
            moved.push(row);
            if (rival) losers.push(rival);
          } else {
            losers.push(row);
          }
        }
        // The losers go first: the unique (owner, bundle, name) index would refuse the move.
        for (let start = 0; start < losers.length; start += ADOPTION_BATCH) {
          await repository.delete({ id: In(losers.slice(start, start + ADOPTION_BATCH).map((row) => row.id)) });
        }
        if (moved.length > 0) await repository.update({ sessionKey: from }, { sessionKey: into });
        if (recordsAdoptions) await this.recordAdoption(manager, from, into, now, forgetBefore);
        // Resumable uploads under way move too, so the signed-in visitor resumes them.
        const droppedUploadKeys = movesUploads ? await this.uploads.adoptIn(manager, from, into, uploads) : [];
        return {
          moved: moved.map((row) => ({ ...row, sessionKey: into })),
          discardedKeys: losers.map((row) => row.storageKey),
          droppedUploadKeys,
        };
      });
    });
  }

  /** Who adopted `owner` since `since`, if anyone (an upload's last step asks). */
  adopterOf(owner: string, since: number): Promise<string | undefined> {
    return this.call(async () => {
      // Every upload asks: while the table is missing, the last answer (a login asks again).
      if (!(await this.adoptions.lastAnswer())) return undefined;
      const [from, after] = this.dialect.placeholders(2);
      const [row] = await this.dataSource.query<Array<{ into_key: string }>>(
        `SELECT into_key FROM ${this.dialect.adoptionsTable} WHERE from_key = ${from} AND adopted_at >= ${after}`,
        [owner, since],
      );
      return row?.into_key;
    });
  }

  private async recordAdoption(manager: EntityManager, from: string, into: string, now: number, forgetBefore: number) {
    const table = this.dialect.adoptionsTable;
    const [old] = this.dialect.placeholders(1);
    await manager.query(`DELETE FROM ${table} WHERE adopted_at < ${old}`, [forgetBefore]);
    const [fromKey] = this.dialect.placeholders(1);
    await manager.query(`DELETE FROM ${table} WHERE from_key = ${fromKey}`, [from]);
    const [a, b, c] = this.dialect.placeholders(3);
    await manager.query(`INSERT INTO ${table} (from_key, into_key, adopted_at) VALUES (${a}, ${b}, ${c})`, [from, into, now]);
  }

  private async call<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      throw this.dialect.failure(error);
    }
  }
}

/** A refusal inside a transaction with another step: thrown to roll both back. */
class RolledBack extends Error {
  constructor(readonly refusal: QuotaRefusal) {
    super(`refused: ${refusal}`);
  }
}

/** Rows per statement by an adoption or a take (SQLite binds at most 32,766 parameters). */
const ADOPTION_BATCH = 1000;

interface RawRow {
  id: string;
  session_key: string;
  bundle: string;
  name: string;
  mimetype: string;
  size: string | number;
  sha256: string;
  storage_key: string;
  content: Buffer | null;
  created_at: string | number;
  updated_at: string | number;
  claim: string | null;
  claimed_at: string | number | null;
}
