// The destroy pipeline: preflight → deprovision → images. Destroying nothing succeeds.

import type { DestroyOptions, RunContext } from '../context.ts';
import { stageIO } from '../context.ts';
import { removeDeploymentRecord } from '../state/record.ts';
import type { Stage } from './runner.ts';
import type { DeployTarget } from '../targets/target.ts';

export interface DestroyOutcome {
  removed: string[];
}

export function destroyStages(context: RunContext, target: DeployTarget, options: DestroyOptions, outcome: DestroyOutcome): Stage[] {
  const io = (stage: string) => stageIO(context, stage);
  return [
    {
      name: 'preflight',
      title: 'Preflight checks',
      readOnly: true,
      run: () => target.preflight(io('preflight'), 'destroy'),
    },
    {
      name: 'deprovision',
      title: 'Remove instances and load balancer',
      plan: () => `remove everything ${target.name} created for ${context.env.app}/${context.env.name}`,
      run: async () => {
        const report = await target.teardown(io('deprovision'));
        outcome.removed.push(...report.removed);
        await removeDeploymentRecord(context.stateDir);
      },
    },
    {
      name: 'images',
      title: 'Remove images',
      skip: () => (options.keepImages ? 'kept (--keep-images)' : false),
      plan: () => `remove every image baked for ${context.env.app}/${context.env.name}`,
      run: async () => {
        outcome.removed.push(...(await target.images.removeAll(io('images'))));
      },
    },
  ];
}
