import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { SqlDialect, SWEEP_LOCK_NAMESPACE } from './sql-dialect.js';

/** One sweeper at a time across every instance that shares the database. */
@Injectable()
export class SweepLock {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly dialect: SqlDialect,
  ) {}

  /**
   * Runs `work` only if no other process is sweeping: on PostgreSQL a session-level advisory
   * lock held on a connection of its own (released even if the process dies, when the
   * connection drops). On SQLite `work` simply runs: SQLite lets one writer in at a time, and
   * two sweeps at once (the app's and the command's) only split the work, as each treats a row
   * or blob the other removed first as removed. Resolves to undefined when another instance
   * holds the lock.
   */
  async asOnlySweeper<T>(work: () => Promise<T>): Promise<T | undefined> {
    const statements = this.dialect.sweepLockStatements;
    if (statements === undefined) return work();
    const runner = this.dataSource.createQueryRunner();
    await runner.connect();
    try {
      const [row] = (await runner.query(statements.lock, [SWEEP_LOCK_NAMESPACE])) as Array<{ locked: boolean }>;
      if (!row?.locked) return undefined;
      try {
        return await work();
      } finally {
        await runner.query(statements.unlock, [SWEEP_LOCK_NAMESPACE]);
      }
    } finally {
      await runner.release();
    }
  }
}
