// The destroy command: confirmation where the target asks for it, then destroy stages.

import { createInterface } from 'node:readline/promises';
import { InterruptedError, UsageError } from '../errors.ts';
import { destroyStages, type DestroyResults } from '../stages/destroy-stages.ts';
import { targetRules } from '../targets/kind.ts';
import { DESTROY_SPEC } from './flags.ts';
import { processStreams, runCommand, type Streams } from './session.ts';

export function destroyCommand(argv: readonly string[], streams: Streams = processStreams()): Promise<number> {
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
      stages: ({ args }, context, target) => ({
        stages: destroyStages(context, target, { keepImages: args.flags.has('keep-images') }),
        initial: { removed: [] },
      }),
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
