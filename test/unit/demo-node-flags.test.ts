// The bench runs its servers with the V8 flags the demo's `npm start` uses (bench/support.ts
// says why): a flag changed in one place and not the other would measure another app.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { projectRoot, SERVER_NODE_FLAGS } from '../../bench/support.js';

test('npm start runs the demo with the node flags the bench gives its servers', async () => {
  const manifest = JSON.parse(await readFile(join(projectRoot, 'package.json'), 'utf8')) as { scripts: { start: string } };
  const command = /node ((?:--\S+ )*)dist\/src\/main\.js/.exec(manifest.scripts.start);
  assert.ok(command, `the start script runs dist/src/main.js with node: ${manifest.scripts.start}`);
  assert.deepEqual(command[1]!.trim().split(' ').filter(Boolean), SERVER_NODE_FLAGS);
});
