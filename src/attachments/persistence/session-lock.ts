import { Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import { SESSION_LOCK_NAMESPACE, SqlDialect } from './sql-dialect.js';
import { WriteTurns } from './write-turns.js';

/**
 * The write lock of one session: every change to a session's rows runs in a transaction that
 * holds it, so "read what the session holds, check the quotas, write" is atomic for the whole
 * session. The quotas count the session (its bundles, its bytes), so a lock per bundle would
 * let parallel uploads into different bundles each see room that only one of them may take.
 *
 * PostgreSQL: a transaction-scoped advisory lock on the session key, so other sessions and
 * other instances proceed in parallel. SQLite: write transactions take turns anyway.
 */
@Injectable()
export class SessionLock {
  constructor(
    private readonly turns: WriteTurns,
    private readonly dialect: SqlDialect,
  ) {}

  /** PostgreSQL's advisory-lock keys of one session (the put function takes them as parameters). */
  keys(sessionKey: string): [namespace: number, key: number] {
    return [SESSION_LOCK_NAMESPACE, sessionLockKey(sessionKey)];
  }

  /** A transaction holding the session's write lock. */
  transaction<T>(sessionKey: string, work: (manager: EntityManager) => Promise<T>): Promise<T> {
    return this.transactionOfAll([sessionKey], work);
  }

  /**
   * A transaction holding the locks of several sessions (an adoption's two owners), taken in
   * ascending order of their lock keys: two transactions that want the same locks then take
   * them in the same order, so neither can hold one while waiting for the other's.
   */
  transactionOfAll<T>(sessionKeys: string[], work: (manager: EntityManager) => Promise<T>): Promise<T> {
    const statement = this.dialect.sessionLockStatement;
    const lockKeys = [...new Set(sessionKeys.map(sessionLockKey))].sort((a, b) => a - b);
    return this.turns.transaction(async (manager) => {
      if (statement !== undefined) {
        for (const key of lockKeys) await manager.query(statement, [SESSION_LOCK_NAMESPACE, key]);
      }
      return work(manager);
    });
  }
}

/** A 32-bit key from the session key; a rare collision only makes two sessions take turns. */
function sessionLockKey(sessionKey: string): number {
  return createHash('sha256').update(sessionKey).digest().readInt32BE(0);
}
