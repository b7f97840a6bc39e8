// `npm run build`: the runner as JavaScript in dist/, what bin/bakery.js starts. One
// bundle from pipeline/cli/main.ts, split at each dynamic import() (a command, a target)
// so that a run loads only its own part, with source maps back to the .ts files. Node
// resolves hundreds of small files for execa, undici and yaml; bundled they are read as a
// few. The AWS SDK stays outside: only an aws environment loads it, from node_modules.
// dist/.built, written last, is what bin/runner.js compares the sources against.

import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { build } from 'esbuild';

const ROOT = join(import.meta.dirname, '..');
const OUT = join(ROOT, 'dist');

await rm(OUT, { recursive: true, force: true });
await build({
  entryPoints: [join(ROOT, 'pipeline', 'cli', 'main.ts')],
  outdir: OUT,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: true,
  external: ['@aws-sdk/*'],
  logLevel: 'warning',
  // Bundled CommonJS dependencies (undici) call require() for Node's own modules.
  banner: {
    js: "import { createRequire as bakeryRequire } from 'node:module'; const require = bakeryRequire(import.meta.url);",
  },
});
await writeFile(join(OUT, '.built'), `${new Date().toISOString()}\n`);
