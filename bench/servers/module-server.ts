// The demo app with this module, limits raised so a 1 GiB file is accepted.
// `ATTACHMENTS_DURABLE=0` runs its DiskStorage with `durable: false` (no fsync at all);
// `ATTACHMENTS_INLINE_MAX_SIZE` sets `inlineMaxSize` (the default when unset).
import './exit-on-sigterm.js';
import 'reflect-metadata';
import { DiskStorage } from '../../src/attachments/index.js';
import { createDemoApp } from '../../src/bootstrap.js';
import { demoConfigFromEnv } from '../../src/demo-config.js';

const config = demoConfigFromEnv();
const app = await createDemoApp(
  // Sessions in memory, as before DATABASE_URL meant PostgreSQL sessions: the bench measures the module.
  { ...config, sessionSecret: 'bench', sessionStore: undefined },
  {
    logger: false,
    attachments: {
      storage: new DiskStorage({ directory: config.attachmentsDirectory, durable: process.env.ATTACHMENTS_DURABLE !== '0' }),
      sweepEvery: false,
      inlineMaxSize: process.env.ATTACHMENTS_INLINE_MAX_SIZE,
      limits: { fileSize: '2GB', bytesPerSession: '4GB', filesPerBundle: 5000, filesPerRequest: 5 },
    },
  },
);
await app.listen(config.port, '127.0.0.1');
process.stdout.write('ready\n');
