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
    return this.inTurn(() => this.dataSource.transaction(work));
  }

  /** Write statements outside any transaction (each commits on its own). */
  statement<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    return this.inTurn(() => work(this.dataSource.manager));
  }

  private inTurn<T>(work: () => Promise<T>): Promise<T> {
    if (!this.takesTurns) return work();
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => undefined);
    return run;
  }
}
