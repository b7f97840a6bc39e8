// The deploy pipeline as data: preflight → bake-base → bake → provision → rollout → verify → prune.
// Each stage returns what it produced into DeployResults; the next stage reads it there.

import type { DeployOptions, RunContext } from '../context.ts';
import { RecordStaleError, StateFileError } from '../errors.ts';
import { bakeImage, planBake, planBaseLayer, removeLeakedBuilders } from '../bake/bake.ts';
import { decideBaseLayerReuse } from '../bake/base-layer-reuse.ts';
import { shortFingerprint } from '../bake/fingerprint.ts';
import { resolveRollbackImage } from '../operate/rollback.ts';
import { writeDeploymentRecord } from '../state/record.ts';
import { describeRetention } from '../state/retention.ts';
import type { AnyTarget, ImageRef, Provisioned, ProvisionPlan, RolloutResult } from '../targets/target.ts';
import { required, type Stage, type StageTask } from './runner.ts';
import { releaseStage, type ReleaseRecord } from './release-stage.ts';
import { verifyHealthy } from './verify.ts';

export interface DeployResults {
  /** What preflight found (the VPC, the base AMI); only the target reads it. */
  facts?: unknown;
  /** The base layer the image is baked on (targets that bake in layers; not for --image or --rollback). */
  baseLayer?: ImageRef;
  /** The image to roll out: baked now, found by its fingerprint, or named by --image. */
  image?: ImageRef;
  /** True when this run baked the image. */
  baked?: boolean;
  stack?: Provisioned;
  /** --dry-run only: what provision and rollout would do. */
  plan?: ProvisionPlan;
  /** Set when the release commands (service.release) ran in this deploy. */
  release?: ReleaseRecord;
  rollout?: RolloutResult;
  url?: string;
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

export function deployStages(context: RunContext, target: AnyTarget, options: DeployOptions): Stage<DeployResults>[] {
  const { env } = context;
  const image = (results: DeployResults): ImageRef => required(results.image, 'image', 'bake');

  /** The image to deploy without baking, or the bake plan: shared by run and plan. */
  const chooseImage = async (results: DeployResults, task: StageTask) => {
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
    const bake = await planBake(context, target, task.io, results.facts, results.baseLayer);
    if (options.rebake !== 'none') return { bake };
    const found = await target.images.findByFingerprint(task.io, bake.fingerprint);
    if (found) task.skip(`image ${shortFingerprint(bake.fingerprint)} already baked (${found.name ?? found.id})`);
    return { bake, found };
  };

  /** The base layer to bake the image on: found, to bake (plan), or none needed (skipped). */
  const chooseBaseLayer = async (results: DeployResults, task: StageTask) => {
    if (options.rollback !== undefined || options.image) {
      task.skip(`no bake: deploying ${options.image ? '--image' : '--rollback'}`);
      return undefined;
    }
    if (!target.onBaseLayer) {
      task.skip(`target ${target.name} bakes the image in one layer`);
      return undefined;
    }
    const plan = await planBaseLayer(context, target, task.io, results.facts);
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
      run: async (_results, { io }) => ({ facts: await target.preflight(io, 'deploy') }),
    },
    {
      name: 'bake-base',
      title: 'Bake the base layer',
      run: async (results, task) => {
        await removeLeakedBuilders(target, task.io);
        const choice = await chooseBaseLayer(results, task);
        if (!choice) return {};
        if (choice.found) return { baseLayer: choice.found };
        return { baseLayer: await bakeImage(context, target, task.io, choice.plan) };
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
      run: async (results, { io }) => ({ stack: await target.provision(io, image(results), results.facts) }),
      plan: async (results, { io }) => {
        const plan = await target.plan(io, results.image, results.facts, options.settings);
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
        const current = image(results);
        await writeDeploymentRecord(context.stateDir, {
          env: env.name,
          target: target.name,
          image: current.id,
          fingerprint: current.fingerprint,
          url: stack.url,
          deployed_at: new Date().toISOString(),
        }).catch((error: unknown) => {
          throw recordStale(error, current, stack.url, env.name);
        });
        return { url: stack.url };
      },
      plan: async () => ({
        text: `poll ${env.service.health_path} until ${env.health.healthy_threshold} answers in a row are 200`,
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
        if (!history) return;
        const removed = await target.images.prune(io, { keep: env.image.keep, inUse: image(results), history });
        if (removed.length > 0) io.info(`removed ${removed.length} old image(s)`, removed);
      },
      plan: async () => ({ text: describeRetention(env.image.keep) }),
    },
  ];
}
