// (a) The demo app with this module, limits raised so a 1 GiB file is accepted.
import './exit-on-sigterm.js';
import 'reflect-metadata';
import { createDemoApp } from '../../src/bootstrap.js';
import { demoConfigFromEnv } from '../../src/demo-config.js';

const config = demoConfigFromEnv();
const app = await createDemoApp(
  // Sessions in memory, as before DATABASE_URL meant PostgreSQL sessions: the bench measures the module.
  { ...config, sessionSecret: 'bench', sessionStore: undefined },
  {
    logger: false,
    attachments: {
      sweepEvery: false,
      limits: { fileSize: '2GB', bytesPerSession: '4GB', filesPerBundle: 5000, filesPerRequest: 5 },
    },
  },
);
await app.listen(config.port, '127.0.0.1');
process.stdout.write('ready\n');
