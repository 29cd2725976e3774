// The command's most likely first failure in a host: its database lacks the module's tables
// (migrations not added to the DataSource, or not run). The driver's message names the table;
// the command's says what to do about it.

/** PostgreSQL's undefined_table, and better-sqlite3's message for the same. */
const POSTGRES_UNDEFINED_TABLE = '42P01';
const SQLITE_NO_SUCH_TABLE = /\bno such table\b/;

/** `error` with the fix appended when it says a table is missing; `error` itself otherwise. */
export function withMigrationsHint(error: unknown): unknown {
  if (!(error instanceof Error) || !isMissingTable(error)) return error;
  return new Error(
    `${error.message}: the module's tables are missing; run its migrations (attachmentsMigrations, ` +
      `see the README's "Migrations") on this database`,
    { cause: error },
  );
}

function isMissingTable(error: Error): boolean {
  const driverError = (error as { driverError?: unknown }).driverError;
  const codes = [error, driverError].map((candidate) => (candidate as { code?: unknown } | null | undefined)?.code);
  return codes.includes(POSTGRES_UNDEFINED_TABLE) || SQLITE_NO_SUCH_TABLE.test(error.message);
}
