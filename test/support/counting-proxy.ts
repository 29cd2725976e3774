import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy in front of an HTTP server that counts the bytes clients send through it, and
 * can drop the connection once a number of them have passed: the visitor's train entering a
 * tunnel mid-upload. The server gets exactly the bytes before the cut and then the end of the
 * stream; the client gets a reset, as from a dead link.
 */
export interface CountingProxy {
  /** `http://127.0.0.1:<port>`: the server's base URL, through the proxy. */
  baseUrl: string;
  /** Bytes clients have sent to the server through the proxy since the last `resetCount()`. */
  readonly sent: number;
  resetCount(): void;
  /** Arms a cut: the connection carrying byte number `sent + bytes` is dropped after it. */
  cutAfter(bytes: number): Promise<void>;
  close(): Promise<void>;
}

export async function startCountingProxy(targetBaseUrl: string): Promise<CountingProxy> {
  const target = new URL(targetBaseUrl);
  const sockets = new Set<Socket>();
  let sent = 0;
  let cut: { at: number; done: () => void } | undefined;

  const server: Server = createServer((client) => {
    const upstream = connect(Number(target.port), target.hostname);
    sockets.add(client).add(upstream);
    client.on('data', (chunk: Buffer) => {
      if (cut && sent + chunk.length >= cut.at) {
        const { at, done } = cut;
        cut = undefined;
        const passing = chunk.subarray(0, at - sent);
        sent = at;
        upstream.end(passing);
        client.destroy();
        done();
        return;
      }
      sent += chunk.length;
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => client.write(chunk));
    for (const [socket, other] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      socket.on('error', () => other.destroy());
      socket.on('end', () => other.end());
      socket.on('close', () => {
        sockets.delete(socket);
        if (!other.writableEnded) other.destroy();
      });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get sent() {
      return sent;
    },
    resetCount: () => (sent = 0),
    cutAfter: (bytes) => new Promise<void>((done) => (cut = { at: sent + bytes, done })),
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
