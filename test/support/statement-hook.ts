import type { DataSource, QueryRunner } from 'typeorm';

/**
 * Runs `then` right after the first statement of `dataSource` whose SQL `matches` has run, and
 * before its caller gets the result: a deterministic place for another request to commit
 * between two statements (or inside a transaction) of the code under test. Every query runner
 * the DataSource hands out afterwards is watched (SQLite's one shared runner included; the
 * wrapper is an own `query`, which WriteTurns puts back after each transaction). `fired` says
 * whether the statement was met (a test asserts it before awaiting `result`, which would
 * otherwise wait for ever); `result` is what `then` resolved to.
 */
export function afterStatement<T>(
  dataSource: DataSource,
  matches: (sql: string) => boolean,
  then: () => Promise<T>,
): { fired: () => boolean; result: Promise<T> } {
  let fired = false;
  let settle!: { resolve: (value: T) => void; reject: (error: unknown) => void };
  const done = new Promise<T>((resolve, reject) => (settle = { resolve, reject }));
  const watched = new WeakSet<QueryRunner>();
  const create = dataSource.createQueryRunner.bind(dataSource);
  dataSource.createQueryRunner = (...args: Parameters<DataSource['createQueryRunner']>) => {
    const runner = create(...args);
    if (watched.has(runner)) return runner;
    watched.add(runner);
    const query = runner.query.bind(runner) as (sql: string, ...rest: unknown[]) => Promise<unknown>;
    runner.query = (async (sql: string, ...rest: unknown[]) => {
      const result = await query(sql, ...rest);
      if (!fired && matches(sql)) {
        fired = true;
        await then().then(settle.resolve, settle.reject);
      }
      return result;
    }) as QueryRunner['query'];
    return runner;
  };
  return { fired: () => fired, result: done };
}
