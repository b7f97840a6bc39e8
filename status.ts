#!/bin/sh
':'; //; exec node --import "$(dirname "$(readlink -f "$0")")/node_modules/tsx/dist/loader.mjs" "$0" "$@"
// The two lines above let ./status.ts start from any directory: sh runs the second line
// (finding tsx next to this file, wherever the shell was), while to TypeScript it is a
// string and a comment.
// ./status.ts [ENV] [flags]: what runs, how it differs from the last deploy, history, logs. See --help.

import { statusCommand } from './pipeline/cli/status-command.ts';
import { main } from './pipeline/cli/session.ts';

await main(() => statusCommand(process.argv.slice(2)));
