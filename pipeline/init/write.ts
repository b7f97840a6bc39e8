// Writes deploy.yaml only when it is new and valid: the text is checked by the real
// config loader first (against the path it will have, so `source: .` resolves), and the
// file is created exclusively, so an existing one is never touched.

import { unlink, writeFile } from 'node:fs/promises';
import { parseConfig } from '../config/load.ts';
import { ConfigError, InputError, UsageError } from '../errors.ts';

/** Which flag a deploy.yaml key came from, so a bad value is reported as the flag the user typed. */
export type FlagOfKey = Record<string, string>;

export class FileExistsError extends InputError {}

export function existsError(path: string): FileExistsError {
  return new FileExistsError(`${path} already exists: init never overwrites a file`, [
    'move it away, or write elsewhere with --config OTHER.yaml',
  ]);
}

/** Checks the text as deploy.yaml at `path`; a bad value from a flag is a usage error naming the flag. */
export function checkDeployYaml(text: string, path: string, flagOf: FlagOfKey): void {
  try {
    parseConfig(text, path);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const fromFlag = error.issues.find((issue) => flagOf[issue.path] !== undefined);
    if (fromFlag) throw new UsageError(`${flagOf[fromFlag.path]}: ${fromFlag.message}`);
    throw new InputError('the guesses do not make a valid deploy.yaml; nothing was written', [
      ...error.details,
      'write deploy.yaml by hand (README: "Deploy your own app"), or fix the file the guess came from',
    ]);
  }
}

export async function writeNewFile(path: string, text: string): Promise<void> {
  try {
    await writeFile(path, text, { flag: 'wx', mode: 0o644 });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw existsError(path);
    // A partly written file must not be left for the next deploy to read.
    if (code !== 'EACCES' && code !== 'ENOENT' && code !== 'EROFS') await unlink(path).catch(() => {});
    throw new InputError(`${path} cannot be written (${code ?? String(error)})`);
  }
}
