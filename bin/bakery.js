#!/usr/bin/env node
// bakery's executable: `bakery COMMAND [ENV] [flags]`. ./deploy.ts, ./destroy.ts,
// ./status.ts and ./run.ts are links to this file; started through one of them, the
// link's name is the command. It starts the compiled runner, or the sources in a
// checkout that changed them since the last build (runner.js says which).

import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chooseRunner } from './runner.js';

const ALIASES = {
  'deploy.ts': 'deploy',
  'destroy.ts': 'destroy',
  'status.ts': 'status',
  'run.ts': 'run',
  'init.ts': 'init',
};

async function loadCli() {
  if (chooseRunner(fileURLToPath(new URL('..', import.meta.url))) === 'compiled') {
    // Error positions and stack traces point at the .ts files, through dist's source maps.
    process.setSourceMapsEnabled(true);
    return import('../dist/main.js');
  }
  // Started with tsx's loader already (the tooling container does that): no second one.
  if (!process.execArgv.some((arg) => arg.includes('tsx'))) (await import('tsx/esm/api')).register();
  return import('../pipeline/cli/main.ts');
}

const alias = ALIASES[basename(process.argv[1] ?? '')];
const argv = alias ? [alias, ...process.argv.slice(2)] : process.argv.slice(2);
const { startBakery } = await loadCli();
await startBakery(argv);
