#!/bin/sh
':'; //; exec node --import "$(dirname "$(readlink -f "$0")")/node_modules/tsx/dist/loader.mjs" "$0" "$@"
// The two lines above let ./deploy.ts start from any directory: sh runs the second line
// (finding tsx next to this file, wherever the shell was), while to TypeScript it is a
// string and a comment.
// ./deploy.ts [ENV] [flags]: bake, roll out, verify, print the URL. See --help.

import { deployCommand } from './pipeline/cli/deploy-command.ts';
import { main } from './pipeline/cli/session.ts';

await main(() => deployCommand(process.argv.slice(2)));
