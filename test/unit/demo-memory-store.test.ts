// The demo's in-memory session store answers `touch` at once, so that express-session ends a
// response in one socket write instead of two (see src/demo-memory-store.ts).
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo, Socket } from 'node:net';
import { before, describe, test } from 'node:test';
import express from 'express';
import session, { type Store } from 'express-session';
import type { Server } from 'node:http';
import { promisify } from 'node:util';
import { DemoMemoryStore } from '../../src/demo-memory-store.js';

/** An Express app with sessions in `store`, and a count of the socket writes of each response. */
async function serve(store: Store): Promise<{ server: Server; url: string; writes: () => number }> {
  const app = express();
  app.use(session({ store, secret: 'test', resave: false, saveUninitialized: false }));
  app.post('/visit', (request, response) => {
    (request.session as unknown as { visited: boolean }).visited = true;
    response.json({ ok: true });
  });
  app.get('/read', (_request, response) => void response.json({ body: 'x'.repeat(1000) }));
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  let writes = 0;
  server.on('connection', (socket: Socket) => {
    const writable = socket as unknown as { _write: (...args: unknown[]) => void; _writev: (...args: unknown[]) => void };
    const write = writable._write.bind(socket);
    const writev = writable._writev.bind(socket);
    writable._write = (...args) => {
      writes += 1;
      write(...args);
    };
    writable._writev = (...args) => {
      writes += 1;
      writev(...args);
    };
  });
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, writes: () => writes };
}

/** Socket writes the server made for one GET of a visitor whose session exists (so it is touched). */
async function writesOfOneTouchedResponse(store: Store): Promise<{ writes: number; body: unknown }> {
  const { server, url, writes } = await serve(store);
  try {
    const first = await fetch(`${url}/visit`, { method: 'POST' });
    const cookie = first.headers.get('set-cookie')!.split(';')[0]!;
    await first.arrayBuffer();
    const before = writes();
    const response = await fetch(`${url}/read`, { headers: { cookie, connection: 'close' } });
    const body: unknown = await response.json();
    return { writes: writes() - before, body };
  } finally {
    server.closeAllConnections();
    server.close();
  }
}

describe('the demo memory session store', () => {
  let memory: { writes: number; body: unknown };
  let demo: { writes: number; body: unknown };
  before(async () => {
    memory = await writesOfOneTouchedResponse(new session.MemoryStore());
    demo = await writesOfOneTouchedResponse(new DemoMemoryStore());
  });

  test("a touched session's response goes out in one socket write (express-session's MemoryStore: two)", () => {
    assert.equal(memory.writes, 2, 'the baseline this store exists for: MemoryStore splits the response');
    assert.equal(demo.writes, 1);
    assert.deepEqual(demo.body, memory.body);
  });

  test('touch calls back before it returns, and keeps the session with its new cookie', async () => {
    const store = new DemoMemoryStore();
    const cookie = { originalMaxAge: 60_000, expires: new Date(Date.now() + 60_000), httpOnly: true, path: '/' };
    await promisify(store.set.bind(store))('sid', { cookie, visited: true } as unknown as session.SessionData);
    const later = new Date(Date.now() + 120_000);
    let calledBack = false;
    store.touch('sid', { cookie: { ...cookie, expires: later } }, () => (calledBack = true));
    assert.equal(calledBack, true);
    const stored = await promisify(store.get.bind(store))('sid');
    assert.equal((stored as unknown as { visited: boolean }).visited, true);
    assert.equal(new Date(stored!.cookie.expires!).getTime(), later.getTime());
  });
});
