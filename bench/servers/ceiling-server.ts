// The ceilings: plain node http + busboy streaming each file to disk with SHA-256 in line, and
// nothing else; downloads through express.static on the same folder.
// `DURABLE=1` is the durable ceiling, the limit issue #12 set for what the module promises: each
// file is fsynced, then renamed into place and its folder fsynced, before the answer.
// They write as a hand-written server does, through fs.createWriteStream (a write per 64 KiB
// chunk); the module's disk storage writes in batches of up to 512 KiB and goes faster than
// them for it (bench/write-parts.ts measures the two ways of writing side by side).
import './exit-on-sigterm.js';
import busboy from 'busboy';
import express from 'express';
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';

const directory = process.env.UPLOAD_DIR ?? 'var/ceiling';
const durable = process.env.DURABLE === '1';
const statics = express();
// Serves the module's own stored files, so a download is compared on the very same bytes.
statics.use('/files', express.static(process.env.STATIC_DIR ?? directory));

async function syncFolder(folder: string): Promise<void> {
  const handle = await open(folder, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function store(file: NodeJS.ReadableStream, name: string) {
  const hash = createHash('sha256');
  let size = 0;
  file.on('data', (chunk: Buffer) => {
    hash.update(chunk);
    size += chunk.length;
  });
  const key = randomBytes(16).toString('hex');
  const target = join(directory, key);
  // Durable: written under a temporary name, flushed on close, renamed, folder flushed.
  await pipeline(file, createWriteStream(durable ? `${target}.part` : target, { flush: durable }));
  if (durable) {
    await rename(`${target}.part`, target);
    await syncFolder(directory);
  }
  return { name, size, sha256: hash.digest('hex') };
}

createServer((request, response) => {
  if (request.method !== 'POST') return void statics(request, response);
  const parser = busboy({ headers: request.headers });
  const writes: Promise<{ name: string; size: number; sha256: string }>[] = [];
  parser.on('file', (_field, file, info) => writes.push(store(file, info.filename ?? '')));
  parser.on('close', () => {
    Promise.all(writes).then(
      (files) => response.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify(files)),
      () => response.writeHead(500).end(),
    );
  });
  request.pipe(parser);
}).listen(Number(process.env.PORT), '127.0.0.1', () => process.stdout.write('ready\n'));
