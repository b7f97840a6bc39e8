#!/bin/sh
':'; //; exec node --import "$(dirname "$(readlink -f "$0")")/node_modules/tsx/dist/loader.mjs" "$0" "$@"
// The two lines above let ./destroy.ts start from any directory: sh runs the second line
// (finding tsx next to this file, wherever the shell was), while to TypeScript it is a
// string and a comment.
// ./destroy.ts [ENV] [flags]: remove everything bakery made for ENV. See --help.

import { destroyCommand } from './pipeline/cli/destroy-command.ts';
import { main } from './pipeline/cli/session.ts';

await main(() => destroyCommand(process.argv.slice(2)));
