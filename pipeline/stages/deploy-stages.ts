// The deploy pipeline as data: preflight → bake → provision → rollout → verify → prune.

import type { DeployOptions, RunContext } from '../context.ts';
import { stageIO } from '../context.ts';
import { bakeImage, planBake, type BakePlan } from '../bake/bake.ts';
import { shortFingerprint } from '../bake/fingerprint.ts';
import { writeDeploymentRecord } from '../state/record.ts';
import type { Stage } from './runner.ts';
import type { DeployTarget, ImageRef } from '../targets/target.ts';

export interface DeployOutcome {
  image?: ImageRef;
  url?: string;
}

export function deployStages(context: RunContext, target: DeployTarget, options: DeployOptions, outcome: DeployOutcome): Stage[] {
  const io = (stage: string) => stageIO(context, stage);
  let plan: BakePlan | undefined;
  const image = (): ImageRef => {
    if (!outcome.image) throw new Error('no image: the bake stage did not run');
    return outcome.image;
  };

  return [
    {
      name: 'preflight',
      title: 'Preflight checks',
      readOnly: true,
      run: () => target.preflight(io('preflight'), 'deploy'),
    },
    {
      name: 'bake',
      title: 'Bake the image',
      skip: async () => {
        const stage = io('bake');
        if (options.image) {
          outcome.image = await target.images.resolve(stage, options.image);
          return `deploying --image ${outcome.image.id}`;
        }
        plan = await planBake(context, target, stage);
        if (options.rebake) return false;
        const found = await target.images.findByFingerprint(stage, plan.fingerprint);
        if (!found) return false;
        outcome.image = found;
        return `image ${shortFingerprint(plan.fingerprint)} already baked (${found.name ?? found.id})`;
      },
      plan: () => `packer build -only=${target.packerSource} (fingerprint ${plan ? shortFingerprint(plan.fingerprint) : '?'})`,
      run: async () => {
        if (!plan) throw new Error('bake plan missing');
        outcome.image = await bakeImage(context, target, io('bake'), plan);
      },
    },
    {
      name: 'provision',
      title: 'Provision',
      plan: () => target.plan(io('provision'), outcome.image),
      run: () => target.provision(io('provision'), image()),
    },
    {
      name: 'rollout',
      title: 'Roll out',
      skip: () => (outcome.image && !options.dryRun ? target.rolloutSkipReason(io('rollout'), image()) : false),
      plan: () => `replace instances (${options.strategy}) with ${outcome.image?.name ?? 'the new image'}`,
      run: () => target.rollout(io('rollout'), image(), options.strategy),
    },
    {
      name: 'verify',
      title: 'Verify health',
      plan: () => `poll ${context.env.service.health_path} until ${context.env.health.healthy_threshold} answers in a row are 200`,
      run: async () => {
        outcome.url = await target.verify(io('verify'));
        const current = image();
        await writeDeploymentRecord(context.stateDir, {
          env: context.env.name,
          target: target.name,
          image: current.id,
          fingerprint: current.fingerprint,
          url: outcome.url,
          deployed_at: new Date().toISOString(),
        });
      },
    },
    {
      name: 'prune',
      title: 'Prune old images',
      plan: () => `keep the newest ${context.env.image.keep} images`,
      run: async () => {
        const stage = io('prune');
        const removed = await target.images.prune(stage, context.env.image.keep, image());
        if (removed.length > 0) stage.info(`removed ${removed.length} old image(s)`, removed);
      },
    },
  ];
}
