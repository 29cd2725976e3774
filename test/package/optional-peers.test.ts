// An HTTP app that imports the main entry never loads the command line's, Swagger's or the AWS
// SDK's packages: they are optional peers, loaded only by the `/cli`, `/openapi` and `/s3`
// entries; sharp only by a host that passes it in (`previews: { sharp }`).
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { packagesLoadedBy } from './loaded-packages.js';

const entry = (name: string) => pathToFileURL(resolve(import.meta.dirname, `../../src/attachments/${name}.js`)).href;
const OPTIONAL = ['nest-commander', 'cli-progress', '@nestjs/swagger', '@aws-sdk/client-s3', '@aws-sdk/lib-storage', 'sharp'];

describe('optional peers', () => {
  test('importing the main entry loads neither nest-commander, cli-progress, @nestjs/swagger, the AWS SDK nor sharp', async () => {
    const loaded = await packagesLoadedBy(entry('index'));
    assert.ok(loaded.has('@nestjs/common') && loaded.has('typeorm'), 'the probe sees the packages the module needs');
    assert.deepEqual(
      OPTIONAL.filter((name) => loaded.has(name)),
      [],
    );
  });

  test('the /cli entry loads nest-commander and cli-progress, the /openapi entry @nestjs/swagger, the /s3 entry the AWS SDK', async () => {
    const cli = await packagesLoadedBy(entry('cli'));
    assert.ok(cli.has('nest-commander') && cli.has('cli-progress'));
    assert.ok(!cli.has('@nestjs/swagger'));
    const openapi = await packagesLoadedBy(entry('openapi'));
    assert.ok(openapi.has('@nestjs/swagger'));
    assert.ok(!openapi.has('nest-commander'));
    const s3 = await packagesLoadedBy(entry('s3'));
    assert.ok(s3.has('@aws-sdk/client-s3') && s3.has('@aws-sdk/lib-storage'));
    assert.ok(!s3.has('nest-commander') && !s3.has('@nestjs/swagger'));
  });
});
