// The framework's floor for a small upload: the demo app exactly as module-server.ts starts it
// (Nest, Express, express-session, the static and OpenAPI routes, the module), plus one route,
// POST /floor/:bundle, that does what any upload route of this stack must do and nothing of
// the module's: it reads the visitor's session, parses the multipart body with busboy, hashes
// the file's bytes with SHA-256, and answers 201 with JSON of the module's shape. No database,
// no storage. Its CPU per request, beside the module's on the same server, splits the module's
// cost into the stack's share and the module's own (`node dist/bench/small-cpu.js
// --servers=module,floor`).
import './exit-on-sigterm.js';
import 'reflect-metadata';
import { Controller, HttpCode, Param, Post, Req } from '@nestjs/common';
import busboy from 'busboy';
import type { Request } from 'express';
import { createHash, randomUUID } from 'node:crypto';
import { DiskStorage } from '../../src/attachments/index.js';
import { createDemoApp } from '../../src/bootstrap.js';
import { demoConfigFromEnv } from '../../src/demo-config.js';

interface FloorFile {
  name: string;
  size: number;
  sha256: string;
}

function readFiles(request: Request): Promise<FloorFile[]> {
  return new Promise((resolve, reject) => {
    const files: FloorFile[] = [];
    const parser = busboy({ headers: request.headers });
    parser.on('file', (_field, stream, info) => {
      const hash = createHash('sha256');
      let size = 0;
      stream.on('data', (chunk: Buffer) => {
        hash.update(chunk);
        size += chunk.length;
      });
      stream.on('end', () => files.push({ name: info.filename ?? '', size, sha256: hash.digest('hex') }));
      stream.on('error', reject);
    });
    parser.on('close', () => resolve(files));
    parser.on('error', reject);
    // A client that goes away mid-body: busboy never closes, so the request's own error ends it.
    request.on('error', reject);
    request.pipe(parser);
  });
}

@Controller('floor')
class FloorController {
  @Post(':bundle')
  @HttpCode(201)
  async upload(@Req() request: Request, @Param('bundle') bundle: string) {
    // The module's owner look-up reads this key from the session (set on the visitor's first
    // request to its routes, which small-cpu makes to get each connection's cookie).
    const owner = (request.session as { sessionAttachmentsKey?: string } | undefined)?.sessionAttachmentsKey;
    if (!owner) throw new Error('floor: the visitor has no session key');
    const files = await readFiles(request);
    const now = new Date().toISOString();
    return files.map((file) => ({
      id: randomUUID(),
      name: file.name,
      mimetype: 'application/octet-stream',
      size: file.size,
      sha256: file.sha256,
      created: now,
      updated: now,
      url: `/attachments/${encodeURIComponent(bundle)}/${encodeURIComponent(file.name)}`,
    }));
  }
}

const config = demoConfigFromEnv();
const app = await createDemoApp(
  { ...config, sessionSecret: 'bench', sessionStore: undefined },
  {
    logger: false,
    controllers: [FloorController],
    attachments: {
      storage: new DiskStorage({ directory: config.attachmentsDirectory }),
      sweepEvery: false,
      limits: { fileSize: '2GB', bytesPerSession: '4GB', filesPerBundle: 5000, filesPerRequest: 5 },
    },
  },
);
await app.listen(config.port, '127.0.0.1');
process.stdout.write('ready\n');
