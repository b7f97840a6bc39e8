// Reading the aws target's files under .deploy/ENV/: the Terraform inputs of the last apply
// and the local Terraform state. A missing file is an answer (nothing applied yet); a file
// that exists but cannot be read or parsed is a fault to report, never "missing": destroy
// would skip resources that exist, and a dry run would plan with the wrong image.

import { readFile } from 'node:fs/promises';
import { StateFileError } from '../../errors.ts';
import type { TerraformInputs } from './terraform.ts';

/** The file's text; undefined when it does not exist; a StateFileError when it cannot be read. */
async function readIfPresent(file: string, what: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new StateFileError(`cannot read ${what} ${file}: ${(error as Error).message}`);
  }
}

function parse(text: string, file: string, what: string, fix: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new StateFileError(`${what} ${file} is not valid JSON: ${(error as Error).message}`, [fix]);
  }
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** The inputs of the last apply; undefined when no apply wrote them. */
export async function readInputs(file: string): Promise<TerraformInputs | undefined> {
  const what = 'the Terraform inputs';
  const text = await readIfPresent(file, what);
  if (text === undefined) return undefined;
  const fix = 'restore it from a backup, or remove it: the next deploy writes it again from deploy.yaml';
  const inputs = parse(text, file, what, fix);
  if (!isObject(inputs) || !isObject(inputs.image) || typeof inputs.image.id !== 'string')
    throw new StateFileError(`${what} ${file} lack image.id: it was not written by bakery`, [fix]);
  return inputs as unknown as TerraformInputs;
}

/** Whether a local state file holds any managed resources (false when it does not exist). */
export async function localStateHasResources(file: string): Promise<boolean> {
  const what = 'the Terraform state';
  const text = await readIfPresent(file, what);
  if (text === undefined || text.trim() === '') return false;
  const state = parse(
    text,
    file,
    what,
    `Terraform keeps the previous state in ${file}.backup; without a readable state the stack's resources cannot be destroyed by bakery`,
  );
  if (!isObject(state) || (state.resources !== undefined && !Array.isArray(state.resources)))
    throw new StateFileError(`${what} ${file} has no resources list: it is not a Terraform state`);
  return ((state.resources as Array<{ mode?: string }> | undefined) ?? []).some((r) => r.mode !== 'data');
}
