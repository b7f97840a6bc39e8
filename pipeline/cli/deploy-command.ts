// The deploy command: flags → session → deploy stages → URL on stdout.

import { dirname } from 'node:path';
import { resolveRuntimeSettings } from '../config/runtime-settings.ts';
import { stateDirOf, type Rebake, type RolloutStrategy } from '../context.ts';
import { UsageError } from '../errors.ts';
import { parseRollbackDepth } from '../operate/rollback.ts';
import { deployStages, type DeployResults } from '../stages/deploy-stages.ts';
import { addDatabaseSecret, resolveDatabaseSecret, type DatabaseSecret } from '../targets/database-url.ts';
import { markSeeded } from '../operate/previews.ts';
import type { Stage } from '../stages/run-stages.ts';
import { DEPLOY_SPEC } from './flags.ts';
import type { ParsedArgs } from './flags.ts';
import { processStreams, runCommand, type Streams } from './session.ts';

/** --rollback[=N], checked against the flags it cannot go with. */
function rollbackDepth(args: ParsedArgs): number | undefined {
  const depth = parseRollbackDepth(args.flags.get('rollback'));
  if (depth === undefined) return undefined;
  for (const other of ['image', 'rebake']) {
    if (args.flags.has(other))
      throw new UsageError(
        `--rollback cannot be combined with --${other}: it deploys an image of the history, unbaked`,
      );
  }
  return depth;
}

/** --rebake or --rebake=all; any other value is bad input. */
function rebakeOf(args: ParsedArgs): Rebake {
  const value = args.flags.get('rebake');
  if (value === undefined) return 'none';
  if (value === true) return 'app';
  if (value === 'all') return 'all';
  throw new UsageError(`--rebake=${String(value)}: not a layer to rebake; use --rebake (the app) or --rebake=all`);
}

/** Marks a preview's seed as run once the release that carried it succeeded. */
function seedRecordStage(stateDir: string): Stage<DeployResults> {
  return {
    name: 'seed-record',
    title: 'Remember the seed ran',
    run: async (results, task) => {
      if (!results.release) {
        task.skip('the release commands did not run: the seed runs with the next release');
        return;
      }
      await markSeeded(stateDir, new Date());
    },
    plan: async () => ({ text: "note in the preview's record that its seed ran (it runs once)" }),
  };
}

export function deployCommand(argv: readonly string[], streams: Streams = processStreams()): Promise<number> {
  // DATABASE_URL, resolved (and on the first deploy created) before the lock, with the other secrets.
  let database: DatabaseSecret | undefined;
  return runCommand<DeployResults>(
    DEPLOY_SPEC,
    argv,
    {
      beforeLock: async ({ args, config, env, dryRun }) => {
        rollbackDepth(args);
        rebakeOf(args);
        // Here, so that a secret that is not there stops the run before it takes the lock.
        const { secretValues } = resolveRuntimeSettings(env, config.file, streams.env);
        database = await resolveDatabaseSecret(env, stateDirOf(dirname(config.file), env.name), { create: !dryRun });
        return { redact: [...secretValues, ...(database?.secretValues ?? [])] };
      },
      stages: ({ args, config, env }, context, target) => {
        const image = args.flags.get('image');
        const rollback = rollbackDepth(args);
        const stages = deployStages(context, target, {
          settings: addDatabaseSecret(resolveRuntimeSettings(env, config.file, context.processEnv), database),
          rebake: rebakeOf(args),
          ...(typeof image === 'string' ? { image } : {}),
          ...(rollback !== undefined ? { rollback } : {}),
          strategy: (args.flags.get('strategy') as RolloutStrategy | undefined) ?? 'rolling',
        });
        if (env.preview?.seedPending) {
          // Right after the release that ran the seed, so a later failure does not run it twice.
          const after = stages.findIndex((stage) => stage.name === 'release') + 1;
          stages.splice(after, 0, seedRecordStage(context.stateDir));
        }
        return { stages, initial: {} };
      },
      historyFields: ({ args }, results) => ({
        ...(args.flags.has('rollback') ? { command: 'rollback' as const } : {}),
        ...(results?.image?.gitRevision ? { git_revision: results.image.gitRevision } : {}),
        // Recorded even when a later stage failed: the commands ran, their changes stay.
        ...(results?.release ? { release: results.release } : {}),
      }),
      finish: ({ args }, results, summary) => {
        if (results.image) {
          summary.image = results.image.id;
          summary.fingerprint = results.image.fingerprint;
        }
        if (results.baseLayer) summary.base_layer = results.baseLayer.id;
        if (results.url) summary.url = results.url;
        if (results.pruned?.length) summary.pruned = results.pruned;
        if (results.removedBuilders?.length) summary.removed_builders = results.removedBuilders;
        // stdout carries only the URL (or the JSON summary), so `url=$(./deploy.ts)` works.
        return args.flags.has('json') ? undefined : results.url;
      },
    },
    streams,
  );
}
