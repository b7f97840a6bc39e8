// destroy.ts --previews [--older-than AGE]: the TTL sweep. Finds the previews on this
// machine older than AGE (default: previews.ttl_hours) by their first deploy, asks once
// where their target asks before a destroy (--yes in CI), then destroys each one as
// `destroy.ts --preview NAME` would; previews that are not stale are never touched.

import { createInterface } from 'node:readline/promises';
import { dirname, resolve } from 'node:path';
import { loadConfig } from '../config/load.ts';
import { EXIT, InterruptedError, UsageError } from '../errors.ts';
import { formatAge, listPreviews, partitionByAge, previewAgeSeconds, templateOf } from '../operate/previews.ts';
import { parseAge } from '../operate/since.ts';
import { targetRules } from '../targets/kind.ts';
import type { ParsedArgs } from './flags.ts';
import type { Streams } from './session.ts';

/** Flags passed on to each preview's destroy. */
const PASSED_ON = ['config', 'keep-images', 'backup', 'dry-run', 'verbose', 'container', 'no-container'];

export async function sweepPreviews(
  args: ParsedArgs,
  streams: Streams,
  destroyOne: (argv: string[]) => Promise<number>,
  now: Date = new Date(),
): Promise<number> {
  if (args.positionals.length > 0 || args.flags.has('preview'))
    throw new UsageError('--previews removes every stale preview: leave out ENV and --preview');
  const configPath = resolve(String(args.flags.get('config') ?? 'deploy.yaml'));
  const config = await loadConfig(configPath);
  const template = templateOf(config);
  const olderThan = args.flags.get('older-than');
  const maxAge = typeof olderThan === 'string' ? parseAge(olderThan, '--older-than') : template.ttl_hours * 3600;
  const ageText = typeof olderThan === 'string' ? olderThan : `${template.ttl_hours}h (previews.ttl_hours)`;
  const { stale, fresh } = partitionByAge(await listPreviews(dirname(configPath)), maxAge, now);
  const say = (text: string) => streams.err.write(`${text}\n`);
  const json = args.flags.has('json');
  const describe = (names: typeof stale) =>
    names.map((record) => `${record.name} (${formatAge(previewAgeSeconds(record, now))})`).join(', ');
  if (fresh.length > 0) say(`kept, not older than ${ageText}: ${describe(fresh)}`);
  if (stale.length === 0) {
    say(`no preview is older than ${ageText}; nothing to remove`);
    if (json) streams.out.write(`${JSON.stringify({ removed: [], kept: fresh.map((r) => r.name), failed: [] })}\n`);
    return EXIT.ok;
  }
  say(`stale, older than ${ageText}: ${describe(stale)}`);

  const base = config.environments[template.from];
  const asks = base !== undefined && targetRules(base.target).destroyAsksToConfirm;
  if (asks && !args.flags.has('yes') && !args.flags.has('dry-run')) await confirm(stale.length, streams);

  const passed = PASSED_ON.flatMap((name) => {
    const value = args.flags.get(name);
    if (value === undefined) return [];
    return value === true ? [`--${name}`] : [`--${name}`, value];
  });
  const removed: string[] = [];
  const failed: string[] = [];
  let exitCode: number = EXIT.ok;
  for (const record of stale) {
    say(`destroying preview ${record.name}`);
    const code = await destroyOne(['--preview', record.name, '--yes', ...passed]);
    if (code === EXIT.ok) removed.push(record.name);
    else {
      failed.push(record.name);
      if (exitCode === EXIT.ok) exitCode = code;
    }
  }
  say(
    `removed ${removed.length} stale preview(s)${removed.length ? `: ${removed.join(', ')}` : ''}${failed.length ? `; failed: ${failed.join(', ')}` : ''}`,
  );
  if (json) streams.out.write(`${JSON.stringify({ removed, kept: fresh.map((r) => r.name), failed })}\n`);
  return exitCode;
}

async function confirm(count: number, streams: Streams): Promise<void> {
  if (!streams.stdinIsTTY)
    throw new UsageError(`destroying ${count} stale preview(s) needs --yes when stdin is not a terminal`);
  const prompt = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await prompt
      .question(`This removes ${count} preview(s) and their databases. Type "yes" to confirm: `)
      .catch((error: unknown) => {
        throw new InterruptedError('not confirmed (interrupted at the prompt); nothing was removed', [], {
          cause: error,
        });
      });
    if (answer.trim() !== 'yes')
      throw new UsageError(`not confirmed (typed ${JSON.stringify(answer.trim())}); nothing was removed`);
  } finally {
    prompt.close();
  }
}
