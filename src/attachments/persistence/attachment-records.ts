import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type { Repository } from 'typeorm';
import type { Attachment } from '../attachment.js';
import { AttachmentEntity } from '../attachment.entity.js';
import { isPutFunctionInstalled, putInOneCall } from './put-function.js';
import { quotaException, type BundleQuotas } from './quotas.js';
import { upsertInTransaction, type NewAttachmentRow, type UpsertResult } from './upsert.js';
import { WriteLock } from './write-lock.js';

/** Rows only: every query is scoped by session key, every write holds the bundle's lock. */
@Injectable()
export class AttachmentRecords {
  private putFunction?: Promise<boolean>;

  constructor(
    @InjectRepository(AttachmentEntity) private readonly repository: Repository<AttachmentEntity>,
    private readonly lock: WriteLock,
  ) {}

  /**
   * A bundle in name order, as the visitor sees it. Plain SQL of only the shown columns, made
   * into attachments in one step: the list is the hottest read, and for a thousand rows the
   * column parsing and the objects in between cost more than the query itself.
   */
  async listAttachments(sessionKey: string, bundle: string): Promise<Attachment[]> {
    const [session, bundleParameter] = this.lock.placeholders(2);
    const rows = await this.repository.query<ListedRow[]>(
      `SELECT name, mimetype, size, sha256, created_at, updated_at FROM session_attachments ` +
        `WHERE session_key = ${session} AND bundle = ${bundleParameter} ORDER BY name`,
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
  }

  /** A bundle's rows in name order, with what only the module needs (ids, storage keys). */
  list(sessionKey: string, bundle: string): Promise<AttachmentEntity[]> {
    return this.repository.find({ where: { sessionKey, bundle }, order: { name: 'ASC' } });
  }

  find(sessionKey: string, bundle: string, name: string): Promise<AttachmentEntity | null> {
    return this.repository.findOneBy({ sessionKey, bundle, name });
  }

  async bytesHeld(sessionKey: string): Promise<number> {
    return Number((await this.repository.sum('size', { sessionKey })) ?? 0);
  }

  /**
   * Inserts or replaces the rows of one request, all or none. Returns the stored rows (in name
   * order) and the storage keys they replaced, which the caller deletes once this has committed.
   */
  async upsert(sessionKey: string, bundle: string, rows: NewAttachmentRow[], quotas: BundleQuotas): Promise<UpsertResult> {
    const result = (await this.putFunctionInstalled())
      ? await putInOneCall(this.lock.dataSource, this.lock.bundleLock(sessionKey, bundle), sessionKey, bundle, rows, quotas)
      : await this.lock.inBundle(sessionKey, bundle, (manager) => upsertInTransaction(manager, sessionKey, bundle, rows, quotas));
    if (typeof result === 'string') throw quotaException(result, quotas);
    result.saved.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return result;
  }

  /**
   * Checked once: the function exists from the module's second migration on (PostgreSQL only).
   * A look-up that fails (the database is away) is forgotten, so the next upload asks again.
   */
  private putFunctionInstalled(): Promise<boolean> {
    this.putFunction ??= this.lock.postgres
      ? isPutFunctionInstalled(this.lock.dataSource).catch((error: unknown) => {
          this.putFunction = undefined;
          throw error;
        })
      : Promise.resolve(false);
    return this.putFunction;
  }

  /** Deletes one row; returns its storage key, or undefined when there was none. */
  remove(sessionKey: string, bundle: string, name: string): Promise<string | undefined> {
    return this.lock.inBundle(sessionKey, bundle, async (manager) => {
      const repository = manager.getRepository(AttachmentEntity);
      const row = await repository.findOneBy({ sessionKey, bundle, name });
      if (!row) return undefined;
      await repository.delete({ id: row.id });
      return row.storageKey;
    });
  }

  /**
   * Deletes the given rows of a bundle, each only if it still holds the content that was read
   * (a file replaced in the meantime stays). Returns the storage keys of the deleted rows.
   */
  removeExactly(sessionKey: string, bundle: string, rows: Pick<AttachmentEntity, 'id' | 'storageKey'>[]): Promise<string[]> {
    return this.lock.inBundle(sessionKey, bundle, async (manager) => {
      const repository = manager.getRepository(AttachmentEntity);
      const removed: string[] = [];
      for (const row of rows) {
        const result = await repository.delete({ id: row.id, sessionKey, storageKey: row.storageKey });
        if (result.affected) removed.push(row.storageKey);
      }
      return removed;
    });
  }

  /** Deletes every row of a bundle; returns their storage keys. */
  clear(sessionKey: string, bundle: string): Promise<string[]> {
    return this.lock.inBundle(sessionKey, bundle, async (manager) => {
      const repository = manager.getRepository(AttachmentEntity);
      const rows = await repository.find({ select: { id: true, storageKey: true }, where: { sessionKey, bundle } });
      if (rows.length > 0) await repository.delete({ sessionKey, bundle });
      return rows.map((row) => row.storageKey);
    });
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
