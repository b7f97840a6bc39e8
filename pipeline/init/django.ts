// A Django project says most of what a deploy needs: manage.py names the settings, the
// project's wsgi.py is the app, STATIC_ROOT asks for collectstatic at build time, and
// settings that read DATABASE_URL (or name PostgreSQL) want a database and migrations.

import type { AppFiles } from './app-files.ts';
import { guess, type AnyGuess, type Findings } from './guess.ts';

export const COLLECTSTATIC = 'python manage.py collectstatic --no-input';
export const MIGRATE = 'python manage.py migrate --no-input';

/** Lines that are code: a commented-out STATIC_ROOT or DATABASE_URL says nothing. */
function code(text: string): string {
  return text
    .split('\n')
    .filter((line) => !/^\s*#/.test(line))
    .join('\n');
}

/** The settings module manage.py sets, e.g. "notes.settings". */
export function settingsModuleOf(manage: string): string | undefined {
  return /DJANGO_SETTINGS_MODULE['"]\s*,\s*['"]([A-Za-z_][\w.]*)['"]/.exec(manage)?.[1];
}

/**
 * The text of the settings: the module, or every file of a settings package (prod.py
 * usually starts with `from .base import *`, where STATIC_ROOT and DATABASES are).
 */
async function settingsText(files: AppFiles, module: string): Promise<{ path: string; text: string } | undefined> {
  const base = module.split('.').join('/');
  const parent = base.split('/').slice(0, -1).join('/');
  const packageDir = files.has(`${base}.py`) ? (parent.endsWith('settings') ? parent : undefined) : base;
  if (packageDir === undefined) return { path: `${base}.py`, text: code(await files.read(`${base}.py`)) };
  const inPackage = files.paths.filter((path) => path.startsWith(`${packageDir}/`) && path.endsWith('.py'));
  if (inPackage.length === 0) return undefined;
  const texts = await Promise.all(inPackage.map((path) => files.read(path)));
  return { path: `${packageDir}/`, text: code(texts.join('\n')) };
}

/** The project's wsgi.py: beside the settings first, else any that makes a Django WSGI app. */
async function wsgiFileOf(files: AppFiles, settingsModule: string | undefined): Promise<string | undefined> {
  const project = settingsModule?.split('.').slice(0, -1).join('/');
  if (project && files.has(`${project}/wsgi.py`)) return `${project}/wsgi.py`;
  for (const path of files.paths.filter((candidate) => candidate.endsWith('/wsgi.py'))) {
    if ((await files.read(path)).includes('get_wsgi_application')) return path;
  }
  return undefined;
}

/**
 * Django answers 400 to a Host it does not allow, and the health checks carry the local
 * URL's host (127.0.0.1): a literal ALLOWED_HOSTS without it fails every check. A list
 * read from the environment or built in code cannot be judged here.
 */
export function allowedHostsProblem(settings: string): string | undefined {
  const literal = /^\s*ALLOWED_HOSTS\s*=\s*\[([^\]]*)\]\s*$/m.exec(settings);
  if (!literal) return undefined;
  const hosts = [...(literal[1] as string).matchAll(/["']([^"']*)["']/g)].map((match) => match[1] as string);
  if (hosts.some((host) => host === '*' || host === '127.0.0.1')) return undefined;
  return `ALLOWED_HOSTS is [${hosts.map((host) => JSON.stringify(host)).join(', ')}]: add "127.0.0.1" (the local URL's host), or Django answers the health checks with 400`;
}

export function usesDatabaseUrl(settings: string): boolean {
  return /DATABASE_URL|dj_database_url|django\.db\.backends\.postgresql|django\.db\.backends\.postgis/.test(settings);
}

export async function detectDjango(files: AppFiles): Promise<Findings> {
  if (!files.has('manage.py')) return { guesses: [], missed: ['no manage.py: not a Django project'] };
  const guesses: AnyGuess[] = [];
  const missed: string[] = [];
  const settingsModule = settingsModuleOf(await files.read('manage.py'));
  const wsgi = await wsgiFileOf(files, settingsModule);
  if (wsgi) {
    const module = wsgi.replace(/\.py$/, '').split('/').join('.');
    const why = `Django project: ${wsgi} makes the WSGI application`;
    guesses.push(guess('service.entrypoint', `${module}:application`, why));
    guesses.push(guess('service.interface', 'wsgi', `Django's ${wsgi} is WSGI; bakery serves it with Waitress`));
  } else {
    missed.push('manage.py but no PROJECT/wsgi.py with get_wsgi_application');
  }
  const settings = settingsModule ? await settingsText(files, settingsModule) : undefined;
  if (!settings) {
    missed.push(`Django settings ${settingsModule ?? '(DJANGO_SETTINGS_MODULE not found in manage.py)'} not found`);
    return { guesses, missed };
  }
  if (/^\s*STATIC_ROOT\s*=/m.test(settings.text)) {
    guesses.push(guess('service.build', [COLLECTSTATIC], `${settings.path} sets STATIC_ROOT`));
  } else {
    missed.push(`${settings.path} sets no STATIC_ROOT: no collectstatic`);
  }
  const hosts = allowedHostsProblem(settings.text);
  const warnings = hosts ? [`${settings.path}: ${hosts}`] : [];
  if (usesDatabaseUrl(settings.text)) {
    const why = `${settings.path} reads DATABASE_URL or uses PostgreSQL`;
    guesses.push(guess('database', { engine: 'postgres' }, why));
    guesses.push(guess('service.release', [MIGRATE], `${why}: migrations run before each release serves`));
  } else {
    missed.push(`${settings.path} reads no DATABASE_URL and names no PostgreSQL: no database`);
  }
  return { guesses, missed, warnings };
}
