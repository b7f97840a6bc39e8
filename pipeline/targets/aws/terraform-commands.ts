// Every terraform call of the aws target, as data: pure functions from what is wanted to
// the terraform argv. terraform.ts runs them (in the staged working directory, through
// the process runner); test/unit/terraform-commands.test.ts checks them without Terraform.
//
// Every call is non-interactive (-input=false; TF_IN_AUTOMATION is set by the runner
// side), plain (-no-color: the output goes to a log and is parsed), and waits for a held
// state lock instead of failing at once (-lock-timeout). Inputs travel in a var file named
// by its path, never as -var values, so no input (secret or not) is on a command line.

import type { Command } from '../../process/command.ts';

export const LOCK_TIMEOUT = '5m';

function terraform(...args: string[]): Command {
  return { tool: 'terraform', args };
}

/** `backend` holds the -backend-config key=value pairs of the generated backend.tf. */
export function terraformInit(backend: Record<string, string>): Command {
  return terraform(
    'init',
    '-input=false',
    '-no-color',
    `-lock-timeout=${LOCK_TIMEOUT}`,
    ...Object.entries(backend).map(([key, value]) => `-backend-config=${key}=${value}`),
  );
}

/** Plans into `planFile`; `lock: false` (a dry run) only reads the state and never waits for it. */
export function terraformPlan(options: { varFile: string; planFile: string; lock: boolean }): Command {
  return terraform(
    'plan',
    '-input=false',
    '-no-color',
    ...(options.lock ? [`-lock-timeout=${LOCK_TIMEOUT}`] : ['-lock=false']),
    `-var-file=${options.varFile}`,
    `-out=${options.planFile}`,
  );
}

/** The saved plan as JSON (resource changes), to read as data. */
export function terraformShowPlan(planFile: string): Command {
  return terraform('show', '-json', '-no-color', planFile);
}

/** Applies exactly the saved plan that was shown. */
export function terraformApply(planFile: string): Command {
  return terraform('apply', '-input=false', '-no-color', `-lock-timeout=${LOCK_TIMEOUT}`, planFile);
}

export function terraformOutput(): Command {
  return terraform('output', '-json', '-no-color');
}

export function terraformStateList(): Command {
  return terraform('state', 'list', '-no-color');
}

export function terraformDestroy(varFile: string): Command {
  return terraform(
    'destroy',
    '-auto-approve',
    '-input=false',
    '-no-color',
    `-lock-timeout=${LOCK_TIMEOUT}`,
    `-var-file=${varFile}`,
  );
}
