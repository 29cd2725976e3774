import { randomUUID } from 'node:crypto';
import type { DataSource, EntityManager } from 'typeorm';
import type { AttachmentEntity } from '../attachment.entity.js';
import { PUT_FUNCTION_ARGUMENTS } from '../migrations/1796240000000-put-function-reports-adoption.js';
import { namedQuery } from './named-statement.js';
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

function withoutContent({ content: _content, ...row }: NewAttachmentRow): Omit<NewAttachmentRow, 'content'> {
  return row;
}
