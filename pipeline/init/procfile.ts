// A Procfile (Heroku, Dokku, honcho) already says how the app runs: `web:` names the
// server and the app object, `release:` what runs before a release serves.

import { ENTRYPOINT, type AppInterface } from '../config/schema.ts';
import type { AppFiles } from './app-files.ts';
import { guess, type AnyGuess, type Findings } from './guess.ts';

/** The servers whose command line names the app as module:attribute, and what each serves. */
const SERVERS: Record<string, AppInterface> = {
  gunicorn: 'wsgi',
  'waitress-serve': 'wsgi',
  uvicorn: 'asgi',
  hypercorn: 'asgi',
  daphne: 'asgi',
};

/** The process types of a Procfile: `name: command` lines; comments and blank lines skipped. */
export function parseProcfile(text: string): Map<string, string> {
  const processes = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const match = /^([A-Za-z0-9_-]+):\s*(.*\S)\s*$/.exec(line);
    if (match && !processes.has(match[1] as string)) processes.set(match[1] as string, match[2] as string);
  }
  return processes;
}

/** Shell words, enough for a Procfile line: quotes group, nothing is expanded. */
export function shellWords(command: string): string[] {
  const words: string[] = [];
  for (const match of command.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g))
    words.push(match[1] ?? match[2] ?? match[3] ?? '');
  return words;
}

export interface WebCommand {
  server: string;
  entrypoint: string;
  interface: AppInterface;
}

/**
 * The server and app of a `web:` command such as `gunicorn shop.wsgi:application -w 3`,
 * `uvicorn api.main:app --factory` or `waitress-serve --call shop:create_app`; undefined
 * for any other command (`python app.py`, `flask run`).
 */
export function readWebCommand(command: string): WebCommand | undefined {
  const words = shellWords(command);
  // Leading VAR=value assignments, `exec`, and `python -m SERVER` come before the server.
  let at = 0;
  while (at < words.length && /^([A-Za-z_][A-Za-z0-9_]*=|exec$)/.test(words[at] as string)) at++;
  if (/^python[0-9.]*$/.test(words[at] ?? '') && words[at + 1] === '-m') at += 2;
  const server = (words[at] ?? '').split('/').pop() ?? '';
  const serves = SERVERS[server];
  if (!serves) return undefined;
  const rest = words.slice(at + 1);
  const target = rest.filter((word) => !word.startsWith('-') && ENTRYPOINT.test(word)).pop();
  if (!target) return undefined;
  const workerClass = optionValue(rest, ['-k', '--worker-class']) ?? '';
  const factory = rest.includes('--factory') || rest.includes('--call');
  return {
    server,
    entrypoint: factory && !target.endsWith('()') ? `${target}()` : target,
    // gunicorn serves ASGI through uvicorn's worker class.
    interface: server === 'gunicorn' && /uvicorn/i.test(workerClass) ? 'asgi' : serves,
  };
}

function optionValue(words: readonly string[], names: readonly string[]): string | undefined {
  for (let index = 0; index < words.length; index++) {
    const word = words[index] as string;
    for (const name of names) {
      if (word === name) return words[index + 1];
      if (word.startsWith(`${name}=`)) return word.slice(name.length + 1);
    }
  }
  return undefined;
}

export async function detectProcfile(files: AppFiles): Promise<Findings> {
  if (!files.has('Procfile')) return { guesses: [], missed: ['no Procfile'] };
  const processes = parseProcfile(await files.read('Procfile'));
  const guesses: AnyGuess[] = [];
  const missed: string[] = [];
  const web = processes.get('web');
  const parsed = web === undefined ? undefined : readWebCommand(web);
  if (parsed) {
    const why = `Procfile web: runs ${parsed.server} ${parsed.entrypoint.replace(/\(\)$/, '')}`;
    guesses.push(guess('service.entrypoint', parsed.entrypoint, why));
    guesses.push(
      guess(
        'service.interface',
        parsed.interface,
        `Procfile web: ${parsed.server} serves ${parsed.interface.toUpperCase()}; bakery serves it with ${parsed.interface === 'asgi' ? 'Uvicorn' : 'Waitress'}`,
      ),
    );
  } else {
    missed.push(
      web === undefined
        ? 'Procfile has no web: line'
        : `Procfile web: (${web}) names no app for ${Object.keys(SERVERS).join(', ')}`,
    );
  }
  const release = processes.get('release');
  if (release !== undefined) guesses.push(guess('service.release', [release], 'Procfile release: line'));
  else missed.push('Procfile has no release: line');
  return { guesses, missed };
}
