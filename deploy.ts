#!/usr/bin/env -S node --import tsx
// ./deploy.ts [ENV] [flags]: bake, roll out, verify, print the URL. See --help.

import { deployCommand } from './pipeline/cli/deploy.ts';
import { main } from './pipeline/cli/session.ts';

await main(() => deployCommand(process.argv.slice(2)));
