import { readFile } from 'node:fs/promises';

export interface ReadmeFile {
  /** Where the README says the file goes, e.g. `src/app.module.ts`. */
  path: string;
  text: string;
}

export interface ReadmeFiles {
  /** The first snippet for each path: the app as the README builds it. */
  files: ReadmeFile[];
  /** Later snippets for a path already given: alternatives (the SQLite database.ts). */
  variants: ReadmeFile[];
  /** The packages of the `npm install` lines of the "Use it in your Nest app" section. */
  install: string[];
  /** The packages the "Owners from your own auth (JWT)" files need besides. */
  jwtInstall: string[];
}

const FENCE = /^```(\w*)\n([\s\S]*?)^```$/gm;
const MARK = /^\/\/ (src\/[\w./-]+\.ts)\n/;

/**
 * The README's TypeScript snippets, each a whole file marked with its path on the first line.
 * An unmarked TypeScript snippet is an error: it could not be compiled, so it could drift.
 */
export async function readmeFiles(readmePath: string): Promise<ReadmeFiles> {
  const readme = await readFile(readmePath, 'utf8');
  const files: ReadmeFile[] = [];
  const variants: ReadmeFile[] = [];
  for (const [, language, body] of readme.matchAll(FENCE)) {
    if (language !== 'ts') continue;
    const mark = MARK.exec(body!);
    if (!mark) throw new Error(`a TypeScript snippet of the README has no "// src/<file>.ts" first line:\n${body}`);
    const file = { path: mark[1]!, text: body! };
    (files.some((known) => known.path === file.path) ? variants : files).push(file);
  }
  const install = installedBy(readme, '## Use it in your Nest app');
  const jwtInstall = installedBy(readme, '### Owners from your own auth (JWT)');
  return { files, variants, install, jwtInstall };
}

/** The packages of the `npm install` lines of the first shell block after `heading`. */
function installedBy(readme: string, heading: string): string[] {
  const at = readme.indexOf(heading);
  if (at < 0) throw new Error(`the README has no "${heading}"`);
  const shell = /^```sh\n([\s\S]*?)^```$/m.exec(readme.slice(at))?.[1] ?? '';
  return shell
    .split('\n')
    .filter((line) => line.startsWith('npm install'))
    .flatMap((line) => line.split(/\s+/).slice(2))
    .filter((word) => word && !word.startsWith('-'));
}
