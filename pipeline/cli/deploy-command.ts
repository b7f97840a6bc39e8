// The deploy command: flags → session → deploy stages → URL on stdout.

import type { RolloutStrategy } from '../context.ts';
import { deployStages, type DeployOutcome } from '../stages/deploy-stages.ts';
import { DEPLOY_SPEC } from './flags.ts';
import { processStreams, runCommand, type Streams } from './session.ts';

export function deployCommand(argv: readonly string[], streams: Streams = processStreams()): Promise<number> {
  const outcome: DeployOutcome = {};
  return runCommand(
    DEPLOY_SPEC,
    argv,
    {
      stages: ({ args, context, target }) => {
        const image = args.flags.get('image');
        return deployStages(context, target, {
          rebake: args.flags.has('rebake'),
          ...(typeof image === 'string' ? { image } : {}),
          dryRun: args.flags.has('dry-run'),
          strategy: (args.flags.get('strategy') as RolloutStrategy | undefined) ?? 'rolling',
        }, outcome);
      },
      finish: ({ args }, summary) => {
        if (outcome.image) {
          summary.image = outcome.image.id;
          summary.fingerprint = outcome.image.fingerprint;
        }
        if (outcome.url) summary.url = outcome.url;
        // stdout carries only the URL (or the JSON summary), so `url=$(./deploy.ts)` works.
        return args.flags.has('json') ? undefined : outcome.url;
      },
    },
    streams,
  );
}
