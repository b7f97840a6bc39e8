// The init command: in an app's directory, write a commented deploy.yaml for the local
// target from what the app's files show, saying what it guessed and why (one line per
// guess, or JSON). It reads the app and writes one new file; it never overwrites one.

import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { EXIT, UsageError } from '../errors.ts';
import { readAppFiles } from '../init/app-files.ts';
import { detectApp } from '../init/detect.ts';
import type { AnyGuess } from '../init/guess.ts';
import { renderDeployYaml, type LocalChoices } from '../init/render.ts';
import { checkDeployYaml, existsError, writeNewFile } from '../init/write.ts';
import { INIT_SPEC, type ParsedArgs } from './flags.ts';
import { parseOrAnswer, processStreams, writeError, type Streams } from './session.ts';

const DEFAULT_PORT = 8080;

/** The local load balancer's port and base image from the flags (their limits are the schema's). */
function localChoices(args: ParsedArgs): LocalChoices {
  const port = args.flags.get('port');
  if (port !== undefined && (typeof port !== 'string' || !/^\d{1,5}$/.test(port)))
    throw new UsageError(`--port ${JSON.stringify(port)} is not allowed: expected a whole number from 1 to 65535`);
  const baseImage = args.flags.get('base-image');
  return {
    port: port === undefined ? DEFAULT_PORT : Number(port),
    ...(typeof baseImage === 'string' ? { baseImage } : {}),
  };
}

function guessLines(guesses: readonly AnyGuess[]): string[] {
  const show = (value: unknown): string => (typeof value === 'string' ? value : JSON.stringify(value));
  return guesses.map((entry) => `guessed ${entry.key}: ${show(entry.value)} (${entry.why})`);
}

export async function initCommand(argv: readonly string[], streams: Streams = processStreams()): Promise<number> {
  const args = parseOrAnswer(INIT_SPEC, argv, streams);
  if (typeof args === 'number') return args;
  try {
    if (args.positionals.length > 0)
      throw new UsageError(`init takes no arguments, got: ${args.positionals.join(' ')}`, [
        "it writes the local environment; run it in the app's directory (or pass --config DIR/deploy.yaml)",
      ]);
    const file = resolve(String(args.flags.get('config') ?? 'deploy.yaml'));
    if (existsSync(file)) throw existsError(file);
    const local = localChoices(args);
    const app = args.flags.get('app');
    const findings = await detectApp(await readAppFiles(dirname(file)), typeof app === 'string' ? app : undefined);
    const text = renderDeployYaml(findings.guesses, local);
    checkDeployYaml(text, file, {
      app: '--app',
      'environments.local.local.port': '--port',
      'environments.local.local.base_image': '--base-image',
    });
    await writeNewFile(file, text);
    const warnings = findings.warnings ?? [];
    if (args.flags.has('json')) {
      const guesses = findings.guesses.map(({ key, value, why }) => ({ key, value, why }));
      streams.out.write(`${JSON.stringify({ file, guesses, not_found: findings.missed, warnings })}\n`);
    } else {
      const lines = [
        ...guessLines(findings.guesses),
        ...(args.flags.has('verbose') ? findings.missed.map((line) => `not found: ${line}`) : []),
        `wrote ${file}: check the guesses, then deploy it with: bakery deploy`,
      ];
      streams.out.write(`${lines.join('\n')}\n`);
      for (const warning of warnings) streams.err.write(`warning: ${warning}\n`);
    }
    return EXIT.ok;
  } catch (error) {
    return writeError(error, streams);
  }
}
