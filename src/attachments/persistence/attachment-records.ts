import { Injectable } from '@nestjs/common';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { DataSource, IsNull, LessThan, type EntityManager, type Repository } from 'typeorm';
import type { Attachment } from '../attachment.js';
import { AttachmentEntity } from '../attachment.entity.js';
import { isPutFunctionInstalled, putInOneCall } from './put-function.js';
import type { BundleQuotas, QuotaRefusal } from './quotas.js';
import { SessionLock } from './session-lock.js';
import { compareNames, SqlDialect } from './sql-dialect.js';
import { upsertInTransaction, type NewAttachmentRow, type UpsertResult } from './upsert.js';

/** A row with the bytes it holds itself (a small file; see inline-content.ts), or null. */
export type AttachmentRow = AttachmentEntity & { content: Buffer | null };

/** The files a `take()` holds: its claim, and the rows in name order. */
export interface ClaimedRows {
  claim: string;
  rows: AttachmentRow[];
}

/**
 * Rows only: every query is scoped by session key, every write holds the session's lock.
 * Answers with values (a quota refusal is a result, not an error); a failed call rejects with
 * a classified `DatabaseFailure`, never with a driver's error.
 */
@Injectable()
export class AttachmentRecords {
  private putFunction?: Promise<string | undefined>;

  constructor(
    @InjectRepository(AttachmentEntity) private readonly repository: Repository<AttachmentEntity>,
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly lock: SessionLock,
    private readonly dialect: SqlDialect,
  ) {}

  /**
   * A bundle in name order, as the visitor sees it. Plain SQL of only the shown columns, made
   * into attachments in one step: the list is the hottest read, and for a thousand rows the
   * column parsing and the objects in between cost more than the query itself.
   */
  listAttachments(sessionKey: string, bundle: string): Promise<Attachment[]> {
    return this.call(async () => {
      const [session, bundleParameter] = this.dialect.placeholders(2);
      const rows = await this.dataSource.query<ListedRow[]>(
        `SELECT name, mimetype, size, sha256, created_at, updated_at FROM ${this.dialect.table} ` +
          `WHERE session_key = ${session} AND bundle = ${bundleParameter} ORDER BY ${this.dialect.byName}`,
        [sessionKey, bundle],
      );
      return rows.map((row) => ({
        bundle,
        name: row.name,
        mimetype: row.mimetype,
        size: Number(row.size),
        sha256: row.sha256,
        created: new Date(Number(row.created_at)),
        updated: new Date(Number(row.updated_at)),
      }));
    });
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

  bytesHeld(sessionKey: string): Promise<number> {
    return this.call(async () => Number((await this.repository.sum('size', { sessionKey })) ?? 0));
  }

  /**
   * Inserts or replaces the rows of one request, all or none, or refuses them when they would
   * break a quota. Returns the stored rows (in name order) and the storage keys they replaced,
   * which the caller deletes once this has committed.
   */
  upsert(
    sessionKey: string,
    bundle: string,
    rows: NewAttachmentRow[],
    quotas: BundleQuotas,
  ): Promise<UpsertResult | QuotaRefusal> {
    return this.call(async () => {
      const putFunction = await this.installedPutFunction();
      const result = putFunction
        ? await putInOneCall(this.dataSource, putFunction, this.lock.keys(sessionKey), sessionKey, bundle, rows, quotas)
        : await this.lock.transaction(sessionKey, (manager) =>
            upsertInTransaction(this.dialect, manager, sessionKey, bundle, rows, quotas),
          );
      if (typeof result !== 'string') result.saved.sort((a, b) => compareNames(a.name, b.name));
      return result;
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
   * (its new content was never handed over). Returns the deleted rows' storage keys.
   */
  removeClaimed(sessionKey: string, claim: string): Promise<string[]> {
    return this.call(() =>
      this.lock.transaction(sessionKey, async (manager) => {
        const repository = manager.getRepository(AttachmentEntity);
        const rows = await repository.find({ select: { id: true, storageKey: true }, where: { sessionKey, claim } });
        if (rows.length > 0) await repository.delete({ sessionKey, claim });
        return rows.map((row) => row.storageKey);
      }),
    );
  }

  /** Gives the files of a failed take back, so that the next take hands them over. */
  releaseClaim(sessionKey: string, claim: string): Promise<void> {
    return this.call(async () => {
      await this.lock.transaction(sessionKey, (manager) =>
        manager.getRepository(AttachmentEntity).update({ sessionKey, claim }, { claim: null, claimedAt: null }),
      );
    });
  }

  private async call<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      throw this.dialect.failure(error);
    }
  }
}

interface ListedRow {
  name: string;
  mimetype: string;
  size: string | number;
  sha256: string;
  created_at: string | number;
  updated_at: string | number;
}

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
