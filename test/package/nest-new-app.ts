import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';

const projectRoot = resolve(import.meta.dirname, '../../..');
const templates = join(projectRoot, 'node_modules/@nestjs/schematics/dist/lib/application/files');

export type ModuleSystem = 'esm' | 'cjs';

/**
 * A fresh app as `nest new` makes it for Nest 12, from @nestjs/schematics' own template
 * (`ts-esm` for ES modules, `ts` for CommonJS): its package type, tsconfig.json and
 * tsconfig.build.json, and its controller and service. Its packages are installed in a parent
 * folder; only the test runner's types are left out of `types`, since no test runner is installed.
 */
export async function createNestNewApp(folder: string, system: ModuleSystem): Promise<void> {
  const template = join(templates, system === 'esm' ? 'ts-esm' : 'ts');
  const render = async (file: string) =>
    (await readFile(join(template, file), 'utf8'))
      .replaceAll('<%= strict %>', 'true')
      .replaceAll('<%= specFileSuffix %>', 'spec');
  const type = /"type":\s*"module"/.test(await render('package.json')) ? 'module' : 'commonjs';
  await mkdir(join(folder, 'src'), { recursive: true });
  await writeFile(join(folder, 'package.json'), JSON.stringify({ name: `consumer-${system}`, private: true, type }));
  const tsconfig = JSON.parse(await render('tsconfig.json')) as { compilerOptions: { types?: string[] } };
  tsconfig.compilerOptions.types = tsconfig.compilerOptions.types?.filter((name) => name === 'node');
  await writeFile(join(folder, 'tsconfig.json'), JSON.stringify(tsconfig, null, 2));
  await writeFile(join(folder, 'tsconfig.build.json'), await render('tsconfig.build.json'));
  for (const file of ['src/app.controller.ts', 'src/app.service.ts']) {
    await writeFile(join(folder, file), await render(file));
  }
}

export async function writeAppFile(folder: string, path: string, text: string): Promise<void> {
  await mkdir(dirname(join(folder, path)), { recursive: true });
  await writeFile(join(folder, path), text);
}
