import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

/** A front end's origin: a blank page on its own port, from which a test's scripts call an API. */
export interface SpaServer {
  origin: string;
  close(): Promise<void>;
}

export interface Certificate {
  key: Buffer;
  cert: Buffer;
}

/** Serves a blank page on 127.0.0.1 (named `host` in its origin, e.g. `localhost` for another site). */
export async function startSpaServer(options: { host?: string; https?: Certificate } = {}): Promise<SpaServer> {
  const page = (_request: unknown, response: import('node:http').ServerResponse) => {
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    response.end('<!doctype html><meta charset="utf-8"><title>SPA</title><p>front end</p>');
  };
  const server: Server = options.https ? createHttpsServer(options.https, page) : createHttpServer(page);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `${options.https ? 'https' : 'http'}://${options.host ?? '127.0.0.1'}:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** A self-signed certificate for `localhost` and 127.0.0.1, made now with Debian's openssl. */
export async function selfSignedCertificate(): Promise<Certificate> {
  const folder = await mkdtemp(join(tmpdir(), 'attachments-tls-'));
  try {
    await promisify(execFile)('openssl', [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
      '-keyout',
      join(folder, 'key.pem'),
      '-out',
      join(folder, 'cert.pem'),
    ]);
    return { key: await readFile(join(folder, 'key.pem')), cert: await readFile(join(folder, 'cert.pem')) };
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}
