// `npm run build && node dist/bench/write-parts.js [--size-mib=512] [--rounds=3] [--parts=a,b]`:
// what each part of a big upload's write path costs the server, part by part. One plain node
// http server in this process notes the CPU time (user and system, all of the process's
// threads, so the thread pool's writes count) it spent on each upload; curl sends the file
// (see curl-client.ts). The parts add up from the socket to the file:
//   drain          the request body read and dropped: the socket and HTTP parsing alone
//   busboy         multipart parsing, the file's bytes dropped
//   busboy-hash    and SHA-256 over them
//   multer-way     busboy and fs.createWriteStream, no hash: what Multer's disk storage (the
//                  stock code) does with a file
//   file-stream    busboy, SHA-256 and fs.createWriteStream (64 KiB writes): the ceilings' way
//   batched        and written by the module's writeBatchedToFile (writev of up to 512 KiB)
// No database, no Nest: this is the floor under the module's big uploads, and the difference
// between the last two rows is what the way of writing costs.
import busboy from 'busboy';
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, open } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { writeBatchedToFile } from '../src/attachments/storage/batched-file-write.js';
import { settle } from './alone-run.js';
import { curlUpload } from './curl-client.js';
import { median, writeSourceFile } from './support.js';
import { option } from './cli-options.js';

const MiB = 1024 * 1024;
const sizeMiB = Number(option('size-mib') ?? 512);
const rounds = Number(option('rounds') ?? 3);

type FileSink = (file: Readable, path: string) => Promise<unknown>;
const hashed = (file: Readable) => {
  const hash = createHash('sha256');
  file.on('data', (chunk: Buffer) => hash.update(chunk));
  file.on('end', () => hash.digest());
};
const sinks = {
  busboy: (file) => {
    file.resume();
    return new Promise((done) => file.on('end', done));
  },
  'busboy-hash': (file) => {
    hashed(file);
    return new Promise((done) => file.on('end', done));
  },
  'multer-way': (file, path) => pipeline(file, createWriteStream(path)),
  'file-stream': (file, path) => {
    hashed(file);
    return pipeline(file, createWriteStream(path));
  },
  batched: (file, path) => {
    hashed(file);
    return writeBatchedToFile(file, {
      open: () => new Promise<number>((opened, failed) => open(path, 'wx', (error, fd) => (error ? failed(error) : opened(fd)))),
      flush: false,
      onSourceFailure: 'discard',
    });
  },
} satisfies Record<string, FileSink>;
const PARTS = ['drain', ...Object.keys(sinks)] as Array<'drain' | keyof typeof sinks>;
type Part = (typeof PARTS)[number];
const parts = (option('parts')?.split(',') ?? PARTS) as Part[];
const unknown = parts.filter((part) => !PARTS.includes(part));
if (unknown.length > 0) throw new Error(`--parts: no part named ${unknown.join(', ')} (there are ${PARTS.join(', ')})`);

const work = await mkdtemp(join(tmpdir(), 'attachments-write-parts-'));
const source = join(work, 'source.bin');
await writeSourceFile(source, sizeMiB * MiB);
/** The CPU the server spent on the last upload, in ms. */
let spent = { user: 0, system: 0 };

/** Receives one upload the way `part` says; resolves once it is all received (and written). */
function receive(part: Part, request: IncomingMessage): Promise<unknown> {
  if (part === 'drain') {
    request.resume();
    return new Promise((done) => request.on('end', done));
  }
  const sink = sinks[part];
  const parser = busboy({ headers: request.headers });
  const files: Promise<unknown>[] = [];
  parser.on('file', (_field, file) => files.push(sink(file, join(work, randomBytes(8).toString('hex')))));
  const parsed = new Promise((done) => parser.on('close', done));
  request.pipe(parser);
  return parsed.then(() => Promise.all(files));
}

const server = createServer((request, response) => {
  const part = request.url!.slice(1) as Part;
  const before = process.cpuUsage();
  receive(part, request).then(
    () => {
      const { user, system } = process.cpuUsage(before);
      spent = { user: user / 1000, system: system / 1000 };
      response.end();
    },
    (error: unknown) => response.writeHead(500).end(String(error)),
  );
});
await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
const { port } = server.address() as AddressInfo;

try {
  const measured = Object.fromEntries(
    parts.map((part) => [part, { user: [] as number[], system: [] as number[], speed: [] as number[] }]),
  );
  for (let round = 0; round < rounds; round += 1) {
    const order = parts.map((_, index) => parts[(index + round) % parts.length]!);
    const line: string[] = [];
    for (const part of order) {
      await settle();
      const transfer = await curlUpload(`http://127.0.0.1:${port}/${part}`, source, 'big.bin');
      if (transfer.status !== 200) throw new Error(`${part}: status ${transfer.status}`);
      const { user, system } = spent;
      const entry = measured[part]!;
      entry.user.push(user / sizeMiB);
      entry.system.push(system / sizeMiB);
      entry.speed.push(sizeMiB / transfer.seconds);
      line.push(`${part} ${(user / sizeMiB).toFixed(2)}+${(system / sizeMiB).toFixed(2)} ms/MiB`);
      // The files written, not the source.
      for (const name of await readdir(work)) if (name !== 'source.bin') await rm(join(work, name));
    }
    console.log(`round ${round + 1}: ${line.join(', ')}`);
  }
  console.log(`${sizeMiB} MiB, medians of ${rounds}, server CPU per MiB (user + system) and MiB/s:`);
  for (const part of parts) {
    const { user, system, speed } = measured[part]!;
    console.log(
      `  ${part.padEnd(12)} ${median(user).toFixed(2)} + ${median(system).toFixed(2)} = ${(median(user) + median(system)).toFixed(2)} ms, ${median(speed).toFixed(0)} MiB/s`,
    );
  }
} finally {
  server.close();
  await rm(work, { recursive: true, force: true });
}
