// The deploy pipeline as data: preflight → bake-base → bake → provision → rollout → verify
// → record → prune.
// Each stage returns what it produced into DeployResults; the next stage reads it there.

import { relative } from 'node:path';
import type { DeployOptions, RunContext } from '../context.ts';
import { RecordStaleError, StateFileError } from '../errors.ts';
import { bakeImage, planBake, planBaseLayer, removeLeakedBuilders } from '../bake/bake.ts';
import { decideBaseLayerReuse } from '../bake/base-layer-reuse.ts';
import { shortFingerprint } from '../bake/fingerprint.ts';
import { resolveRollbackImage } from '../operate/rollback.ts';
import { recordPath, writeDeploymentRecord, type DeploymentRecord } from '../state/record.ts';
import { describeRetention } from '../state/retention.ts';
import type { DeployTarget, ImageRef, Provisioned, ProvisionPlan, RolloutResult } from '../targets/target.ts';
import { required, type Stage, type StageTask } from './run-stages.ts';
import { releaseStage, type ReleaseRecord } from './release-stage.ts';
import { verifyHealthy } from './verify.ts';

/**
 * Typed by the target's own facts and stack: what its preflight and provision return is
 * what its later methods get back, without a cast.
 */
export interface DeployResults<Facts = unknown, Stack extends Provisioned = Provisioned> {
  /** What preflight found (the VPC, the base AMI); only the target reads it. */
  preflight?: { facts: Facts };
  /** Builders an earlier, killed run left behind, removed before this bake. */
  removedBuilders?: string[];
  /** The base layer the image is baked on (targets that bake in layers; not for --image or --rollback). */
  baseLayer?: ImageRef;
  /** The image to roll out: baked now, found by its fingerprint, or named by --image. */
  image?: ImageRef;
  /** True when this run baked the image. */
  baked?: boolean;
  stack?: Stack;
  /** --dry-run only: what provision and rollout would do. */
  plan?: ProvisionPlan;
  /** Set when the release commands (service.release) ran in this deploy. */
  release?: ReleaseRecord;
  rollout?: RolloutResult;
  /** The URL that answered healthy. */
  url?: string;
  /** The deployment record written once the rollout was healthy. */
  record?: DeploymentRecord;
  /** The images retention removed. */
  pruned?: string[];
}

/** The rollout succeeded, the record did not follow: say exactly that (exit 3). */
function recordStale(error: unknown, current: ImageRef, url: string, envName: string): unknown {
  if (!(error instanceof StateFileError)) return error;
  return new RecordStaleError(
    `deployed and healthy, but the deployment record is stale: ${error.message}`,
    [
      `${current.name ?? current.id} serves at ${url}; nothing needs rolling back`,
      ...error.details,
      `the record still names the previous deployment: fix the cause, then run the same ./deploy.ts ${envName} command again (the instances already run this image, so it only rewrites the record)`,
    ],
    { cause: error },
  );
}

export function deployStages<Facts, Stack extends Provisioned>(
  context: RunContext,
  target: DeployTarget<Facts, Stack>,
  options: DeployOptions,
): Stage<DeployResults<Facts, Stack>>[] {
  type Results = DeployResults<Facts, Stack>;
  const { env } = context;
  const image = (results: Results): ImageRef => required(results.image, 'image', 'bake');
  const facts = (results: Results): Facts => required(results.preflight, 'facts', 'preflight').facts;

  /** The image to deploy without baking, or the bake plan: shared by run and plan. */
  const chooseImage = async (results: Results, task: StageTask) => {
    if (options.rollback !== undefined) {
      const previous = await resolveRollbackImage(task.io, target.images, context, options.rollback, env.name);
      task.skip(
        `rolling back to ${previous.name ?? previous.id} (fingerprint ${shortFingerprint(previous.fingerprint)})`,
      );
      return { found: previous };
    }
    if (options.image) {
      const named = await target.images.resolve(task.io, options.image);
      task.skip(`deploying --image ${named.id}`);
      return { found: named };
    }
    const bake = await planBake(context, target, task.io, facts(results), results.baseLayer);
    if (options.rebake !== 'none') return { bake };
    const found = await target.images.findByFingerprint(task.io, bake.fingerprint);
    if (found) task.skip(`image ${shortFingerprint(bake.fingerprint)} already baked (${found.name ?? found.id})`);
    return { bake, found };
  };

  /** The base layer to bake the image on: found, to bake (plan), or none needed (skipped). */
  const chooseBaseLayer = async (results: Results, task: StageTask) => {
    if (options.rollback !== undefined || options.image) {
      task.skip(`no bake: deploying ${options.image ? '--image' : '--rollback'}`);
      return undefined;
    }
    if (!target.onBaseLayer) {
      task.skip(`target ${target.name} bakes the image in one layer`);
      return undefined;
    }
    const plan = await planBaseLayer(context, target, task.io, facts(results));
    const found =
      options.rebake === 'all' ? undefined : await target.images.findByFingerprint(task.io, plan.fingerprint);
    const decision = decideBaseLayerReuse(found, options.rebake, env.image.base_max_age_days);
    if (decision.reuse) {
      task.skip(decision.reason);
      return { plan, found: decision.image };
    }
    if (decision.reason) task.io.info(decision.reason);
    return { plan };
  };

  return [
    {
      name: 'preflight',
      title: 'Preflight checks',
      readOnly: true,
      run: async (_results, { io }) => ({ preflight: { facts: await target.preflight(io) } }),
    },
    {
      name: 'bake-base',
      title: 'Bake the base layer',
      run: async (results, task) => {
        const removedBuilders = await removeLeakedBuilders(target, task.io);
        const choice = await chooseBaseLayer(results, task);
        if (!choice) return { removedBuilders };
        if (choice.found) return { removedBuilders, baseLayer: choice.found };
        return { removedBuilders, baseLayer: await bakeImage(context, target, task.io, choice.plan) };
      },
      plan: async (results, task) => {
        const choice = await chooseBaseLayer(results, task);
        return {
          text: `packer build -only=${target.packerSource} base layer (fingerprint ${choice ? shortFingerprint(choice.plan.fingerprint) : '-'})`,
          ...(choice?.found ? { produced: { baseLayer: choice.found } } : {}),
        };
      },
    },
    {
      name: 'bake',
      title: 'Bake the image',
      run: async (results, task) => {
        const { bake, found } = await chooseImage(results, task);
        if (found) return { image: found, baked: false };
        const plan = required(bake, 'bake plan', 'bake');
        const baked = await bakeImage(context, target, task.io, plan);
        const gitRevision = baked.gitRevision ?? plan.variables.git_revision;
        return { image: { ...baked, ...(gitRevision ? { gitRevision } : {}) }, baked: true };
      },
      plan: async (results, task) => {
        // Before the base layer exists, the image's fingerprint (which covers it) is not known.
        if (target.onBaseLayer && !results.baseLayer && options.rollback === undefined && !options.image)
          return {
            text: `packer build -only=${target.packerSource} app layer on the new base layer (fingerprint known once that is baked)`,
          };
        const { bake, found } = await chooseImage(results, task);
        const layer = bake?.layer === 'app' ? ' app layer' : '';
        return {
          text: `packer build -only=${target.packerSource}${layer} (fingerprint ${bake ? shortFingerprint(bake.fingerprint) : '?'})`,
          ...(found ? { produced: { image: found } } : {}),
        };
      },
    },
    {
      name: 'provision',
      title: 'Provision',
      run: async (results, { io }) => ({
        stack: await target.provision(io, image(results), facts(results), options.settings),
      }),
      plan: async (results, { io }) => {
        const plan = await target.plan(io, results.image, facts(results), options.settings);
        return { text: plan.provision, produced: { plan } };
      },
    },
    // After provision (network, load balancer), before any instance of the new image serves.
    {
      name: 'database',
      title: 'Database',
      run: async (_results, task) => {
        if (!env.database || !target.ensureDatabase) {
          task.skip(env.database ? `target ${target.name} provisions its database with the stack` : 'no database');
          return;
        }
        const did = await target.ensureDatabase(task.io);
        if (did) task.io.info(did);
      },
      plan: async (_results, task) => {
        if (!env.database || !target.ensureDatabase) task.skip('no database');
        return { text: `start ${env.app}-${env.name}'s PostgreSQL and wait until it accepts connections` };
      },
    },
    releaseStage(context, target, options, image),
    {
      name: 'rollout',
      title: 'Roll out',
      run: async (results, task) => {
        const rollout = await target.rollout(
          task.io,
          required(results.stack, 'stack', 'provision'),
          image(results),
          options.strategy,
          options.settings,
        );
        if ('skipped' in rollout) task.skip(rollout.skipped);
        return { rollout };
      },
      plan: async (results) => ({
        text: `${required(results.plan, 'plan', 'provision').rollout} (${options.strategy})`,
      }),
    },
    {
      name: 'verify',
      title: 'Verify health',
      run: async (results, { io }) => {
        const stack = required(results.stack, 'stack', 'provision');
        await verifyHealthy(io, target, stack, env);
        return { url: stack.url };
      },
      plan: async () => ({
        text: `poll ${env.service.health_path} until ${env.health.healthy_threshold} answers in a row are 200`,
      }),
    },
    {
      name: 'record',
      title: 'Record the deployment',
      run: async (results) => {
        const current = image(results);
        const url = required(results.url, 'url', 'verify');
        const record: DeploymentRecord = {
          env: env.name,
          target: target.name,
          image: current.id,
          fingerprint: current.fingerprint,
          url,
          deployed_at: new Date().toISOString(),
        };
        await writeDeploymentRecord(context.stateDir, record).catch((error: unknown) => {
          throw recordStale(error, current, url, env.name);
        });
        return { record };
      },
      plan: async () => ({
        text: `write ${relative(context.root, recordPath(context.stateDir))} (image, fingerprint, URL)`,
      }),
    },
    {
      name: 'prune',
      title: 'Prune old images',
      run: async (results, { io }) => {
        // Without the history nothing says which images are the way back: keep them all.
        const history = await context.history.read().catch((error: unknown) => {
          io.warn(`kept every image: the deploy history could not be read (${String(error)})`);
          return undefined;
        });
        if (!history) return { pruned: [] };
        const pruned = await target.images.prune(io, { keep: env.image.keep, inUse: image(results), history });
        if (pruned.length > 0) io.info(`removed ${pruned.length} old image(s)`, pruned);
        return { pruned };
      },
      plan: async () => ({ text: describeRetention(env.image.keep) }),
    },
  ];
}
