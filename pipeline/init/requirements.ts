// The app's pip requirements (resolved into a wheelhouse at bake time); without a file,
// the framework from Debian's packages, so the app still imports.

import type { AppFiles } from './app-files.ts';
import { guess, type Findings } from './guess.ts';

const REQUIREMENTS_FILES = [
  'requirements.txt',
  'requirements/production.txt',
  'requirements/prod.txt',
  'requirements/base.txt',
];

/** Debian 12's package of each framework init recognises. */
const DEBIAN_PACKAGES = { flask: 'python3-flask', fastapi: 'python3-fastapi', django: 'python3-django' } as const;
export type KnownFramework = keyof typeof DEBIAN_PACKAGES;

export function detectRequirements(files: AppFiles, framework: KnownFramework | undefined): Findings {
  const file = REQUIREMENTS_FILES.find((path) => files.has(path));
  if (file) return { guesses: [guess('service.requirements', file, `${file} is there`)], missed: [] };
  const missed = [`no ${REQUIREMENTS_FILES.join(', ')}`];
  if (!framework) return { guesses: [], missed };
  const name = DEBIAN_PACKAGES[framework];
  return {
    guesses: [guess('service.packages', [name], `no requirements.txt: ${framework} from Debian's ${name}`)],
    missed,
  };
}
