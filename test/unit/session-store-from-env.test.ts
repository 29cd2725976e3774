// Which store the demo keeps sessions in, from its environment.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { sessionStoreFromEnv } from '../../src/demo-session-store.js';

describe('the demo session store from the environment', () => {
  test('REDIS_URL wins over DATABASE_URL; DATABASE_URL alone means PostgreSQL; neither means memory', () => {
    const database = 'postgres://user:secret@db:5432/app';
    assert.deepEqual(sessionStoreFromEnv({ DATABASE_URL: database, REDIS_URL: 'redis://cache:6379' }), {
      kind: 'redis',
      url: 'redis://cache:6379',
    });
    assert.deepEqual(sessionStoreFromEnv({ DATABASE_URL: database }), { kind: 'postgres', url: database });
    assert.equal(sessionStoreFromEnv({ DATABASE_URL: '', REDIS_URL: '' }), undefined);
  });

  test('a REDIS_URL that is not a redis:// or rediss:// URL is refused naming the variable', () => {
    assert.deepEqual(sessionStoreFromEnv({ REDIS_URL: 'rediss://cache:6380' }), { kind: 'redis', url: 'rediss://cache:6380' });
    assert.throws(
      () => sessionStoreFromEnv({ REDIS_URL: 'cache:6379' }),
      /REDIS_URL must be a redis:\/\/ or rediss:\/\/ URL; got "cache:6379"/,
    );
  });
});
