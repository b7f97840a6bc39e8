// The deploy command: flags → session → deploy stages → URL on stdout.

import type { RolloutStrategy } from '../context.ts';
import { deployStages, type DeployResults } from '../stages/deploy-stages.ts';
import { DEPLOY_SPEC } from './flags.ts';
import { processStreams, runCommand, type Streams } from './session.ts';

export function deployCommand(argv: readonly string[], streams: Streams = processStreams()): Promise<number> {
  return runCommand<DeployResults>(
    DEPLOY_SPEC,
    argv,
    {
      stages: ({ args }, context, target) => {
        const image = args.flags.get('image');
        const stages = deployStages(context, target, {
          rebake: args.flags.has('rebake'),
          ...(typeof image === 'string' ? { image } : {}),
          strategy: (args.flags.get('strategy') as RolloutStrategy | undefined) ?? 'rolling',
        });
        return { stages, initial: {} };
      },
      finish: ({ args }, results, summary) => {
        if (results.image) {
          summary.image = results.image.id;
          summary.fingerprint = results.image.fingerprint;
        }
        if (results.url) summary.url = results.url;
        // stdout carries only the URL (or the JSON summary), so `url=$(./deploy.ts)` works.
        return args.flags.has('json') ? undefined : results.url;
      },
    },
    streams,
  );
}
