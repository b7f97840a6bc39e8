// The release stage as data, for the deploy pipeline (deploy-stages.ts): release-commands.ts does
// the work. Between provision and rollout: the new image exists and the network is there,
// but none of its instances serves yet.

import type { DeployOptions, RunContext } from '../context.ts';
import type { AnyTarget, ImageRef } from '../targets/target.ts';
import { releaseSkipReason, runRelease, warnIfSchemaAhead, type ReleaseRecord } from './release-commands.ts';
import type { Stage } from './run-stages.ts';

export type { ReleaseRecord };

export function releaseStage<C extends { image?: ImageRef; release?: ReleaseRecord }>(
  context: RunContext,
  target: AnyTarget,
  options: Pick<DeployOptions, 'rollback' | 'settings'>,
  image: (results: C) => ImageRef,
): Stage<C> {
  const { env } = context;
  return {
    name: 'release',
    title: 'Run the release commands',
    run: async (results, task) => {
      const current = image(results);
      if (options.rollback !== undefined) await warnIfSchemaAhead(task.io, context.history, current);
      const skip = await releaseSkipReason(task.io, target, env, current, options.settings);
      if (skip) {
        task.skip(skip);
        return {};
      }
      const release = await runRelease(task.io, target, env, current, options.settings);
      return { release } as Partial<C>;
    },
    plan: async () => {
      const count = env.service.release.length;
      if (count === 0) {
        return { text: 'nothing: no release commands configured (service.release)' };
      }
      return {
        text: `run ${count} release command(s) once on the new image with the environment's settings, unless the fleet already runs it with them (then skipped), before any of its instances serves`,
      };
    },
  };
}
