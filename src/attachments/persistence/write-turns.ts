import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';

/**
 * Where the database needs it, writes take turns in this process.
 *
 * TypeORM drives better-sqlite3 through one connection, where two transactions cannot be open
 * at once and a statement issued by another request would silently join an open transaction.
 * So on SQLite every write transaction and every lone write statement waits for the one
 * before; SQLite's own file lock (with a busy timeout) orders them against other processes
 * such as the CLI. PostgreSQL gives each transaction its own pooled connection: no turns.
 *
 * A SQLite write transaction takes the database's write lock when it begins (BEGIN IMMEDIATE),
 * not at its first write as TypeORM's plain BEGIN does: a transaction that has read cannot
 * wait for a write lock another process holds (once that one commits, what it read is stale),
 * so SQLite fails it at once with SQLITE_BUSY, busy timeout or not, and an upload meeting the
 * CLI's sweep answered 503. Begun immediate, it waits its turn like any lone write.
 */
@Injectable()
export class WriteTurns {
  private readonly takesTurns: boolean;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {
    this.takesTurns = dataSource.options.type !== 'postgres';
  }

  /** A write transaction. */
  transaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    return this.takesTurns ? this.inTurn(() => this.immediateTransaction(work)) : this.dataSource.transaction(work);
  }

  /** Write statements outside any transaction (each commits on its own). */
  statement<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    return this.inTurn(() => work(this.dataSource.manager));
  }

  private async immediateTransaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    // TypeORM's SQLite drivers hand out one shared runner, which opens a transaction with this
    // statement through its own `query`: for this transaction only, that statement is rewritten
    // (the runner's own `query` is back afterwards, so no wrapper piles on another).
    const runner = this.dataSource.createQueryRunner();
    const ownQuery = Object.getOwnPropertyDescriptor(runner, 'query');
    const query = runner.query.bind(runner) as (sql: string, ...rest: unknown[]) => Promise<unknown>;
    runner.query = ((sql: string, ...rest: unknown[]) =>
      query(sql === 'BEGIN TRANSACTION' ? 'BEGIN IMMEDIATE TRANSACTION' : sql, ...rest)) as typeof runner.query;
    try {
      return await runner.manager.transaction(work);
    } finally {
      if (ownQuery) Object.defineProperty(runner, 'query', ownQuery);
      else delete (runner as { query?: unknown }).query;
      await runner.release();
    }
  }

  private inTurn<T>(work: () => Promise<T>): Promise<T> {
    if (!this.takesTurns) return work();
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => undefined);
    return run;
  }
}
