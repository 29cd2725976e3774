import type { DataSource, QueryRunner } from 'typeorm';

/**
 * Runs `sql` on every connection of the app's pool (all checked out at once, so each is a
 * different one): what a pooler in transaction mode makes of the statements a driver prepared.
 */
export async function onEveryPooledConnection(dataSource: DataSource, sql: string): Promise<void> {
  const size = (dataSource.options as { poolSize?: number }).poolSize ?? 10;
  const runners: QueryRunner[] = Array.from({ length: size }, () => dataSource.createQueryRunner());
  try {
    await Promise.all(runners.map((runner) => runner.connect()));
    await Promise.all(runners.map((runner) => runner.query(sql)));
  } finally {
    await Promise.all(runners.map((runner) => runner.release()));
  }
}
