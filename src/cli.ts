import './cli-thread-pool.js';
import 'reflect-metadata';
import { CommandFactory } from 'nest-commander';
import { CliModule } from './cli.module.js';

// `npm run cli -- remove-outdated-attachments --older-than=3`
await CommandFactory.run(CliModule, {
  logger: ['error', 'warn'],
  cliName: 'attachments',
  // A failed command prints why and exits non-zero (nest-commander's default only prints).
  serviceErrorHandler: (error) => {
    process.stderr.write(`error: ${error.message}\n`);
    process.exitCode = 1;
  },
});
