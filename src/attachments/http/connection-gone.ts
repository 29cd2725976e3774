import type { Socket } from 'node:net';

/** Per connection, who waits for it to close: one 'close' listener however many answers wait. */
const waiting = new WeakMap<Socket, Set<() => void>>();

/**
 * Calls `gone` when `socket` closes, at once if it is closed already; returns what stops the
 * wait. An answer queued behind another on a pipelined HTTP/1.1 connection hears nothing of
 * its own when the connection goes (Node 20 neither closes it nor calls back its writes), so
 * whatever it holds (an open file, an S3 connection) is let go on this instead. Many answers
 * may wait on one connection (a client pipelines as many requests as it likes): they share
 * one listener, so no count of listeners grows with them.
 */
export function whenConnectionGone(socket: Socket, gone: () => void): () => void {
  if (socket.destroyed) {
    gone();
    return () => undefined;
  }
  let callbacks = waiting.get(socket);
  if (!callbacks) {
    const created = new Set<() => void>();
    callbacks = created;
    waiting.set(socket, created);
    socket.once('close', () => {
      waiting.delete(socket);
      for (const callback of created) callback();
    });
  }
  const registered = callbacks;
  registered.add(gone);
  return () => void registered.delete(gone);
}
