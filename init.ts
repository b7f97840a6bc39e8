#!/bin/sh
':'; //; exec node --import "$(dirname "$(readlink -f "$0")")/node_modules/tsx/dist/loader.mjs" "$0" "$@"
// The two lines above let ./init.ts start from any directory: sh runs the second line
// (finding tsx next to this file, wherever the shell was), while to TypeScript it is a
// string and a comment.
// ./init.ts [flags]: write a commented deploy.yaml from what the app's directory shows. See --help.

import { initCommand } from './pipeline/cli/init-command.ts';
import { main } from './pipeline/cli/session.ts';

await main(() => initCommand(process.argv.slice(2)));
