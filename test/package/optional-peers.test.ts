// An HTTP app that imports the main entry never loads the command line's or Swagger's
// packages: they are optional peers, loaded only by the `/cli` and `/openapi` entries; sharp
// only by a host that passes it in (`previews: { sharp }`).
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { packagesLoadedBy } from './loaded-packages.js';

const entry = (name: string) => pathToFileURL(resolve(import.meta.dirname, `../../src/attachments/${name}.js`)).href;
const OPTIONAL = ['nest-commander', 'cli-progress', '@nestjs/swagger', 'sharp'];

describe('optional peers', () => {
  test('importing the main entry loads neither nest-commander, cli-progress, @nestjs/swagger nor sharp', async () => {
    const loaded = await packagesLoadedBy(entry('index'));
    assert.ok(loaded.has('@nestjs/common') && loaded.has('typeorm'), 'the probe sees the packages the module needs');
    assert.deepEqual(
      OPTIONAL.filter((name) => loaded.has(name)),
      [],
    );
  });

  test('the /cli entry loads nest-commander and cli-progress, the /openapi entry @nestjs/swagger', async () => {
    const cli = await packagesLoadedBy(entry('cli'));
    assert.ok(cli.has('nest-commander') && cli.has('cli-progress'));
    assert.ok(!cli.has('@nestjs/swagger'));
    const openapi = await packagesLoadedBy(entry('openapi'));
    assert.ok(openapi.has('@nestjs/swagger'));
    assert.ok(!openapi.has('nest-commander'));
  });
});
