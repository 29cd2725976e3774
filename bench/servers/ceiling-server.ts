// (c) The ceiling: plain node http + busboy streaming each file to disk (hashing in line, as
// the module does) and nothing else; downloads through express.static on the same folder.
import './exit-on-sigterm.js';
import busboy from 'busboy';
import express from 'express';
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';

const directory = process.env.UPLOAD_DIR ?? 'var/ceiling';
const statics = express();
// Serves the module's own stored files, so a download is compared on the very same bytes.
statics.use('/files', express.static(process.env.STATIC_DIR ?? directory));

createServer((request, response) => {
  if (request.method !== 'POST') return void statics(request, response);
  const parser = busboy({ headers: request.headers });
  const writes: Promise<{ name: string; size: number; sha256: string }>[] = [];
  parser.on('file', (_field, file, info) => {
    const hash = createHash('sha256');
    let size = 0;
    file.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      size += chunk.length;
    });
    const target = join(directory, randomBytes(16).toString('hex'));
    writes.push(
      pipeline(file, createWriteStream(target)).then(() => ({ name: info.filename ?? '', size, sha256: hash.digest('hex') })),
    );
  });
  parser.on('close', () => {
    Promise.all(writes).then(
      (files) => response.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify(files)),
      () => response.writeHead(500).end(),
    );
  });
  request.pipe(parser);
}).listen(Number(process.env.PORT), '127.0.0.1', () => process.stdout.write('ready\n'));
