import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { createDemoApp } from './bootstrap.js';
import { demoConfigFromEnv } from './demo-config.js';

const config = demoConfigFromEnv();
const app = await createDemoApp(config);
await app.listen(config.port);
new Logger('Demo').log(`Listening on http://localhost:${config.port} (attachments at /attachments)`);
