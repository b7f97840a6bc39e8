// Finding an executable on PATH without running it: preflight wants to know a tool is
// there in milliseconds (`ansible-playbook --version` alone takes over a second).
// The search path is handed in (the run's environment), never read from process.env.

import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/** The first regular, executable file called `name` in `searchPath` (a PATH value). */
export function findExecutable(name: string, searchPath: string | undefined): string | undefined {
  for (const directory of (searchPath ?? '').split(delimiter).filter(Boolean)) {
    const candidate = join(directory, name);
    try {
      if (!statSync(candidate).isFile()) continue;
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not here.
    }
  }
  return undefined;
}
