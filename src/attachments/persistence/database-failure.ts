/**
 * What a failed database call means for what it wrote:
 * - `unreachable`: the request never reached the database (no connection could be made, or
 *   the server refused new connections): nothing was written; retry later.
 * - `outcome_unknown`: the connection broke while the call was in flight: the server may have
 *   committed before its answer was lost. What the call wrote may exist.
 * - `refused`: the database answered with an error (a constraint, a bad statement, SQLite's
 *   synchronous errors): the call's transaction did not commit.
 * - `unexplained`: any other error (one of the module's own after the call returned, an
 *   unknown driver error): not an outage, but what the call wrote may exist.
 */
export type DatabaseFailureKind = 'unreachable' | 'outcome_unknown' | 'refused' | 'unexplained';

/** A failed database call, classified next to the code that made it. */
export class DatabaseFailure extends Error {
  private constructor(
    readonly kind: DatabaseFailureKind,
    cause: unknown,
  ) {
    super(`Database call failed (${kind}): ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'DatabaseFailure';
  }

  /** Classifies `error` from a call to a database of the given kind (idempotent). */
  static from(error: unknown, database: 'postgres' | 'sqlite'): DatabaseFailure {
    if (error instanceof DatabaseFailure) return error;
    return new DatabaseFailure(database === 'sqlite' ? sqliteFailure(error) : postgresFailure(error), error);
  }

  /**
   * Classifies an error from a call whose database is not known here (a host route's own
   * repository call reaching AttachmentsFailureFilter): SQLite's codes say SQLITE_, the rest
   * are read as PostgreSQL's (node's socket codes, SQLSTATEs).
   */
  static fromAnyDriver(error: unknown): DatabaseFailure {
    const code = codeOf(error) ?? codeOf((error as { driverError?: unknown } | null)?.driverError);
    return DatabaseFailure.from(error, code?.startsWith('SQLITE_') ? 'sqlite' : 'postgres');
  }

  /** Whether the database is out of reach for now (unreachable, or the connection broke). */
  get unavailable(): boolean {
    return this.kind === 'unreachable' || this.kind === 'outcome_unknown';
  }

  /** Whether what the call wrote may have committed (so bytes its rows point at must stay). */
  get mayHaveWritten(): boolean {
    return this.kind === 'outcome_unknown' || this.kind === 'unexplained';
  }
}

// Before anything is sent: the socket could not be opened, or the server turned the new
// connection away (57P03 cannot connect now, 53300 too many connections).
const CONNECT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', '57P03', '53300']);
const CONNECT_MESSAGES = /timeout exceeded when trying to connect|connection timeout/i;
// With a statement in flight: the socket broke, or the server ended the session
// (class 08 connection exception, 57P01/57P02 shutdown): it may have committed first.
const IN_FLIGHT_CODES = new Set(['ECONNRESET', 'ETIMEDOUT', 'EPIPE', '57P01', '57P02', '57P04', '57P05']);
const IN_FLIGHT_MESSAGES =
  /Connection terminated|Client has encountered a connection error|terminating connection|not queryable/i;
const SQLSTATE = /^[0-9A-Z]{5}$/;

function postgresFailure(error: unknown): DatabaseFailureKind {
  const code = codeOf(error) ?? codeOf((error as { driverError?: unknown } | null)?.driverError);
  const message = error instanceof Error ? error.message : '';
  if ((code !== undefined && CONNECT_CODES.has(code)) || CONNECT_MESSAGES.test(message)) return 'unreachable';
  if ((code !== undefined && (IN_FLIGHT_CODES.has(code) || code.startsWith('08'))) || IN_FLIGHT_MESSAGES.test(message)) {
    return 'outcome_unknown';
  }
  // An SQLSTATE is the server's answer to the statement: it failed, and its transaction with it.
  if (code !== undefined && SQLSTATE.test(code)) return 'refused';
  return 'unexplained';
}

/** better-sqlite3 is synchronous: an error is the statement's own, and its transaction rolled back. */
function sqliteFailure(error: unknown): DatabaseFailureKind {
  const code = codeOf(error) ?? codeOf((error as { driverError?: unknown } | null)?.driverError);
  return code !== undefined && code.startsWith('SQLITE_BUSY') ? 'unreachable' : 'refused';
}

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}
