// One expiry sweep through the module's own sweeper, in a process of its own (as the CLI
// would), printing its report as JSON for the bench.
import '../../src/cli-thread-pool.js';
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { AttachmentsSweeper } from '../../src/attachments/index.js';
import { CliModule } from '../../src/cli.module.js';

const context = await NestFactory.createApplicationContext(CliModule, { logger: false });
const report = await context.get(AttachmentsSweeper).removeOutdated({ olderThan: Number(process.env.OLDER_THAN_MS) });
await context.close();
process.stdout.write(`${JSON.stringify(report)}\n`);
