// Asks each detector about the app's directory, most specific first (a Procfile says
// exactly what runs; Django's layout next; then any Flask or FastAPI object), and keeps
// the first guess for each key.

import { basename } from 'node:path';
import { InputError } from '../errors.ts';
import type { AppFiles } from './app-files.ts';
import { detectDjango } from './django.ts';
import { guess, mergeFindings, valueOf, type Findings } from './guess.ts';
import { detectHealth } from './health.ts';
import { detectProcfile } from './procfile.ts';
import { detectPythonApp, findApp } from './python-app.ts';
import { detectRequirements, type KnownFramework } from './requirements.ts';

/** A DNS-safe app name from a directory's name ("My_Shop.v2" is "my-shop-v2"), at most 20 characters. */
export function appNameFrom(directory: string): string {
  const name = basename(directory)
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^[^a-z]+/, '')
    .slice(0, 20)
    .replace(/-+$/, '');
  return name === '' ? 'app' : name;
}

export async function detectApp(files: AppFiles, appName: string | undefined): Promise<Findings> {
  const app = await findApp(files);
  const isDjango = files.has('manage.py');
  const framework: KnownFramework | undefined = isDjango ? 'django' : app?.framework;
  const name: Findings = {
    guesses: [
      appName === undefined
        ? guess('app', appNameFrom(files.dir), `from the directory's name, ${basename(files.dir)}`)
        : guess('app', appName, 'given with --app'),
    ],
    missed: [],
  };
  const findings = mergeFindings([
    name,
    await detectProcfile(files),
    await detectDjango(files),
    detectPythonApp(app),
    detectRequirements(files, framework),
    await detectHealth(files),
  ]);
  if (valueOf(findings.guesses, 'service.entrypoint') === undefined) {
    throw new InputError(`no Python web app found in ${files.dir}: nothing to write a deploy.yaml for`, [
      ...findings.missed.map((line) => `looked: ${line}`),
      'run init in the directory that holds the app (or pass --config DIR/deploy.yaml),',
      'or write deploy.yaml by hand (README: "Deploy your own app")',
    ]);
  }
  return findings;
}
