// Packer's command and its -machine-readable output: artifact ids come only from
// artifact lines, never from human text; progress comes from the step and Ansible task
// names.

import type { Command } from '../process/command.ts';

/**
 * Builds one source of the template in `templateDir` (relative to the working
 * directory). Inputs come as PKR_VAR_* environment variables, never as -var values, so
 * no input (a package index password, say) is on the command line.
 */
export function packerBuild(options: { source: string; templateDir: string }): Command {
  return {
    tool: 'packer',
    args: ['build', `-only=${options.source}`, '-machine-readable', '-color=false', options.templateDir],
  };
}

export interface MachineLine {
  timestamp: string;
  target: string;
  type: string;
  data: string[];
}

/** Packer escapes commas and newlines inside fields. */
function unescapeField(field: string): string {
  return field
    .replace(/%!\(PACKER_COMMA\)/g, ',')
    .replace(/\\n/g, '\n')
    .replace(/\\r/g, '\r');
}

export function parseMachineLine(line: string): MachineLine | undefined {
  const fields = line.split(',');
  if (fields.length < 3 || !/^\d+$/.test(fields[0] as string)) return undefined;
  const [timestamp, target, type, ...data] = fields as [string, string, string, ...string[]];
  return { timestamp, target, type, data: data.map(unescapeField) };
}

/** The artifact ids per source ("docker.app" → "sha256:…", "amazon-ebs.app" → "eu-west-1:ami-…"). */
export function artifactIds(lines: readonly string[]): Map<string, string> {
  const ids = new Map<string, string>();
  for (const raw of lines) {
    const line = parseMachineLine(raw);
    if (line?.type === 'artifact' && line.data[1] === 'id' && line.data[2]) ids.set(line.target, line.data[2]);
  }
  return ids;
}

/** The human text of a ui line (say, message, error), or undefined. */
export function uiText(line: MachineLine): { level: string; text: string } | undefined {
  if (line.type !== 'ui' || line.data.length < 2) return undefined;
  return { level: line.data[0] as string, text: line.data.slice(1).join(',') };
}

const ANSIBLE_TASK = /(TASK|RUNNING HANDLER) \[([^\]]+)\]/;

/** A progress line for the live view: Packer steps ("==> …") and Ansible task names. */
export function packerProgress(raw: string): string | undefined {
  const line = parseMachineLine(raw);
  if (!line) return undefined;
  const ui = uiText(line);
  if (!ui) return undefined;
  for (const text of ui.text.split('\n')) {
    const task = ANSIBLE_TASK.exec(text);
    if (task) return `ansible: ${task[2]}`;
    const step = /==> ([\w.-]+): (.+)/.exec(text);
    if (step) return `${step[1]}: ${step[2]}`;
  }
  return undefined;
}

/** The error lines of a failed build: Packer's error ui lines and Ansible's failures. */
export function packerErrorLines(lines: readonly string[]): string[] {
  const errors: string[] = [];
  for (const raw of lines) {
    const line = parseMachineLine(raw);
    const ui = line ? uiText(line) : undefined;
    const texts = line ? (ui?.text.split('\n') ?? []) : [raw];
    for (const text of texts) {
      const trimmed = text.replace(/^\s*[\w.-]+\.app:\s?/, '').trim();
      if (trimmed === '') continue;
      if (ui?.level === 'error' || /^(fatal|failed):|FAILED!|ERROR!|Build '.*' errored|[Ee]rror[: ]/.test(trimmed))
        errors.push(trimmed);
    }
  }
  return errors.slice(-20);
}
