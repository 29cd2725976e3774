import { Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { InstalledTable } from '../persistence/installed-table.js';
import { PREVIEWS_TABLE, SqlDialect } from '../persistence/sql-dialect.js';
import { WriteTurns } from '../persistence/write-turns.js';

/** A preview just made, about to be recorded: its bytes are already in storage. */
export interface NewPreview {
  sha256: string;
  size: number;
  /** How it was made (renderVersion). */
  version: string;
  /** The storage key of the attachment it was made from. */
  sourceKey: string;
  storageKey: string;
}

/** What recording a preview found: it is the one now, another was first, or its source went. */
export type RecordedPreview = { stored: true } | { stored: false; existing: string | undefined };

/**
 * The `session_attachment_previews` table, in plain SQL (no entity, so hosts list nothing new
 * in their DataSource): one preview per (content, render version, size). The unique key decides
 * which of several instances' concurrent first requests is kept. Failures come out classified,
 * as from the other records classes.
 *
 * Its `sha256` column holds the preview's identity (see previewIdentity), not the content's
 * hash alone: a preview made by another sharp or recipe is then simply not found, with no
 * migration. Previews of an older version (from before an upgrade, or the other side of a
 * rolling deploy) stay, unused here, until their source is removed, replaced or expires, which
 * removes every preview made from it whatever its version; removing them sooner would make two
 * versions running at once delete each other's previews for as long as both run.
 */
@Injectable()
export class PreviewRecords {
  private readonly table: string;
  private readonly installed: InstalledTable;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly turns: WriteTurns,
    private readonly dialect: SqlDialect,
  ) {
    this.table = dialect.previewsTable;
    this.installed = new InstalledTable(dataSource, PREVIEWS_TABLE);
  }

  /**
   * Whether the previews migration has run. The sweeps ask, so that previews made by an app
   * stay safe from a sweep run where previews are not configured (the command, another
   * instance); a schema without the table (made by `synchronize`) has no previews to keep.
   * Asked again while missing (InstalledTable).
   */
  async isInstalled(): Promise<boolean> {
    try {
      return await this.installed.isThere();
    } catch (error) {
      throw this.dialect.failure(error);
    }
  }

  /** The storage key of the preview of this content at this size made by this version, if one was made. */
  async find(sha256: string, size: number, version: string): Promise<string | undefined> {
    const [identity, box] = this.dialect.placeholders(2);
    const rows = await this.read<{ storage_key: string }>(
      `SELECT storage_key FROM ${this.table} WHERE sha256 = ${identity} AND size = ${box}`,
      [previewIdentity(sha256, version), size],
    );
    return rows[0]?.storage_key;
  }

  /**
   * Records a preview unless one of this content and size exists already, or its source
   * attachment is gone (removed while the preview was being made: nothing would remove it).
   */
  async record(preview: NewPreview): Promise<RecordedPreview> {
    const [identity, box, source, key, now, sourceAgain] = this.dialect.placeholders(6);
    const inserted = await this.write<{ storage_key: string }>(
      `INSERT INTO ${this.table} (sha256, size, source_key, storage_key, created_at) ` +
        `SELECT ${identity}, CAST(${box} AS integer), ${source}, ${key}, CAST(${now} AS bigint) ` +
        `WHERE EXISTS (SELECT 1 FROM ${this.dialect.table} WHERE storage_key = ${sourceAgain}) ` +
        `ON CONFLICT (sha256, size) DO NOTHING RETURNING storage_key`,
      [
        previewIdentity(preview.sha256, preview.version),
        preview.size,
        preview.sourceKey,
        preview.storageKey,
        Date.now(),
        preview.sourceKey,
      ],
    );
    if (inserted.length > 0) return { stored: true };
    return { stored: false, existing: await this.find(preview.sha256, preview.size, preview.version) };
  }

  /** Forgets a preview whose bytes are gone from storage, so that it is made again. */
  async forget(storageKey: string): Promise<void> {
    const [key] = this.dialect.placeholders(1);
    await this.write(`DELETE FROM ${this.table} WHERE storage_key = ${key} RETURNING storage_key`, [storageKey]);
  }

  /** Removes the previews made from these attachments' bytes; returns the previews' storage keys. */
  async removeForSources(sourceKeys: string[]): Promise<string[]> {
    if (sourceKeys.length === 0) return [];
    const keys = this.dialect.placeholders(sourceKeys.length).join(', ');
    const rows = await this.write<{ storage_key: string }>(
      `DELETE FROM ${this.table} WHERE source_key IN (${keys}) RETURNING storage_key`,
      sourceKeys,
    );
    return rows.map((row) => row.storage_key);
  }

  /**
   * Removes previews made before `cutoff` whose source no attachment holds any more (its row
   * went while the preview was being recorded, or by a path that skipped the clean-up).
   */
  async removeOrphaned(cutoff: number): Promise<string[]> {
    const [before] = this.dialect.placeholders(1);
    const rows = await this.write<{ storage_key: string }>(
      `DELETE FROM ${this.table} WHERE ${this.orphaned(before!)} RETURNING storage_key`,
      [cutoff],
    );
    return rows.map((row) => row.storage_key);
  }

  /** How many previews `removeOrphaned` would remove now (a dry run's count). */
  async countOrphaned(cutoff: number): Promise<number> {
    const [before] = this.dialect.placeholders(1);
    const [row] = await this.read<{ n: string | number }>(
      `SELECT COUNT(*) AS n FROM ${this.table} WHERE ${this.orphaned(before!)}`,
      [cutoff],
    );
    return Number(row?.n ?? 0);
  }

  /** A preview made before `before` whose source no attachment holds. */
  private orphaned(before: string): string {
    return (
      `created_at < ${before} AND NOT EXISTS ` +
      `(SELECT 1 FROM ${this.dialect.table} a WHERE a.storage_key = ${this.table}.source_key)`
    );
  }

  private async read<T>(sql: string, parameters: unknown[]): Promise<T[]> {
    try {
      return await this.dataSource.query<T[]>(sql, parameters);
    } catch (error) {
      throw this.dialect.failure(error);
    }
  }

  /** A write statement; the structured result holds what RETURNING gave on every driver. */
  private async write<T>(sql: string, parameters: unknown[]): Promise<T[]> {
    try {
      return await this.turns.statement(async (manager) => {
        const runner = manager.dataSource.createQueryRunner();
        try {
          const result = await runner.query(sql, parameters, true);
          return (result.records ?? []) as T[];
        } finally {
          await runner.release();
        }
      });
    } catch (error) {
      throw this.dialect.failure(error);
    }
  }
}

/**
 * What the `sha256` column holds: the SHA-256 of the render version and the content's hash, 64
 * hex digits as the column was made for. It never equals a bare content hash, so the rows made
 * before versions were counted are never found again.
 */
function previewIdentity(sha256: string, version: string): string {
  return createHash('sha256').update(`${version}:${sha256}`).digest('hex');
}
