#!/bin/sh
':'; //; exec node --import "$(dirname "$(readlink -f "$0")")/node_modules/tsx/dist/loader.mjs" "$0" "$@"
// The two lines above let ./run.ts start from any directory: sh runs the second line
// (finding tsx next to this file, wherever the shell was), while to TypeScript it is a
// string and a comment.
// ./run.ts [ENV] [flags] -- COMMAND [ARGS…]: run a one-off command on the release in service. See --help.

import { runCommand } from './pipeline/cli/run-command.ts';
import { main } from './pipeline/cli/session.ts';

await main(() => runCommand(process.argv.slice(2)));
