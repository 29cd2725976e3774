import { randomUUID } from 'node:crypto';
import { In, type EntityManager } from 'typeorm';
import { AttachmentEntity } from '../attachment.entity.js';
import { quotaRefusal, type BundleQuotas, type QuotaRefusal } from './quotas.js';
import type { SqlDialect } from './sql-dialect.js';

/** A stored file about to get its row: the bytes are already in storage under `storageKey`. */
export interface NewAttachmentRow {
  name: string;
  mimetype: string;
  size: number;
  sha256: string;
  storageKey: string;
  /** The bytes themselves when the file travels with its row (see inline-content.ts); else null. */
  content: Uint8Array | null;
}

/** The rows as stored, and the storage keys they replaced (to delete once committed). */
export interface UpsertResult {
  saved: AttachmentEntity[];
  replacedKeys: string[];
  /**
   * Who adopted the session (since the time the caller gave), as the write saw it under the
   * session's lock: null for no one, undefined where the write did not ask (SQLite, an older
   * put function), so the caller asks itself.
   */
  adoptedInto?: string | null;
  /**
   * The storage keys of the previews made from the replaced files, which the write removed
   * with their rows; undefined where it did not (SQLite, an older put function), so the caller
   * removes them itself.
   */
  removedPreviews?: string[];
}

/**
 * The upsert as separate statements, inside a transaction that already holds the session's
 * lock: on SQLite, and on a PostgreSQL without the `session_attachments_put` function.
 */
export async function upsertInTransaction(
  dialect: SqlDialect,
  manager: EntityManager,
  sessionKey: string,
  bundle: string,
  rows: NewAttachmentRow[],
  quotas: BundleQuotas,
): Promise<UpsertResult | QuotaRefusal> {
  const repository = manager.getRepository(AttachmentEntity);
  const existing = await repository.findBy({ sessionKey, bundle, name: In(rows.map((row) => row.name)) });
  const usage = await repository
    .createQueryBuilder('a')
    .select('SUM(CASE WHEN a.bundle = :bundle THEN 1 ELSE 0 END)', 'inBundle')
    .addSelect('COUNT(DISTINCT a.bundle)', 'bundles')
    .addSelect('SUM(a.size)', 'bytes')
    .where('a.session_key = :sessionKey', { sessionKey, bundle })
    .getRawOne<{ inBundle: string | number | null; bundles: string | number; bytes: string | number | null }>();
  const refusal = quotaRefusal(
    {
      filesInBundle: Number(usage?.inBundle ?? 0),
      bundles: Number(usage?.bundles ?? 0),
      bytes: Number(usage?.bytes ?? 0),
      filesReplaced: existing.length,
      bytesReplaced: existing.reduce((total, row) => total + row.size, 0),
    },
    { files: rows.length, bytes: rows.reduce((total, row) => total + row.size, 0) },
    quotas,
  );
  if (refusal) return refusal;
  const now = Date.now();
  const previous = new Map(existing.map((row) => [row.name, row]));
  // The stored rows are known without reading them back: a replaced row keeps its id and
  // created time (the upsert below keeps them too), a new row gets fresh ones.
  const saved = rows.map((row): AttachmentEntity => {
    const before = previous.get(row.name);
    const { content: _content, ...columns } = row;
    return {
      ...columns,
      id: before?.id ?? randomUUID(),
      sessionKey,
      bundle,
      createdAt: before?.createdAt ?? now,
      updatedAt: now,
      claim: null,
      claimedAt: null,
    };
  });
  await repository
    .createQueryBuilder()
    .insert()
    .values(saved)
    // A row that exists keeps its id and created time; its content and updated time change,
    // and a take() that holds it no longer does (the new content was never handed over).
    .orUpdate(
      ['mimetype', 'size', 'sha256', 'storage_key', 'updated_at', 'claim', 'claimed_at'],
      ['session_key', 'bundle', 'name'],
    )
    .updateEntity(false)
    .execute();
  // The content column is not the entity's (no binary type maps on both databases): set in the
  // same transaction, so a row is never visible without the bytes it says it holds.
  const [content, session, bundleParameter, name] = dialect.placeholders(4);
  for (const row of rows) {
    if (row.content === null && !previous.get(row.name)) continue;
    await manager.query(
      `UPDATE ${dialect.table} SET content = ${content} WHERE session_key = ${session} AND bundle = ${bundleParameter} AND name = ${name}`,
      [
        row.content === null ? null : Buffer.from(row.content.buffer, row.content.byteOffset, row.content.byteLength),
        sessionKey,
        bundle,
        row.name,
      ],
    );
  }
  return { saved, replacedKeys: existing.map((row) => row.storageKey) };
}
