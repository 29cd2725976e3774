import { createServer, connect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

/**
 * A TCP proxy between the app and PostgreSQL that can lose one answer: once armed, the first
 * query whose client bytes match is forwarded, the server's answer is held until it is
 * complete (ReadyForQuery, so the server has committed), and then both sockets are cut
 * instead of relaying it. Every other connection and query passes untouched.
 */
export interface CuttingProxy {
  /** The PostgreSQL URL with host and port replaced by the proxy's. */
  url: string;
  /** Arms the cut; resolves once a matching query's answer has been dropped. */
  cutAnswerTo(pattern: RegExp): Promise<void>;
  close(): Promise<void>;
}

export async function startCuttingProxy(databaseUrl: string): Promise<CuttingProxy> {
  const target = new URL(databaseUrl);
  const sockets = new Set<Socket>();
  let armed: { pattern: RegExp; done: () => void } | undefined;

  const server: Server = createServer((client) => {
    const upstream = connect(Number(target.port || 5432), target.hostname);
    sockets.add(client).add(upstream);
    let cutting: (() => void) | undefined;
    let held = Buffer.alloc(0);
    const cut = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('data', (chunk: Buffer) => {
      if (armed && armed.pattern.test(chunk.toString('latin1'))) {
        cutting = armed.done;
        armed = undefined;
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (!cutting) {
        client.write(chunk);
        return;
      }
      held = Buffer.concat([held, chunk]);
      if (holdsReadyForQuery(held)) {
        cut();
        cutting();
      }
    });
    for (const socket of [client, upstream]) {
      socket.on('error', cut);
      socket.on('close', () => {
        sockets.delete(socket);
        cut();
      });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = new URL(databaseUrl);
  url.hostname = '127.0.0.1';
  url.port = String((server.address() as AddressInfo).port);
  return {
    url: url.toString(),
    cutAnswerTo: (pattern) => new Promise<void>((done) => (armed = { pattern, done })),
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Whether the server's messages (type byte, 4-byte length) include ReadyForQuery ('Z'). */
function holdsReadyForQuery(bytes: Buffer): boolean {
  let offset = 0;
  while (offset + 5 <= bytes.length) {
    if (bytes[offset] === 0x5a) return true;
    offset += 1 + bytes.readUInt32BE(offset + 1);
  }
  return false;
}
