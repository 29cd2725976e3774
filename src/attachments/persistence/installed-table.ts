import type { DataSource } from 'typeorm';

/**
 * Whether one of the tables that a migration of the module makes is there. A schema made by
 * `synchronize` has none of them, and a migration may run after this process started (another
 * instance or a release step runs it), so the answer "missing" is asked again, and only "there"
 * is kept for good (no migration of the module drops a table). Concurrent askers share one
 * look-up; a look-up that fails is forgotten.
 */
export class InstalledTable {
  private lookUp: Promise<boolean> | undefined;
  private present = false;
  /** The last look-up found no table. */
  private missing = false;

  constructor(
    private readonly dataSource: DataSource,
    private readonly name: string,
  ) {}

  /** Asks the database, unless the table was seen already. */
  isThere(): Promise<boolean> {
    if (this.present) return Promise.resolve(true);
    this.lookUp ??= this.ask().finally(() => (this.lookUp = undefined));
    return this.lookUp;
  }

  /**
   * The last answer when there is one, else `isThere()`: for a path taken by every request,
   * where a schema without the table must not cost a look-up each time. Another caller's
   * `isThere()` brings the answer up to date.
   */
  lastAnswer(): Promise<boolean> {
    return this.missing ? Promise.resolve(false) : this.isThere();
  }

  private async ask(): Promise<boolean> {
    const { options } = this.dataSource;
    const schema = options.type === 'postgres' ? options.schema : undefined;
    const runner = this.dataSource.createQueryRunner();
    try {
      this.present = await runner.hasTable(schema === undefined ? this.name : `${schema}.${this.name}`);
      this.missing = !this.present;
      return this.present;
    } finally {
      await runner.release();
    }
  }
}
