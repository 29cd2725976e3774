import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { In, type EntityManager, type Repository } from 'typeorm';
import { AttachmentEntity } from '../attachment.entity.js';
import { AttachmentsException } from '../attachments.errors.js';
import { WriteLock } from './write-lock.js';

/** A stored file about to get its row: the bytes are already in storage under `storageKey`. */
export interface NewAttachmentRow {
  name: string;
  mimetype: string;
  size: number;
  sha256: string;
  storageKey: string;
}

/** The quotas checked inside the bundle's lock, so parallel uploads cannot overrun them. */
export interface BundleQuotas {
  filesPerBundle: number;
  bytesPerSession: number;
  bundlesPerSession: number;
}

/** Rows only: every query is scoped by session key, every write holds the bundle's lock. */
@Injectable()
export class AttachmentRecords {
  constructor(
    @InjectRepository(AttachmentEntity) private readonly repository: Repository<AttachmentEntity>,
    private readonly lock: WriteLock,
  ) {}

  /**
   * A bundle in name order. Plain SQL rather than a repository find: the list is the hottest
   * read, and building entities for a thousand rows costs more than the query itself.
   */
  async list(sessionKey: string, bundle: string): Promise<AttachmentEntity[]> {
    const [first, second] = this.lock.postgres ? ['$1', '$2'] : ['?', '?'];
    const rows = await this.repository.query<RawAttachmentRow[]>(
      `SELECT id, session_key, bundle, name, mimetype, size, sha256, storage_key, created_at, updated_at ` +
        `FROM session_attachments WHERE session_key = ${first} AND bundle = ${second} ORDER BY name`,
      [sessionKey, bundle],
    );
    return rows.map(fromRawRow);
  }

  find(sessionKey: string, bundle: string, name: string): Promise<AttachmentEntity | null> {
    return this.repository.findOneBy({ sessionKey, bundle, name });
  }

  async bytesHeld(sessionKey: string): Promise<number> {
    return Number((await this.repository.sum('size', { sessionKey })) ?? 0);
  }

  /**
   * Inserts or replaces the rows of one request, all or none. Returns the stored rows and the
   * storage keys they replaced, which the caller deletes once this has committed.
   */
  async upsert(
    sessionKey: string,
    bundle: string,
    rows: NewAttachmentRow[],
    quotas: BundleQuotas,
  ): Promise<{ saved: AttachmentEntity[]; replacedKeys: string[] }> {
    const names = rows.map((row) => row.name);
    return this.lock.inBundle(sessionKey, bundle, async (manager) => {
      const repository = manager.getRepository(AttachmentEntity);
      const existing = await repository.findBy({ sessionKey, bundle, name: In(names) });
      await checkQuotas(manager, sessionKey, bundle, rows, existing, quotas);
      const now = Date.now();
      const previous = new Map(existing.map((row) => [row.name, row]));
      // The stored rows are known without reading them back: a replaced row keeps its id and
      // created time (the upsert below keeps them too), a new row gets fresh ones.
      const saved = rows.map((row): AttachmentEntity => {
        const before = previous.get(row.name);
        return {
          ...row,
          id: before?.id ?? randomUUID(),
          sessionKey,
          bundle,
          createdAt: before?.createdAt ?? now,
          updatedAt: now,
        };
      });
      await repository
        .createQueryBuilder()
        .insert()
        .values(saved)
        // A row that exists keeps its id and created time; its content and updated time change.
        .orUpdate(['mimetype', 'size', 'sha256', 'storage_key', 'updated_at'], ['session_key', 'bundle', 'name'])
        .updateEntity(false)
        .execute();
      saved.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      return { saved, replacedKeys: existing.map((row) => row.storageKey) };
    });
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

interface RawAttachmentRow {
  id: string;
  session_key: string;
  bundle: string;
  name: string;
  mimetype: string;
  size: string | number;
  sha256: string;
  storage_key: string;
  created_at: string | number;
  updated_at: string | number;
}

function fromRawRow(row: RawAttachmentRow): AttachmentEntity {
  return {
    id: row.id,
    sessionKey: row.session_key,
    bundle: row.bundle,
    name: row.name,
    mimetype: row.mimetype,
    size: Number(row.size),
    sha256: row.sha256,
    storageKey: row.storage_key,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

async function checkQuotas(
  manager: EntityManager,
  sessionKey: string,
  bundle: string,
  rows: NewAttachmentRow[],
  existing: AttachmentEntity[],
  quotas: BundleQuotas,
): Promise<void> {
  // One statement for all three quotas: every round trip counts on the upload path.
  const usage = await manager
    .getRepository(AttachmentEntity)
    .createQueryBuilder('a')
    .select('SUM(CASE WHEN a.bundle = :bundle THEN 1 ELSE 0 END)', 'inBundle')
    .addSelect('COUNT(DISTINCT a.bundle)', 'bundles')
    .addSelect('SUM(a.size)', 'bytes')
    .where('a.session_key = :sessionKey', { sessionKey, bundle })
    .getRawOne<{ inBundle: string | number | null; bundles: string | number; bytes: string | number | null }>();
  const inBundle = Number(usage?.inBundle ?? 0);
  if (inBundle + rows.length - existing.length > quotas.filesPerBundle) {
    throw AttachmentsException.create('bundle_full', `at most ${quotas.filesPerBundle} files`);
  }
  if (inBundle === 0 && Number(usage?.bundles ?? 0) >= quotas.bundlesPerSession) {
    throw AttachmentsException.create('too_many_bundles', `at most ${quotas.bundlesPerSession} bundles`);
  }
  const replaced = existing.reduce((total, row) => total + row.size, 0);
  const incoming = rows.reduce((total, row) => total + row.size, 0);
  if (Number(usage?.bytes ?? 0) - replaced + incoming > quotas.bytesPerSession) {
    throw AttachmentsException.create('session_quota_exceeded', `at most ${quotas.bytesPerSession} bytes per session`);
  }
}
