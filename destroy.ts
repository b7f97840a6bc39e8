#!/usr/bin/env -S node --import tsx
// ./destroy.ts [ENV] [flags]: remove everything bakery made for ENV. See --help.

import { destroyCommand } from './pipeline/cli/destroy.ts';
import { main } from './pipeline/cli/session.ts';

await main(() => destroyCommand(process.argv.slice(2)));
