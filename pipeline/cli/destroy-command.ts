// The destroy command: confirmation where the target asks for it, then destroy stages.

import { createInterface } from 'node:readline/promises';
import { InterruptedError, UsageError } from '../errors.ts';
import { destroyStages, type DestroyResults } from '../stages/destroy-stages.ts';
import { targetRules } from '../targets/kind.ts';
import { DESTROY_SPEC } from './flags.ts';
import { forgetPreview } from '../operate/previews.ts';
import type { Stage } from '../stages/run-stages.ts';
import { sweepPreviews } from './preview-sweep.ts';
import { parseOrAnswer, processStreams, runCommand, writeError, type Streams } from './session.ts';

/** Last, after everything of a preview is gone: its record and port, so the name starts afresh. */
function forgetPreviewStage(root: string, stateDir: string): Stage<DestroyResults> {
  return {
    name: 'preview-record',
    title: 'Forget the preview',
    run: async () => {
      await forgetPreview(root, stateDir);
    },
    plan: async () => ({ text: 'remove the preview record and free its local port' }),
  };
}

export async function destroyCommand(argv: readonly string[], streams: Streams = processStreams()): Promise<number> {
  const parsed = parseOrAnswer(DESTROY_SPEC, argv, streams);
  if (typeof parsed === 'number') return parsed;
  if (parsed.flags.has('previews')) {
    return sweepPreviews(parsed, streams, (one) => destroyCommand(one, streams)).catch((error: unknown) =>
      writeError(error, streams),
    );
  }
  for (const name of ['older-than', 'backup'])
    if (parsed.flags.has(name) && !parsed.flags.has('preview'))
      return writeError(new UsageError(`--${name} goes with --preview NAME or --previews`), streams);
  return runCommand<DestroyResults>(
    DESTROY_SPEC,
    argv,
    {
      beforeLock: async ({ args, env, dryRun }) => {
        if (!targetRules(env.target).destroyAsksToConfirm || args.flags.has('yes') || dryRun) return;
        if (!streams.stdinIsTTY) {
          throw new UsageError(
            `destroying ${env.name} (target ${env.target}) needs --yes when stdin is not a terminal`,
          );
        }
        const prompt = createInterface({ input: process.stdin, output: process.stderr });
        try {
          const answer = await prompt
            .question(
              `This removes every resource of ${env.app}/${env.name} on ${env.target}. Type the environment name to confirm: `,
            )
            .catch((error: unknown) => {
              // Ctrl-C at the prompt: nothing was removed, and it is an interruption, not a bug.
              throw new InterruptedError('not confirmed (interrupted at the prompt); nothing was removed', [], {
                cause: error,
              });
            });
          if (answer.trim() !== env.name)
            throw new UsageError(
              `not confirmed (typed ${JSON.stringify(answer.trim())}, expected ${JSON.stringify(env.name)}); nothing was removed`,
            );
        } finally {
          prompt.close();
        }
      },
      stages: ({ args, env }, context, target) => {
        const stages = destroyStages(context, target, {
          keepImages: args.flags.has('keep-images'),
          // A preview's data is throwaway: its database goes without a final backup unless asked.
          backupDatabase: !env.preview || args.flags.has('backup'),
        });
        if (env.preview) stages.push(forgetPreviewStage(context.root, context.stateDir));
        return { stages, initial: { removed: [] } };
      },
      finish: ({ dryRun, reporter, env }, results) => {
        if (dryRun) return undefined;
        const text =
          results.removed.length === 0
            ? `nothing to remove for ${env.app}/${env.name}`
            : `removed ${results.removed.length} resource(s) of ${env.app}/${env.name}`;
        reporter.emit({ kind: 'message', level: 'info', text, details: results.removed });
        return undefined;
      },
    },
    streams,
  );
}
