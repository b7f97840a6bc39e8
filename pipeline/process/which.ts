// Finding an executable on PATH without running it: preflight wants to know a tool is
// there in milliseconds (`ansible-playbook --version` alone takes over a second).

import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';

export function findExecutable(name: string, path = process.env.PATH ?? ''): string | undefined {
  for (const directory of path.split(delimiter).filter(Boolean)) {
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
