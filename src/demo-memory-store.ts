import session from 'express-session';

/**
 * express-session's MemoryStore, whose `touch` answers at once instead of on the next turn of
 * the event loop.
 *
 * Why: express-session touches the session of every request that did not change it, at the
 * end of the response. While the store's touch is pending it writes the body but its last
 * byte, then that byte when the touch calls back: two socket writes per response. With a
 * touch that calls back before express-session goes on, it ends the response in one write
 * (the case its `sync` flag is there for). A 1 KiB upload spent about a tenth of the
 * server's CPU in those writes (`writev`, `BENCH_PROFILE=… node dist/bench/small-cpu.js`).
 * A store in PostgreSQL or Redis has to wait for its server, so those keep the two writes.
 */
export class DemoMemoryStore extends session.MemoryStore {
  override touch(sid: string, sessionData: session.SessionData, callback?: () => void): void {
    super.touch(sid, sessionData);
    callback?.();
  }
}
