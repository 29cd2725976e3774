import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { createHash } from 'node:crypto';
import { DataSource, type EntityManager } from 'typeorm';

// Advisory-lock namespaces (the first key of PostgreSQL's two-key form), so that our locks
// never collide with a host app's own advisory locks.
export const BUNDLE_LOCK_NAMESPACE = 0x5a7a_0001;
export const SWEEP_LOCK_NAMESPACE = 0x5a7a_0002;

/**
 * Serializes the writes that must not interleave, on each database in its own way.
 *
 * PostgreSQL: every change to one visitor's bundle runs in a transaction that holds a
 * transaction-scoped advisory lock on (session key, bundle), so "read what is there, then
 * upsert" is atomic per bundle while other bundles and other instances proceed in parallel.
 *
 * SQLite: TypeORM drives better-sqlite3 through one connection, where two transactions cannot
 * be open at once and a statement issued by another request would silently join an open
 * transaction. So write transactions take turns through one in-process queue; SQLite's own
 * file lock (with a busy timeout) orders them against other processes such as the CLI.
 */
@Injectable()
export class WriteLock {
  private readonly isPostgres: boolean;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(@InjectDataSource() readonly dataSource: DataSource) {
    this.isPostgres = dataSource.options.type === 'postgres';
  }

  get postgres(): boolean {
    return this.isPostgres;
  }

  /** Positional placeholders: `$1…` on PostgreSQL, `?` on SQLite (so each use needs its own value). */
  placeholders(count: number): string[] {
    return Array.from({ length: count }, (_, index) => (this.isPostgres ? `$${index + 1}` : '?'));
  }

  /** PostgreSQL's advisory-lock keys of one visitor's bundle. */
  bundleLock(sessionKey: string, bundle: string): [namespace: number, key: number] {
    return [BUNDLE_LOCK_NAMESPACE, bundleLockKey(sessionKey, bundle)];
  }

  /** A transaction holding the write lock of one visitor's bundle. */
  inBundle<T>(sessionKey: string, bundle: string, work: (manager: EntityManager) => Promise<T>): Promise<T> {
    if (!this.isPostgres) return this.inTransaction(work);
    return this.dataSource.transaction(async (manager) => {
      await manager.query('SELECT pg_advisory_xact_lock($1, $2)', this.bundleLock(sessionKey, bundle));
      return work(manager);
    });
  }

  /** A write transaction with no bundle lock (the sweep's batches, which re-check their rows). */
  inTransaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    if (this.isPostgres) return this.dataSource.transaction(work);
    return this.inTurn(() => this.dataSource.transaction(work));
  }

  /**
   * Runs `work` only if no other process is sweeping: on PostgreSQL a session-level advisory
   * lock held on a connection of its own (released even if the process dies, when the
   * connection drops); elsewhere there is one process, and `work` simply runs. Resolves to
   * undefined when another instance holds the lock.
   */
  async asOnlySweeper<T>(work: () => Promise<T>): Promise<T | undefined> {
    if (!this.isPostgres) return work();
    const runner = this.dataSource.createQueryRunner();
    await runner.connect();
    try {
      const [row] = (await runner.query('SELECT pg_try_advisory_lock($1, 0) AS locked', [SWEEP_LOCK_NAMESPACE])) as Array<{
        locked: boolean;
      }>;
      if (!row?.locked) return undefined;
      try {
        return await work();
      } finally {
        await runner.query('SELECT pg_advisory_unlock($1, 0)', [SWEEP_LOCK_NAMESPACE]);
      }
    } finally {
      await runner.release();
    }
  }

  /** One statement outside any transaction: on SQLite it must still wait for its turn. */
  alone<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    if (this.isPostgres) return work(this.dataSource.manager);
    return this.inTurn(() => work(this.dataSource.manager));
  }

  private inTurn<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => undefined);
    return run;
  }
}

/** A 32-bit key from (session key, bundle); a rare collision only makes two bundles take turns. */
function bundleLockKey(sessionKey: string, bundle: string): number {
  return createHash('sha256').update(sessionKey).update('\0').update(bundle).digest().readInt32BE(0);
}
